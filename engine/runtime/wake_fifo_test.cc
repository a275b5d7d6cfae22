#include "engine/runtime/wake_fifo.h"

#include <cstdint>
#include <deque>
#include <gtest/gtest.h>
#include <vector>

namespace powercut::runtime {
namespace {

std::vector<uint64_t> Ids(const WakeFifo& fifo) {
  std::vector<uint64_t> ids;
  fifo.ForEach([&](const WakeToken& t) { ids.push_back(t.fiber_id); });
  return ids;
}

TEST(WakeFifoTest, FirstInFirstOut) {
  WakeFifo fifo;
  EXPECT_TRUE(fifo.empty());
  for (uint64_t i = 1; i <= 5; ++i) fifo.push_back({i, i + 10});
  EXPECT_EQ(fifo.size(), 5u);
  for (uint64_t i = 1; i <= 5; ++i) EXPECT_EQ(fifo.pop_front(), (WakeToken{i, i + 10}));
  EXPECT_TRUE(fifo.empty());
}

TEST(WakeFifoTest, RemoveTakesOnlyTheMatchingEpisode) {
  WakeFifo fifo;
  fifo.push_back({1, 1});
  fifo.push_back({2, 2});
  fifo.push_back({3, 3});
  fifo.Remove({2, 9});  // another episode of fiber 2: stays
  EXPECT_EQ(Ids(fifo), (std::vector<uint64_t>{1, 2, 3}));
  fifo.Remove({2, 2});
  EXPECT_EQ(Ids(fifo), (std::vector<uint64_t>{1, 3}));
  fifo.pop_front();
  fifo.Remove({3, 3});
  EXPECT_TRUE(fifo.empty());
  fifo.push_back({4, 4});
  EXPECT_EQ(fifo.pop_front(), (WakeToken{4, 4}));
}

TEST(WakeFifoTest, SwapTakesEveryWaiter) {
  WakeFifo fifo;
  for (uint64_t i = 1; i <= 3; ++i) fifo.push_back({i, i});
  fifo.pop_front();
  WakeFifo taken;
  taken.swap(fifo);
  EXPECT_TRUE(fifo.empty());
  EXPECT_EQ(Ids(taken), (std::vector<uint64_t>{2, 3}));
}

// Against std::deque, with long runs that never empty (compaction) and removals.
TEST(WakeFifoTest, BehavesLikeADeque) {
  WakeFifo fifo;
  std::deque<WakeToken> model;
  uint64_t x = 777;
  uint64_t next = 1;
  for (int step = 0; step < 20000; ++step) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t r = (x >> 33) % 10;
    if (r < 5 || model.empty()) {
      fifo.push_back({next, next * 3});
      model.push_back({next, next * 3});
      ++next;
    } else if (r < 9) {
      ASSERT_EQ(fifo.pop_front(), model.front());
      model.pop_front();
    } else {
      const size_t victim = (x >> 13) % model.size();
      fifo.Remove(model[victim]);
      model.erase(model.begin() + static_cast<ptrdiff_t>(victim));
    }
    ASSERT_EQ(fifo.size(), model.size());
  }
  std::vector<uint64_t> expected;
  for (const WakeToken& t : model) expected.push_back(t.fiber_id);
  EXPECT_EQ(Ids(fifo), expected);
}

}  // namespace
}  // namespace powercut::runtime
