// FailureCategory: how shrink and the mutation matrix name a failure.
#include "tools/powercut/shrink.h"

#include <gtest/gtest.h>

namespace powercut::tools {
namespace {

TEST(FailureCategory, NamesTheFirstInvariantARaid1OrWritecacheCheckerReports) {
  EXPECT_EQ(FailureCategory("Recovery from crash image 0 failed: INTERNAL: raid1 assembly: I10: "
                            "the bitmap was stale (I11: not this one)"),
            "invariant I10");
  EXPECT_EQ(FailureCategory("Recovery from crash image 1 failed: INTERNAL: raid1 recovery: I8: "
                            "after recovery and resync, in-sync mirrors 0 and 1 differ"),
            "invariant I8");
  EXPECT_EQ(FailureCategory("Recovery from crash image 0 failed: writecache invariant: "
                            "E1 (committed data durable): superblock seq 4"),
            "invariant E1");
  EXPECT_EQ(FailureCategory("Rebuilding failed: E5/W2 (reuse after a durable free): block 3"),
            "invariant E5/W2");
}

TEST(FailureCategory, FallsBackToWhatTheOracleFoundWrong) {
  EXPECT_EQ(FailureCategory("After the crash, sector 8 holds zeroes; but write #3 had to survive"),
            "lost durable write");
  EXPECT_EQ(FailureCategory("Read #4 (client 0) returned data that belongs to another sector"),
            "foreign data");
  EXPECT_EQ(FailureCategory("Recovery from crash image 0 failed: INTERNAL: no member can be read"),
            "recovery failed");
  // Words that only look like names: "I/O", "IO:", "W3x (".
  EXPECT_EQ(FailureCategory("Starting the stack failed: I/O error; IO: W3x (late)"), "run failed");
}

}  // namespace
}  // namespace powercut::tools
