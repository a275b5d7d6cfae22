// powercut realcrash: runs on real files whose crash images are judged on the simulator.
#include "tools/powercut/real_crash_command.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/posix/temp_dir_for_test.h"
#include "engine/posix/uring_reactor.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "scenario/replay_file.h"
#include "scenario/seeded_scenarios.h"

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
  for (const char* family : {"linear", "writecache", "writecache-pmem", "raid1"}) {
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

// Persistent memory on a real mapping: its crash images come from the recorded stores,
// flushes and fences, so data copied with plain stores (never flushed) is caught as on
// the simulator.
TEST_F(RealCrashCommandTest, APmemMutantIsCaughtOnARealMappingAndItsImagesAreKept) {
  uint64_t failing = 0;
  for (uint64_t seed = 1; seed <= 40 && failing == 0; ++seed) {
    verifier::Scenario scenario = verifier::FindScenarioFamily("writecache-pmem")->draw(seed);
    scenario.later_cuts.clear();
    scenario.mutant = "wc_pmem_data_not_flushed";
    const std::string file = dir_.File("pmem.replay");
    std::ofstream(file) << verifier::FormatReplay(scenario);
    const int code = RealCrash({.file = file, .runs = 2});
    if (code == 2 && err_.str().find("cannot hold a file") != std::string::npos) continue;
    ASSERT_NE(code, 2) << err_.str();
    if (code == 1) failing = seed;
  }
  ASSERT_NE(failing, 0u) << "wc_pmem_data_not_flushed survived 40 seeds on real files";
  bool pmem_image = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.File("runs"))) {
    pmem_image |= entry.path().extension() == ".pmem" &&
                  entry.path().parent_path().filename() == "failure";
  }
  EXPECT_TRUE(pmem_image) << "no crash image of the persistent memory kept";
}

TEST_F(RealCrashCommandTest, BadInputIsRefused) {
  EXPECT_EQ(RealCrash({.family = "nope", .seed = 1}), 2);
  EXPECT_EQ(RealCrash({}), 2);
}

}  // namespace
}  // namespace powercut::tools
