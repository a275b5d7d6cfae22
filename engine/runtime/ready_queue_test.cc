#include "engine/runtime/ready_queue.h"

#include <cstdint>
#include <deque>
#include <gtest/gtest.h>
#include <vector>

namespace powercut::runtime {
namespace {

// Distinct fake fiber pointers; the queue never dereferences them.
FiberState* Fake(uintptr_t n) { return reinterpret_cast<FiberState*>(n * 8 + 8); }

TEST(ReadyQueueTest, OldestFirst) {
  ReadyQueue queue;
  EXPECT_TRUE(queue.empty());
  for (uintptr_t i = 0; i < 5; ++i) queue.Push(Fake(i));
  EXPECT_EQ(queue.size(), 5u);
  for (uintptr_t i = 0; i < 5; ++i) EXPECT_EQ(queue.Take(0), Fake(i));
  EXPECT_TRUE(queue.empty());
}

TEST(ReadyQueueTest, TakeFromTheMiddleKeepsTheOrderOfTheRest) {
  ReadyQueue queue;
  for (uintptr_t i = 0; i < 6; ++i) queue.Push(Fake(i));
  EXPECT_EQ(queue.Take(3), Fake(3));
  EXPECT_EQ(queue.Take(4), Fake(5));
  std::vector<FiberState*> rest;
  while (!queue.empty()) rest.push_back(queue.Take(0));
  EXPECT_EQ(rest, (std::vector<FiberState*>{Fake(0), Fake(1), Fake(2), Fake(4)}));
}

// RotateOldest is Push then Take(0), including on a full ring and an empty queue.
TEST(ReadyQueueTest, RotateOldestIsPushThenTakeOldest) {
  ReadyQueue queue;
  EXPECT_EQ(queue.RotateOldest(Fake(99)), Fake(99));
  EXPECT_TRUE(queue.empty());
  std::deque<FiberState*> model;
  for (uintptr_t i = 0; i < 16; ++i) {  // exactly the initial capacity: a full ring
    queue.Push(Fake(i));
    model.push_back(Fake(i));
  }
  for (uintptr_t i = 100; i < 140; ++i) {
    model.push_back(Fake(i));
    EXPECT_EQ(queue.RotateOldest(Fake(i)), model.front());
    model.pop_front();
    ASSERT_EQ(queue.size(), model.size());
  }
  while (!queue.empty()) {
    EXPECT_EQ(queue.Take(0), model.front());
    model.pop_front();
  }
}

// Against std::deque as the model, across wrap-arounds and growth: pushes, takes at
// every position, clears.
TEST(ReadyQueueTest, BehavesLikeADequeAcrossWrapAndGrowth) {
  ReadyQueue queue;
  std::deque<FiberState*> model;
  uint64_t x = 12345;
  for (uintptr_t step = 0; step < 20000; ++step) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    const uint64_t r = x >> 33;
    if (r % 97 == 0) {
      queue.Clear();
      model.clear();
    } else if (model.empty() || r % 3 != 0 || model.size() < 40 * (r % 5)) {
      queue.Push(Fake(step));
      model.push_back(Fake(step));
    } else {
      const size_t index = (r >> 8) % model.size();
      ASSERT_EQ(queue.Take(index), model[index]) << "step " << step;
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(index));
    }
    ASSERT_EQ(queue.size(), model.size());
  }
}

}  // namespace
}  // namespace powercut::runtime
