// LinearMap: its data ranges are the lower device's, inside the mapping, shifted back.
#include "engine/linear/linear_map.h"

#include <gtest/gtest.h>

#include "engine/io/io_batch.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::linear {
namespace {

using Ranges = std::vector<io::SectorRange>;

TEST(LinearMap, DataRangesAreTheLowerDevicesInsideTheMappingShiftedBack) {
  const uint64_t huge = uint64_t{1} << 40;
  sim::World world(1);
  auto ssd = *sim::SimSsd::Create(world, {.name = "ssd", .sectors = huge + 100});
  auto map = *LinearMap::Create(*ssd, 24, huge);
  const std::vector<std::byte> data(8 * io::kSectorSize, std::byte{7});
  world.scheduler().Spawn("test", [&] {
    // Before the mapping, inside it at both ends, and after it.
    for (uint64_t sector : {uint64_t{8}, uint64_t{24}, uint64_t{1000}, huge + 16, huge + 40}) {
      ASSERT_TRUE(io::WriteSync(world.scheduler(), *ssd, sector, data, io::kNoFlags).ok());
    }
    EXPECT_EQ(map->DataRanges(0, huge), (Ranges{{0, 8}, {976, 8}, {huge - 8, 8}}));
    EXPECT_EQ(map->DataRanges(4, 976), (Ranges{{4, 4}, {976, 4}}));
    EXPECT_EQ(map->DataRanges(8, 968), Ranges{});
  });
  ASSERT_TRUE(world.Run().ok());
}

}  // namespace
}  // namespace powercut::linear
