// SimulatedDevices: fresh devices start blank or with the contents asked for; after a
// power cut the k-th device of each kind starts from the k-th crash image unless its
// spec says otherwise; crash images come back in the order the devices were made.
#include "harness/devices.h"

#include <vector>

#include "engine/io/io_batch.h"
#include "gtest/gtest.h"

namespace powercut::verifier {
namespace {

std::vector<std::byte> Sector(uint8_t value) {
  return std::vector<std::byte>(io::kSectorSize, std::byte{value});
}

uint8_t FirstByte(const sim::DiskImage& image, uint64_t sector) {
  const sim::SectorBytes* bytes = image.Get(sector);
  return bytes == nullptr ? 0 : static_cast<uint8_t>((*bytes)[0]);
}

TEST(SimulatedDevices, ComeBackFromTheirCrashImagesInTheOrderMadeUnlessGivenContents) {
  CrashImages crash;
  {
    sim::World world(1);
    SimulatedDevices devices(world, nullptr);
    EXPECT_FALSE(devices.recovering());
    sim::DiskImage initial(8);
    initial.Put(0, sim::SplitIntoSectors(Sector(7))[0]);
    Disk a = *devices.AddDisk({.name = "a", .sectors = 8, .contents = initial});
    Pmem p = *devices.AddPmem({.name = "p", .bytes = 4096});
    Disk b = *devices.AddDisk({.name = "b", .sectors = 16});
    ASSERT_NE(a.simulated, nullptr);
    ASSERT_NE(p.simulated, nullptr);
    EXPECT_EQ(FirstByte(a.simulated->durable(), 0), 7);
    world.scheduler().Spawn("writer", [&] {
      ASSERT_TRUE(io::WriteSync(world.scheduler(), *b.device, 3, Sector(9), io::kFua).ok());
    });
    ASSERT_TRUE(world.Run().ok());
    sim::Prng prng(1);
    crash = devices.SampleCrash(prng);
  }
  ASSERT_EQ(crash.disks.size(), 2u);
  ASSERT_EQ(crash.pmems.size(), 1u);
  EXPECT_EQ(crash.disks[0].sector_count(), 8u);
  EXPECT_EQ(FirstByte(crash.disks[1], 3), 9);  // FUA: in every crash image

  sim::World world(2);
  SimulatedDevices devices(world, &crash);
  EXPECT_TRUE(devices.recovering());
  Disk a = *devices.AddDisk({.name = "a", .sectors = 8, .contents = sim::DiskImage(8)});
  Disk b = *devices.AddDisk({.name = "b", .sectors = 16});
  EXPECT_EQ(FirstByte(a.simulated->durable(), 0), 0);  // put back as given
  EXPECT_EQ(FirstByte(b.simulated->durable(), 3), 9);  // from its crash image
  EXPECT_FALSE(devices.AddDisk({.name = "c", .sectors = 8}).ok());  // the crash left two
}

}  // namespace
}  // namespace powercut::verifier
