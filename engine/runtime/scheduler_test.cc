#include "engine/runtime/scheduler.h"

#include <cstdint>
#include <set>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/runtime/manual_reactor_for_test.h"
#include "engine/runtime/sync.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::runtime {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Scheduler, RunsEveryWorkerToCompletion) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  std::vector<int> order;
  scheduler.Spawn("a", [&] { order.push_back(1); });
  scheduler.Spawn("b", [&] { order.push_back(2); });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_THAT(order, ElementsAre(1, 2));
  EXPECT_EQ(scheduler.live_fibers(), 0u);
}

TEST(Scheduler, YieldInterleavesFibers) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  std::string trace;
  for (char c : {'a', 'b'}) {
    scheduler.Spawn(std::string(1, c), [&, c] {
      for (int i = 0; i < 3; ++i) {
        trace += c;
        scheduler.Yield();
      }
    });
  }
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(trace, "ababab");
}

TEST(Scheduler, ReactorChoosesAmongReadyFibers) {
  ManualReactor reactor;
  reactor.set_newest_first(true);
  Scheduler scheduler(reactor);
  std::string trace;
  for (char c : {'a', 'b', 'c'}) {
    scheduler.Spawn(std::string(1, c), [&, c] { trace += c; });
  }
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(trace, "cba");
}

TEST(Scheduler, SleepAdvancesVirtualTimeInDeadlineOrder) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  std::vector<std::pair<std::string, int64_t>> woke;
  scheduler.Spawn("slow", [&] {
    scheduler.SleepFor(Milliseconds(5));
    woke.emplace_back("slow", scheduler.Now().count());
  });
  scheduler.Spawn("fast", [&] {
    scheduler.SleepFor(Milliseconds(2));
    woke.emplace_back("fast", scheduler.Now().count());
  });
  ASSERT_TRUE(scheduler.Run().ok());
  ASSERT_EQ(woke.size(), 2u);
  EXPECT_EQ(woke[0], std::make_pair(std::string("fast"), int64_t{2'000'000}));
  EXPECT_EQ(woke[1], std::make_pair(std::string("slow"), int64_t{5'000'000}));
}

TEST(Scheduler, JoinWaitsForTheOtherFiber) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  std::vector<std::string> events;
  Fiber child = scheduler.Spawn("child", [&] {
    scheduler.SleepFor(Microseconds(10));
    events.push_back("child done");
  });
  scheduler.Spawn("parent", [&] {
    scheduler.Join(child);
    events.push_back("parent joined");
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_THAT(events, ElementsAre("child done", "parent joined"));
  EXPECT_TRUE(child.done());
}

TEST(Scheduler, ExceptionInAFiberIsReportedWithItsName) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  scheduler.Spawn("writeback", [] { throw std::runtime_error("copy failed"); });
  absl::Status status = scheduler.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("'writeback' threw: copy failed"));
}

TEST(Scheduler, AFiberOutOfMemoryIsResourceExhaustedNotAnEngineError) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  scheduler.Spawn("client-0", [] { throw std::bad_alloc(); });
  absl::Status status = scheduler.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("'client-0' ran out of memory"));
}

TEST(Scheduler, AFiberThatNeverBlocksSpendsTheStepBudgetAndIsReportedNotHung) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  bool stop = false;
  scheduler.Spawn("spinner", [&] {
    while (!stop) scheduler.Yield();  // virtual time never moves: no time limit helps
  });
  scheduler.Spawn("client-0", [&] { scheduler.Yield(); });
  absl::Status status = scheduler.Run(Nanos(1000), 10000);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("step budget of 10000 scheduling steps spent"));
  EXPECT_THAT(status.message(), HasSubstr("spinner"));
  EXPECT_LE(scheduler.steps(), 10000u);
  stop = true;
}

TEST(Scheduler, DeadlockNamesEveryBlockedFiberAndWhatItWaitsFor) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  WaitQueue never(scheduler, "freelist");
  scheduler.Spawn("client-0", [&] { never.Wait(); });
  scheduler.Spawn("client-1", [&] { never.Wait(); });
  absl::Status status = scheduler.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("deadlock"));
  EXPECT_THAT(status.message(), HasSubstr("'client-0' blocked on freelist"));
  EXPECT_THAT(status.message(), HasSubstr("'client-1' blocked on freelist"));
}

TEST(Scheduler, DaemonsDoNotKeepRunGoing) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  int ticks = 0;
  scheduler.Spawn(
      "daemon",
      [&] {
        while (true) {
          scheduler.SleepFor(Seconds(1));
          ++ticks;
        }
      },
      FiberKind::kDaemon);
  scheduler.Spawn("worker", [&] { scheduler.SleepFor(Milliseconds(3500)); });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(ticks, 3);
}

