// powercut parity on real files, and the image comparison it is built on.
#include "tools/powercut/parity_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/posix/temp_dir_for_test.h"
#include "engine/posix/uring_reactor.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "scenario/replay_file.h"
#include "scenario/seeded_scenarios.h"
#include "tools/powercut/image_files.h"

namespace powercut::tools {
namespace {

// Writes `bytes` at byte `offset` of `path` (made `size` bytes long first if new).
void Put(const std::string& path, uint64_t size, uint64_t offset, const std::string& bytes) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  ASSERT_EQ(pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(bytes.size()));
  close(fd);
}

TEST(CompareImages, AHoleEqualsZeroesAndEveryOtherDifferenceIsCounted) {
  posix::TempDir dir("compare_images_test");
  const std::string a = dir.File("a.img");
  const std::string b = dir.File("b.img");
  Put(a, 1 << 20, 4096, std::string(512, '\0'));  // explicit zeroes where b has a hole
  Put(a, 1 << 20, 8192, std::string(1024, 'x'));
  Put(b, 1 << 20, 8192, std::string(512, 'x') + std::string(512, 'y'));
  Put(b, 1 << 20, 65536, std::string(512, 'z'));
  absl::StatusOr<ImageDifference> difference = CompareImages(a, b);
  ASSERT_TRUE(difference.ok()) << difference.status();
  EXPECT_EQ(difference->differing_sectors, 2u);
  EXPECT_EQ(difference->first, 17u);
  // A tolerated difference is counted apart and is not the first.
  difference = CompareImages(a, b, [](uint64_t sector, auto, auto) { return sector == 17; });
  ASSERT_TRUE(difference.ok());
  EXPECT_EQ(difference->differing_sectors, 1u);
  EXPECT_EQ(difference->tolerated_sectors, 1u);
  EXPECT_EQ(difference->first, 128u);
  // Images of two sizes are not compared.
  Put(dir.File("c.img"), 4096, 0, "c");
  EXPECT_FALSE(CompareImages(a, dir.File("c.img")).ok());
}

class ParityCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!posix::UringReactor::Create().ok()) GTEST_SKIP() << "io_uring is unavailable here";
  }
  int Parity(ParityCommandOptions options) {
    out_.str("");
    err_.str("");
    options.dir = dir_.File("run");
    return RunParityCommand(options, out_, err_);
  }
  posix::TempDir dir_{"parity_command_test"};
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ParityCommandTest, EachEngineEndsTheSameOnTheSimulatorAndOnRealFiles) {
  for (const char* family : {"linear", "writecache", "writecache-pmem", "writecache-drain", "raid1"}) {
    for (uint64_t seed : {1, 2, 3}) {
      const int code = Parity({.family = family, .seed = seed, .json = true});
      if (code == 2 && err_.str().find("cannot hold a file") != std::string::npos) continue;
      ASSERT_EQ(code, 0) << family << " seed " << seed << ": " << out_.str() << err_.str();
      const nlohmann::json report = nlohmann::json::parse(out_.str());
      EXPECT_TRUE(report["same"].get<bool>());
      EXPECT_EQ(report["logical"]["differing_sectors"], 0);
    }
  }
}

TEST_F(ParityCommandTest, RefusesWhatTimingWouldDecide) {
  // raid1-faults seed 2 has a member that vanishes after some IOs.
  EXPECT_EQ(Parity({.family = "raid1-faults", .seed = 2}), 2);
  EXPECT_NE(err_.str().find("vanish_member"), std::string::npos) << err_.str();
  EXPECT_EQ(Parity({.family = "no-such-family", .seed = 1}), 2);
  EXPECT_EQ(Parity({.file = "x.replay", .family = "linear", .seed = 1}), 2);
  EXPECT_EQ(Parity({}), 2);
}

TEST_F(ParityCommandTest, RefusesAFileWithSeveralPowerCutsButTakesAFamilySeedsFirstRun) {
  verifier::Scenario scenario = verifier::FindScenarioFamily("linear")->draw(2);
  ASSERT_FALSE(scenario.later_cuts.empty()) << "linear seed 2 draws later cuts";
  const std::string file = dir_.File("cuts.replay");
  {
    std::ofstream out(file);
    out << verifier::FormatReplay(scenario);
  }
  EXPECT_EQ(Parity({.file = file}), 2);
  EXPECT_NE(err_.str().find("the scenario has 3 power cuts; this command makes one"),
            std::string::npos)
      << err_.str();
  EXPECT_EQ(Parity({.family = "linear", .seed = 2}), 0) << err_.str();
}

}  // namespace
}  // namespace powercut::tools
