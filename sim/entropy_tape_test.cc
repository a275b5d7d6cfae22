#include "sim/entropy_tape.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "sim/prng.h"

namespace powercut::sim {
namespace {

TEST(EntropyTape, TakesTheFewestBytesThatHoldTheValueLittleEndian) {
  const std::vector<uint8_t> bytes = {7, 0x34, 0x12, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  EntropyTape tape(bytes);
  EXPECT_EQ(tape.Take(256), 7u);                // one byte
  EXPECT_EQ(tape.Take(0x10000), 0x1234u);       // two bytes
  EXPECT_EQ(tape.Take(0), 0x0807060504030201u);  // a whole word
  EXPECT_EQ(tape.consumed(), 11u);
  EXPECT_EQ(tape.Take(2), 9u % 2);
}

TEST(EntropyTape, ReducesModuloTheBoundAndEndsForGoodWhenTooShort) {
  const std::vector<uint8_t> bytes = {200, 1};
  EntropyTape tape(bytes);
  EXPECT_EQ(tape.Take(3), 200u % 3);
  EXPECT_EQ(tape.Take(1000), std::nullopt);  // needs two bytes, one is left
  EXPECT_EQ(tape.Take(2), std::nullopt);     // spent from then on
  EXPECT_EQ(tape.consumed(), 2u);
}

TEST(EntropyTape, GeneratorsAndTheirForksReadTheTapeThenTheirOwnSequence) {
  const std::vector<uint8_t> bytes = {5, 9};
  EntropyTape tape(bytes);
  Prng prng(42, &tape);
  Prng fork = prng.Fork("other");
  EXPECT_EQ(prng.Uniform(10), 5u);
  EXPECT_EQ(fork.Uniform(10), 9u);
  // Spent: each goes on exactly as a generator without a tape would.
  Prng plain(42);
  Prng plain_fork = plain.Fork("other");
  EXPECT_EQ(prng.Uniform(1000), plain.Uniform(1000));
  EXPECT_EQ(fork.Next(), plain_fork.Next());
}

}  // namespace
}  // namespace powercut::sim
