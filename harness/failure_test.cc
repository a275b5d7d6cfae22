// Failure records: group names, where a failure was seen, the invariant a checker's
// explanation names, violations carried through a Start() status, and run statuses.
#include "harness/failure.h"

#include <gtest/gtest.h>

namespace powercut::props {
namespace {

TEST(InvariantNamedIn, FindsTheFirstIdACheckerNames) {
  EXPECT_EQ(InvariantNamedIn("raid1 assembly: I10: the bitmap was stale (I11: not this one)"),
            "I10");
  EXPECT_EQ(InvariantNamedIn("hot re-add: I11: member 1 needs a full recovery"), "I11");
  EXPECT_EQ(InvariantNamedIn("writecache crash image: E1 (committed data durable): seq 4"), "E1");
  EXPECT_EQ(InvariantNamedIn("E5/W2 (reuse after a durable free): block 3"), "E5/W2");
}

TEST(InvariantNamedIn, IgnoresWordsThatOnlyLookLikeIds) {
  EXPECT_EQ(InvariantNamedIn("I/O error; IO: W3x (late), I7 without a colon"), "");
  EXPECT_EQ(InvariantNamedIn(""), "");
}

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

TEST(Violation, NamesTheInvariantItsCheckerExplanationStartsWith) {
  const Violation v = Violation::Named("raid1 invariant violated before the power cut: ",
                                       "I7: chunk 3 cleared while degraded");
  EXPECT_EQ(v.invariant, "I7");
  EXPECT_EQ(v.text, "raid1 invariant violated before the power cut: I7: chunk 3 cleared while degraded");
  EXPECT_EQ(Violation::Named("writecache: ", "the engine is in its error state").invariant, "");
}

TEST(KindOfRunStatus, TellsHangsDeadlocksAndEngineErrorsApart) {
  EXPECT_EQ(KindOfRunStatus(absl::DeadlineExceededError("time limit")), FailureKind::kHang);
  EXPECT_EQ(KindOfRunStatus(absl::FailedPreconditionError("deadlock")), FailureKind::kDeadlock);
  EXPECT_EQ(KindOfRunStatus(absl::InternalError("threw")), FailureKind::kEngineError);
}

}  // namespace
}  // namespace powercut::props
