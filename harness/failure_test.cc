// Failure records: group names, where a failure was seen, violations and their context,
// and what the runtime's statuses mean.
#include "harness/failure.h"

#include <gtest/gtest.h>

namespace powercut::verifier {
namespace {

TEST(Failure, GroupsByKindAndInvariant) {
  EXPECT_EQ((Failure{.kind = FailureKind::kLostDurableWrite}).Group(), "lost durable write");
  EXPECT_EQ((Failure{.kind = FailureKind::kInvariantViolated, .invariant = "I7"}).Group(),
            "invariant violated I7");
}

TEST(Failure, SaysWhereItWasSeen) {
  EXPECT_EQ((Failure{.phase = FailurePhase::kRun}).Where(), "during the run");
  EXPECT_EQ((Failure{.phase = FailurePhase::kCrashImage, .image = 2}).Where(), "on crash image 2");
  EXPECT_EQ((Failure{.phase = FailurePhase::kRecovery, .image = 0}).Where(),
            "recovering crash image 0");
}

TEST(Violation, CarriesItsInvariantAndExplainsItUnderAContext) {
  const Violation v = InvariantViolated("I7", ": chunk ", 3, " cleared while degraded");
  EXPECT_EQ(v.invariant, "I7");
  EXPECT_EQ(v.text, "I7: chunk 3 cleared while degraded");
  const Violation in_run = v.In("raid1 invariant violated before the power cut: ");
  EXPECT_EQ(in_run.invariant, "I7");
  EXPECT_EQ(in_run.text, "raid1 invariant violated before the power cut: I7: chunk 3 cleared while degraded");
}

TEST(KindOfRunStatus, TellsHangsDeadlocksAndEngineErrorsApart) {
  EXPECT_EQ(KindOfRunStatus(absl::DeadlineExceededError("time limit")), FailureKind::kHang);
  EXPECT_EQ(KindOfRunStatus(absl::FailedPreconditionError("deadlock")), FailureKind::kDeadlock);
  EXPECT_EQ(KindOfRunStatus(absl::InternalError("threw")), FailureKind::kEngineError);
  EXPECT_EQ(KindOfRunStatus(absl::AbortedError("assertion failed")),
            FailureKind::kEngineAssertion);
}

}  // namespace
}  // namespace powercut::verifier
