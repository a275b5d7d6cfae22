#include "sim/prng.h"

#include <vector>

#include "gtest/gtest.h"

namespace powercut::sim {
namespace {

TEST(Prng, SameSeedGivesTheSameSequence) {
  Prng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.Next(), b.Next());
}

TEST(Prng, SequenceIsPinnedAcrossMachinesAndLibraries) {
  // xoshiro256** seeded through splitmix64, checked against an independent reference
  // implementation. These values must never change, or every
  // recorded replay file would change meaning.
  Prng prng(1);
  EXPECT_EQ(prng.Next(), 0xb3f2af6d0fc710c5ull);
  EXPECT_EQ(prng.Next(), 0x853b559647364ceaull);
  Prng ranged(7);
  std::vector<uint64_t> draws;
  for (int i = 0; i < 5; ++i) draws.push_back(ranged.Uniform(10));
  EXPECT_EQ(draws, (std::vector<uint64_t>{7, 2, 8, 9, 9}));
}

TEST(Prng, UniformStaysInRangeAndCoversIt) {
  Prng prng(3);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7000; ++i) {
    uint64_t v = prng.Uniform(7);
    ASSERT_LT(v, 7u);
    ++seen[v];
  }
  for (int count : seen) EXPECT_GT(count, 800);
  for (int i = 0; i < 100; ++i) {
    uint64_t v = prng.Range(5, 9);
    ASSERT_GE(v, 5u);
    ASSERT_LE(v, 9u);
  }
}

TEST(Prng, ForkedStreamsAreIndependentOfParentDraws) {
  Prng parent(9);
  Prng before = parent.Fork("ssd");
  parent.Next();
  Prng after = parent.Fork("ssd");
  EXPECT_EQ(before.Next(), after.Next());
  EXPECT_NE(parent.Fork("ssd").Next(), parent.Fork("pmem").Next());
}

TEST(Prng, UniformOfZeroIsAnError) {
  Prng prng(1);
  EXPECT_THROW(prng.Uniform(0), std::invalid_argument);
}

}  // namespace
}  // namespace powercut::sim
