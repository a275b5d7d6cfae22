// Always-on assertions: a failed one names its place and reason, is not swallowed by
// code that catches std::exception, and ends a run as Aborted with the failure kept,
// whether it fails in a fiber or in an event callback.
#include "engine/runtime/assertion.h"

#include <stdexcept>
#include <string>

#include "engine/runtime/manual_reactor_for_test.h"
#include "engine/runtime/scheduler.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

void CheckPositive(int value) { POWERCUT_ASSERT(value > 0, "value ", value, " is not positive"); }

TEST(Assertion, AFailedOneNamesItsLocationConditionAndMessage) {
  CheckPositive(1);
  try {
    CheckPositive(-3);
    FAIL() << "no assertion failed";
  } catch (const AssertionFailure& failure) {
    EXPECT_THAT(failure.location, MatchesRegex("engine/runtime/assertion_test\\.cc:[0-9]+"));
    EXPECT_EQ(failure.condition, "value > 0");
    EXPECT_EQ(failure.message, "value -3 is not positive");
    EXPECT_THAT(failure.Describe(), HasSubstr("assertion failed at engine/runtime/"));
  }
}

TEST(Assertion, CodeCatchingStdExceptionCannotSwallowIt) {
  bool swallowed = false;
  EXPECT_THROW(
      {
        try {
          CheckPositive(0);
        } catch (const std::exception&) {
          swallowed = true;
        }
      },
      AssertionFailure);
  EXPECT_FALSE(swallowed);
}

TEST(Assertion, AFailureInAFiberEndsTheRunAsAborted) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  scheduler.Spawn("engine", [] { CheckPositive(0); });
  const absl::Status status = scheduler.Run();
  EXPECT_TRUE(absl::IsAborted(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("fiber #1 'engine': assertion failed"));
  ASSERT_TRUE(scheduler.failed_assertion().has_value());
  EXPECT_EQ(scheduler.failed_assertion()->message, "value 0 is not positive");
}

TEST(Assertion, AFailureInAnEventCallbackEndsTheRunAsAborted) {
  ManualReactor reactor;
  Scheduler scheduler(reactor);
  scheduler.Spawn("waiter", [&] { scheduler.SleepFor(Nanos(10)); });
  reactor.CallAt(Nanos(5), [] { CheckPositive(-1); });
  const absl::Status status = scheduler.Run();
  EXPECT_TRUE(absl::IsAborted(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("an event callback: assertion failed"));
  ASSERT_TRUE(scheduler.failed_assertion().has_value());
}

}  // namespace
}  // namespace powercut::runtime
