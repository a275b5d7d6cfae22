#include "engine/runtime/live_fibers.h"

#include <gtest/gtest.h>
#include <memory>
#include <stdexcept>
#include <vector>

namespace powercut::runtime {
namespace {

std::shared_ptr<FiberState> Fiber(uint64_t id) {
  auto fiber = std::make_shared<FiberState>();
  fiber->id = id;
  return fiber;
}

std::vector<uint64_t> Ids(const LiveFibers& live) {
  std::vector<uint64_t> ids;
  for (const auto& fiber : live) ids.push_back(fiber->id);
  return ids;
}

TEST(LiveFibersTest, FindsAndRemovesByIdKeepingIdOrder) {
  LiveFibers live;
  EXPECT_TRUE(live.empty());
  for (uint64_t id : {2, 3, 5, 8, 13}) live.Add(Fiber(id));
  EXPECT_EQ(live.size(), 5u);
  EXPECT_EQ(live.Find(8)->id, 8u);
  EXPECT_EQ(live.Find(4), nullptr);
  EXPECT_EQ(live.Find(14), nullptr);
  live.Remove(5);
  live.Remove(4);  // not there: nothing happens
  EXPECT_EQ(Ids(live), (std::vector<uint64_t>{2, 3, 8, 13}));
  live.Remove(2);
  EXPECT_EQ(live.front()->id, 3u);
  live.Add(Fiber(21));
  EXPECT_EQ(Ids(live), (std::vector<uint64_t>{3, 8, 13, 21}));
}

TEST(LiveFibersTest, RefusesAnIdThatDoesNotGrow) {
  LiveFibers live;
  live.Add(Fiber(7));
  EXPECT_THROW(live.Add(Fiber(7)), std::logic_error);
  EXPECT_THROW(live.Add(Fiber(3)), std::logic_error);
}

}  // namespace
}  // namespace powercut::runtime
