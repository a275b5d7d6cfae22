#include "engine/runtime/sync.h"

#include <string>
#include <vector>

#include "engine/runtime/manual_reactor_for_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::runtime {
namespace {

using ::testing::ElementsAre;

TEST(Mutex, ExcludesAcrossBlockingAndHandsOffInArrivalOrder) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  Mutex mutex(scheduler, "m");
  std::vector<std::string> log;
  for (std::string name : {"a", "b", "c"}) {
    scheduler.Spawn(name, [&, name] {
      MutexLock lock(mutex);
      log.push_back(name + "+");
      scheduler.SleepFor(Microseconds(1));
      log.push_back(name + "-");
    });
  }
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_THAT(log, ElementsAre("a+", "a-", "b+", "b-", "c+", "c-"));
}

TEST(Mutex, TryLockFailsWhileHeld) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  Mutex mutex(scheduler, "m");
  bool second = true;
  scheduler.Spawn("holder", [&] {
    MutexLock lock(mutex);
    scheduler.SleepFor(Microseconds(5));
  });
  scheduler.Spawn("trier", [&] { second = mutex.TryLock(); });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_FALSE(second);
}

TEST(WaitQueue, NotifyOneWakesTheOldestWaiter) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  WaitQueue queue(scheduler, "q");
  std::vector<std::string> woke;
  for (std::string name : {"first", "second"}) {
    scheduler.Spawn(name, [&, name] {
      queue.Wait();
      woke.push_back(name);
    });
  }
  scheduler.Spawn("notifier", [&] {
    scheduler.SleepFor(Microseconds(1));
    queue.NotifyOne();
    scheduler.SleepFor(Microseconds(1));
    queue.NotifyOne();
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_THAT(woke, ElementsAre("first", "second"));
}

TEST(WaitQueue, WaitUntilTimesOutAndALaterNotifyDoesNotWakeTheFiberElsewhere) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  WaitQueue timed(scheduler, "timed");
  WaitQueue other(scheduler, "other");
  bool woken = true;
  bool finished = false;
  scheduler.Spawn("waiter", [&] {
    woken = timed.WaitUntil(Milliseconds(1));
    other.WaitUntil(Milliseconds(10));
    finished = true;
  });
  scheduler.Spawn("late", [&] {
    scheduler.SleepFor(Milliseconds(2));
    timed.NotifyAll();  // the waiter already timed out of `timed`: must not wake it
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_FALSE(woken);
  EXPECT_TRUE(finished);
  EXPECT_EQ(scheduler.Now(), Milliseconds(10));
}

TEST(Event, WakesAllWaitersAndStaysSet) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  Event event(scheduler, "ready");
  int woke = 0;
  for (int i = 0; i < 3; ++i) {
    scheduler.Spawn("w", [&] {
      event.Wait();
      ++woke;
    });
  }
  scheduler.Spawn("setter", [&] { event.Set(); });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(woke, 3);
  EXPECT_TRUE(event.is_set());
}

TEST(WaitGroup, WaitReturnsWhenAllWorkIsDoneFromCallbacks) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  WaitGroup group(scheduler, "ios");
  Nanos finished{-1};
  scheduler.Spawn("submitter", [&] {
    for (int i = 1; i <= 3; ++i) {
      group.Add();
      reactor.CallAt(Microseconds(i * 10), [&] { group.Done(); });
    }
    group.Wait();
    finished = scheduler.Now();
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(finished, Microseconds(30));
}

}  // namespace
}  // namespace powercut::runtime
