#include "sim/world.h"

#include <string>
#include <vector>

#include "engine/runtime/sync.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::sim {
namespace {

using runtime::Microseconds;

// Several fibers sleeping random amounts and contending for a mutex: the order of
// events depends on every scheduling decision the world makes.
struct RunResult {
  uint64_t hash;
  std::string order;
};

RunResult RunContention(uint64_t seed) {
  World world(seed);
  runtime::Mutex mutex(world.scheduler(), "m");
  std::string order;
  for (int f = 0; f < 4; ++f) {
    world.scheduler().Spawn("f" + std::to_string(f), [&, f] {
      Prng prng = world.ForkPrng("f" + std::to_string(f));
      for (int i = 0; i < 5; ++i) {
        world.scheduler().SleepFor(Microseconds(static_cast<int64_t>(prng.Uniform(3))));
        runtime::MutexLock lock(mutex);
        order += static_cast<char>('a' + f);
        world.scheduler().Yield();
      }
    });
  }
  EXPECT_TRUE(world.Run().ok());
  return {world.trace().hash(), order};
}

TEST(World, SameSeedGivesABitIdenticalRun) {
  for (uint64_t seed : {1, 2, 3, 12345}) {
    RunResult a = RunContention(seed);
    RunResult b = RunContention(seed);
    EXPECT_EQ(a.hash, b.hash) << "seed " << seed;
    EXPECT_EQ(a.order, b.order) << "seed " << seed;
  }
}

TEST(World, DifferentSeedsExploreDifferentInterleavings) {
  std::vector<std::string> orders;
  for (uint64_t seed = 1; seed <= 20; ++seed) orders.push_back(RunContention(seed).order);
  std::sort(orders.begin(), orders.end());
  orders.erase(std::unique(orders.begin(), orders.end()), orders.end());
  EXPECT_GT(orders.size(), 10u);
}

TEST(World, SimultaneousEventsRunInASeededOrder) {
  auto order_for = [](uint64_t seed) {
    World world(seed);
    std::string order;
    for (char c : std::string("abcdef")) {
      world.CallAt(Microseconds(5), [&order, c] { order += c; });
    }
    world.scheduler().Spawn("waiter", [&] { world.scheduler().SleepFor(Microseconds(10)); });
    EXPECT_TRUE(world.Run().ok());
    return order;
  };
  EXPECT_EQ(order_for(1), order_for(1));
  bool differs = false;
  for (uint64_t seed = 2; seed < 10; ++seed) differs = differs || order_for(seed) != order_for(1);
  EXPECT_TRUE(differs);
}

TEST(World, TraceLinesAreCompactAndStamped) {
  World world(1);
  std::vector<std::string> lines;
  world.trace().set_observer([&](const TraceEvent& event) { lines.push_back(Trace::Format(event)); });
  world.scheduler().Spawn("client", [&] {
    world.scheduler().SleepFor(Microseconds(1500));
    world.Record("ssd0", "write", 17, 128, 8, "FUA");
  });
  ASSERT_TRUE(world.Run().ok());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "   1.500000ms ssd0         write        #17 sec 128+8 FUA");
  EXPECT_EQ(world.trace().events(), lines.size());
}

TEST(World, CrashAfterStepsStopsEveryFiberAndHaltUnwindsThem) {
  World world(5);
  int progress = 0;
  for (int f = 0; f < 3; ++f) {
    world.scheduler().Spawn("w", [&] {
      for (int i = 0; i < 100; ++i) {
        ++progress;
        world.scheduler().SleepFor(Microseconds(1));
      }
    });
  }
  world.CrashAfterSteps(50);
  EXPECT_EQ(world.Run().code(), absl::StatusCode::kCancelled);
  EXPECT_GT(progress, 0);
  EXPECT_LT(progress, 300);
  world.Halt();
  EXPECT_EQ(world.scheduler().live_fibers(), 0u);
}

}  // namespace
}  // namespace powercut::sim
