#include "engine/posix/uring_reactor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/runtime/scheduler.h"
#include "gtest/gtest.h"

namespace powercut::posix {
namespace {

using runtime::Milliseconds;
using runtime::Nanos;

std::unique_ptr<UringReactor> MakeReactor() {
  auto reactor = UringReactor::Create();
  if (!reactor.ok()) return nullptr;
  return *std::move(reactor);
}

TEST(UringReactor, SleepsFollowTheMonotonicClockAndWakeInDeadlineOrder) {
  auto reactor = MakeReactor();
  if (reactor == nullptr) GTEST_SKIP() << "io_uring is unavailable here";
  runtime::Scheduler scheduler(*reactor);
  std::vector<std::string> woke;
  scheduler.Spawn("late", [&] {
    scheduler.SleepFor(Milliseconds(20));
    woke.push_back("late");
  });
  scheduler.Spawn("early", [&] {
    scheduler.SleepFor(Milliseconds(5));
    woke.push_back("early");
  });
  const Nanos start = reactor->Now();
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_GE(reactor->Now() - start, Milliseconds(20));
  EXPECT_EQ(woke, (std::vector<std::string>{"early", "late"}));
}

TEST(UringReactor, ACompletionWakesTheFiberThatWaits) {
  auto reactor = MakeReactor();
  if (reactor == nullptr) GTEST_SKIP() << "io_uring is unavailable here";
  runtime::Scheduler scheduler(*reactor);
  int pipe_ends[2];
  ASSERT_EQ(pipe(pipe_ends), 0);
  char byte = 0;
  int32_t got = -1;
  scheduler.Spawn("reader", [&] {
    runtime::WakeToken token = scheduler.PrepareBlock();
    reactor->Submit([&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, pipe_ends[0], &byte, 1, 0); },
                    [&, token](int32_t result) {
                      got = result;
                      scheduler.Wake(token);
                    });
    scheduler.Block(token, "pipe read");
  });
  scheduler.Spawn("writer", [&] {
    scheduler.SleepFor(Milliseconds(2));
    ASSERT_EQ(write(pipe_ends[1], "x", 1), 1);
  });
  ASSERT_TRUE(scheduler.Run().ok());
  EXPECT_EQ(got, 1);
  EXPECT_EQ(byte, 'x');
  close(pipe_ends[0]);
  close(pipe_ends[1]);
}

TEST(UringReactor, MoreRequestsThanTheRingHoldsWaitInTheBacklog) {
  auto reactor = UringReactor::Create(4);
  if (!reactor.ok()) GTEST_SKIP() << reactor.status();
  runtime::Scheduler scheduler(**reactor);
  int completed = 0;
  scheduler.Spawn("many", [&] {
    for (int i = 0; i < 100; ++i) {
      (*reactor)->Submit([](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); },
                         [&](int32_t result) { completed += result == 0; });
    }
  });
  ASSERT_TRUE(scheduler.Run().ok());
  while ((*reactor)->in_flight() > 0) (*reactor)->RunNext();
  EXPECT_EQ(completed, 100);
}

TEST(UringReactor, NothingPendingMeansRunNextReturnsFalse) {
  auto reactor = MakeReactor();
  if (reactor == nullptr) GTEST_SKIP() << "io_uring is unavailable here";
  EXPECT_FALSE(reactor->RunNext());
  bool ran = false;
  reactor->CallAt(reactor->Now(), [&] { ran = true; });
  EXPECT_TRUE(reactor->RunNext());
  EXPECT_TRUE(ran);
  EXPECT_FALSE(reactor->RunNext());
}

}  // namespace
}  // namespace powercut::posix