TEST(Scheduler, TimeLimitStopsALivelockWithADiagnostic) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  scheduler.Spawn("spinner", [&] {
    while (true) scheduler.SleepFor(Milliseconds(1));
  });
  absl::Status status = scheduler.Run(Seconds(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("'spinner'"));
}

TEST(Scheduler, StopHaltsEveryFiberAtOnce) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  int after_stop = 0;
  scheduler.Spawn("crasher", [&] {
    scheduler.SleepFor(Microseconds(5));
    scheduler.Stop("power cut");
    ++after_stop;
  });
  scheduler.Spawn("other", [&] {
    scheduler.SleepFor(Microseconds(10));
    ++after_stop;
  });
  absl::Status status = scheduler.Run();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(status.message(), "power cut");
  EXPECT_EQ(after_stop, 0);
}

TEST(Scheduler, StopAfterStepsIsExactAndRepeatable) {
  auto run = [](uint64_t steps) {
    ManualReactor reactor;
    Scheduler scheduler(reactor);
    int progress = 0;
    for (int f = 0; f < 3; ++f) {
      scheduler.Spawn("f", [&] {
        for (int i = 0; i < 10; ++i) {
          ++progress;
          scheduler.Yield();
        }
      });
    }
    scheduler.StopAfterSteps(steps);
    EXPECT_EQ(scheduler.Run().code(), absl::StatusCode::kCancelled);
    return progress;
  };
  EXPECT_EQ(run(0), 0);
  EXPECT_EQ(run(7), 7);
  EXPECT_EQ(run(7), run(7));
}

TEST(Scheduler, AbandonUnwindsStacksOfUnfinishedFibers) {
  ManualReactor reactor;
  int destroyed = 0;
  struct Guard {
    int* counter;
    ~Guard() { ++*counter; }
  };
  {
    Scheduler scheduler(reactor);
    WaitQueue never(scheduler, "never");
    scheduler.Spawn("stuck", [&] {
      Guard guard{&destroyed};
      never.Wait();
    });
    scheduler.StopAfterSteps(1);
    EXPECT_EQ(scheduler.Run().code(), absl::StatusCode::kCancelled);
    EXPECT_EQ(destroyed, 0);
    scheduler.AbandonAll();
    EXPECT_EQ(destroyed, 1);
  }
}

TEST(Scheduler, ManyFibersReuseThePooledStacks) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  int finished = 0;
  scheduler.Spawn("spawner", [&] {
    for (int i = 0; i < 10'000; ++i) {
      Fiber f = scheduler.Spawn("io", [&] { ++finished; });
      scheduler.Join(f);
    }
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(finished, 10'000);
}

// Under AddressSanitizer a fiber's scoped locals are poisoned when their scope ends,
// and a stack switch ASan is not told about leaves that poison on the stack. A stack
// reused from the pool must come clean to the next fiber, whose frames (and Boost's
// fiber record) lie where the last one's scoped locals were. The annotations that make
// this so were compiled out under clang, which does not define __SANITIZE_ADDRESS__:
// replay_run_fuzzer's first RAID1 scenario stopped on a stack-use-after-scope.
TEST(Scheduler, ReusedStacksCarryNoPoisonFromEarlierFibers) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  std::vector<const char*> seen;
  auto scoped = [&] {
    {
      char small[64] = {};
      seen.push_back(small);
      scheduler.Yield();
    }
    {
      char large[1024] = {};
      seen.push_back(large);
      scheduler.Yield();
    }
  };
  scheduler.Spawn("spawner", [&] {
    for (int i = 0; i < 64; ++i) {
      Fiber first = scheduler.Spawn("scoped", scoped);
      Fiber second = scheduler.Spawn("scoped", scoped);
      scheduler.Join(first);
      scheduler.Join(second);
    }
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(seen.size(), 64u * 4);
}

// Fibers running the same code keep their frames at different offsets within a 4 KiB
// page (stack colouring), also once their stacks are reused from the pool.
TEST(Scheduler, StacksOfFibersRunningTheSameCodeDoNotAlias) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  std::set<uintptr_t> offsets;
  auto record = [&] {
    int local = 0;
    offsets.insert(reinterpret_cast<uintptr_t>(&local) % 4096);
    scheduler.Yield();
  };
  for (int round = 0; round < 3; ++round) {
    offsets.clear();
    for (int i = 0; i < 4; ++i) scheduler.Spawn("same code", record);
    ASSERT_TRUE(scheduler.Run().ok());
    EXPECT_EQ(offsets.size(), 4u) << "round " << round;
  }
}

}  // namespace
}  // namespace powercut::runtime
