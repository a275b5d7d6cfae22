// powercut realcrash: runs on real files whose crash images are judged on the simulator.
#include "tools/powercut/real_crash_command.h"

#include <sstream>
#include <string>

#include "engine/posix/temp_dir_for_test.h"
#include "engine/posix/uring_reactor.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace powercut::tools {
namespace {

class RealCrashCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!posix::UringReactor::Create().ok()) GTEST_SKIP() << "io_uring is unavailable here";
  }
  int RealCrash(RealCrashCommandOptions options) {
    out_.str("");
    err_.str("");
    options.dir = dir_.File("runs");
    return RunRealCrashCommand(options, out_, err_);
  }
  posix::TempDir dir_{"real_crash_command_test"};
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(RealCrashCommandTest, TheEnginesAsShippedPassOnRealFiles) {
  for (const char* family : {"linear", "writecache", "raid1"}) {
    const int code = RealCrash({.family = family, .seed = 11, .runs = 3, .json = true});
    if (code == 2 && err_.str().find("cannot hold a file") != std::string::npos) continue;
    ASSERT_EQ(code, 0) << family << ": " << out_.str() << err_.str();
    EXPECT_EQ(nlohmann::json::parse(out_.str())["runs"].size(), 3u);
  }
}

TEST_F(RealCrashCommandTest, AMutantThatDropsFlushesLosesDurableWritesOnRealFilesToo) {
  const int code = RealCrash(
      {.file = std::string(POWERCUT_CORPUS_DIR) + "/linear_flush_dropped.replay", .runs = 5});
  ASSERT_EQ(code, 1) << out_.str() << err_.str();
  EXPECT_NE(out_.str().find("lost durable write"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("crash images and IO logs kept"), std::string::npos);
}

TEST_F(RealCrashCommandTest, PersistentMemoryAndBadInputAreRefused) {
  EXPECT_EQ(RealCrash({.family = "writecache-pmem", .seed = 1}), 2);
  EXPECT_NE(err_.str().find("block devices only"), std::string::npos) << err_.str();
  EXPECT_EQ(RealCrash({.family = "nope", .seed = 1}), 2);
  EXPECT_EQ(RealCrash({}), 2);
}

}  // namespace
}  // namespace powercut::tools
