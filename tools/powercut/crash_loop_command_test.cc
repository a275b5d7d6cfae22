// powercut crashloop: SIGKILL at random instants on real files, recovery, the oracle.
#include "tools/powercut/crash_loop_command.h"

#include <sstream>
#include <string>

#include "engine/posix/temp_dir_for_test.h"
#include "engine/posix/uring_reactor.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace powercut::tools {
namespace {

class CrashLoopCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!posix::UringReactor::Create().ok()) GTEST_SKIP() << "io_uring is unavailable here";
  }
  int CrashLoop(CrashLoopCommandOptions options) {
    out_.str("");
    err_.str("");
    options.dir = dir_.File("loop");
    return RunCrashLoopCommand(options, out_, err_);
  }
  posix::TempDir dir_{"crash_loop_command_test"};
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CrashLoopCommandTest, AHundredKillsOfEachEngineLeaveNothingTheOracleRejects) {
  for (const char* family : {"linear", "writecache", "writecache-pmem", "raid1"}) {
    const int code = CrashLoop({.family = family, .seed = 3, .kills = 100, .json = true});
    ASSERT_EQ(code, 0) << family << ": " << out_.str() << err_.str();
    const nlohmann::json report = nlohmann::json::parse(out_.str());
    EXPECT_EQ(report["rounds"], 101);
    EXPECT_GT(report["killed_mid_run"].get<int>(), 0) << family << ": no kill struck mid-run";
  }
}

// A loop that cannot fail proves nothing. Whether a recovery bug shows after a SIGKILL
// depends on where the real clock puts the kill (the writecache's duplicates live for
// one metadata write), so the loop's own failure path is checked with a mutant that
// is wrong whenever it writes: the first round's recovered files hold foreign data.
TEST_F(CrashLoopCommandTest, AnEngineThatMisplacesWritesFailsTheFirstRound) {
  const int code = CrashLoop(
      {.file = std::string(POWERCUT_CORPUS_DIR) + "/linear_misdirected_write.replay", .kills = 20});
  ASSERT_EQ(code, 1) << out_.str() << err_.str();
  EXPECT_NE(out_.str().find("foreign data"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("round 0"), std::string::npos) << out_.str();
}

TEST_F(CrashLoopCommandTest, BadInputIsRefused) {
  EXPECT_EQ(CrashLoop({.family = "nope", .seed = 1}), 2);
  EXPECT_EQ(CrashLoop({.file = "/nonexistent.replay"}), 2);
  EXPECT_EQ(CrashLoop({}), 2);
}

}  // namespace
}  // namespace powercut::tools
