#include "harness/recorded_device.h"

#include <vector>

#include "engine/io/io_batch.h"
#include "gtest/gtest.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::verifier {
namespace {

// The recorder's model, fed by a device that never loses anything (a SimSsd without a
// volatile cache, standing for a real file): only what the block-layer contract
// promises may be durable in its crash state.
TEST(RecordedDevice, OnlyFlushedAndFuaWritesAreDurableInItsCrashState) {
  sim::World world(1);
  auto ssd = sim::SimSsd::Create(world, {.name = "file", .sectors = 64, .volatile_cache = false});
  ASSERT_TRUE(ssd.ok());
  RecordedDevice recorded(**ssd, sim::DiskImage(64));
  std::vector<std::byte> a(512, std::byte{'a'});
  std::vector<std::byte> b(512, std::byte{'b'});
  std::vector<std::byte> c(512, std::byte{'c'});
  std::optional<sim::SsdCrashState> before_flush;
  world.scheduler().Spawn("writer", [&] {
    ASSERT_TRUE(io::WriteSync(world.scheduler(), recorded, 0, a, io::kNoFlags).ok());
    ASSERT_TRUE(io::WriteSync(world.scheduler(), recorded, 1, b, io::kFua).ok());
    before_flush = recorded.CrashState();
    ASSERT_TRUE(io::FlushSync(world.scheduler(), recorded).ok());
    ASSERT_TRUE(io::WriteSync(world.scheduler(), recorded, 2, c, io::kNoFlags).ok());
  });
  ASSERT_TRUE(world.Run().ok());
  std::vector<std::byte> sector(512);
  // Before the flush: sector 0 pending, sector 1 (FUA) durable.
  ASSERT_TRUE(before_flush.has_value());
  before_flush->durable().Read(0, sector);
  EXPECT_EQ(sector[0], std::byte{0});
  before_flush->durable().Read(1, sector);
  EXPECT_EQ(sector[0], std::byte{'b'});
  EXPECT_EQ(before_flush->pending().size(), 1u);
  // After it: sectors 0 and 1 durable, the last write pending.
  const sim::SsdCrashState after = recorded.CrashState();
  after.durable().Read(0, sector);
  EXPECT_EQ(sector[0], std::byte{'a'});
  ASSERT_EQ(after.pending().size(), 1u);
  EXPECT_EQ(after.pending()[0].sector, 2u);
  EXPECT_NE(recorded.LogText().find("write 1 0+1\nwrite.done 1 0+1\nwrite 2 1+1 FUA"),
            std::string::npos)
      << recorded.LogText();
}

}  // namespace
}  // namespace powercut::verifier
