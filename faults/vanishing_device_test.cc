// VanishingDevice: IOs reach the device until the count runs out, then every IO fails
// without reaching it (nothing written), until it comes back; both moments are traced.
#include "faults/vanishing_device.h"

#include <string>
#include <vector>

#include "engine/io/io_batch.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/sim_ssd.h"

namespace powercut::faults {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(VanishingDeviceTest, FailsEveryIoAfterItsCountWithoutWritingUntilItComesBack) {
  sim::World world(1);
  std::vector<std::string> lines;
  world.trace().set_observer([&](const sim::TraceEvent& event) {
    std::string line = sim::Trace::Format(event);
    if (line.find(" fault.") != std::string::npos) lines.push_back(line);
  });
  std::unique_ptr<sim::SimSsd> ssd = *sim::SimSsd::Create(world, {.name = "m0", .sectors = 16});
  VanishingDevice device(world, *ssd, /*after_ios=*/2);
  const std::vector<std::byte> ones(io::kSectorSize, std::byte{1});
  std::vector<absl::Status> results;
  world.scheduler().Spawn("client", [&] {
    for (uint64_t sector = 0; sector < 4; ++sector) {
      results.push_back(io::WriteSync(world.scheduler(), device, sector, ones, io::kNoFlags));
    }
    device.ComeBack();
    results.push_back(io::WriteSync(world.scheduler(), device, 5, ones, io::kNoFlags));
  });
  ASSERT_TRUE(world.Run().ok());
  ASSERT_EQ(results.size(), 5u);
  EXPECT_TRUE(results[0].ok());
  EXPECT_TRUE(results[1].ok());
  EXPECT_TRUE(absl::IsUnavailable(results[2]));
  EXPECT_THAT(results[3].message(), HasSubstr("m0: the device has vanished"));
  EXPECT_TRUE(results[4].ok());
  EXPECT_EQ(ssd->visible().Get(2), nullptr);
  EXPECT_EQ(ssd->visible().Get(3), nullptr);
  EXPECT_NE(ssd->visible().Get(5), nullptr);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("fault.vanish"));
  EXPECT_THAT(lines[1], HasSubstr("fault.back"));
}

}  // namespace
}  // namespace powercut::faults
