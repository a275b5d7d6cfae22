#include "sim/sim_ssd.h"

#include <vector>

#include "engine/io/io_batch.h"
#include "gtest/gtest.h"

namespace powercut::sim {
namespace {

using io::kFua;
using io::kNoFlags;
using io::kPreflush;

std::vector<std::byte> Filled(size_t sectors, uint8_t value) {
  return std::vector<std::byte>(sectors * io::kSectorSize, std::byte{value});
}

uint8_t FirstByte(const DiskImage& image, uint64_t sector) {
  const SectorBytes* bytes = image.Get(sector);
  return bytes == nullptr ? 0 : static_cast<uint8_t>((*bytes)[0]);
}

struct Fixture {
  explicit Fixture(uint64_t seed = 1, bool volatile_cache = true) : world(seed) {
    SimSsdOptions options;
    options.name = "ssd0";
    options.sectors = 64;
    options.volatile_cache = volatile_cache;
    ssd = *SimSsd::Create(world, options);
  }
  runtime::Scheduler& sched() { return world.scheduler(); }
  World world;
  std::unique_ptr<SimSsd> ssd;
};

TEST(SimSsd, CompletedWriteIsVisibleButNotDurableUntilFlushed) {
  Fixture f;
  auto data = Filled(2, 0xaa);
  f.sched().Spawn("client", [&] {
    ASSERT_TRUE(io::WriteSync(f.sched(), *f.ssd, 4, data, kNoFlags).ok());
    std::vector<std::byte> back(2 * io::kSectorSize);
    ASSERT_TRUE(io::ReadSync(f.sched(), *f.ssd, 4, back).ok());
    EXPECT_EQ(back, data);
    EXPECT_EQ(FirstByte(f.ssd->durable(), 4), 0);
    EXPECT_EQ(f.ssd->unflushed_writes(), 1u);
    ASSERT_TRUE(io::FlushSync(f.sched(), *f.ssd).ok());
    EXPECT_EQ(FirstByte(f.ssd->durable(), 4), 0xaa);
    EXPECT_EQ(FirstByte(f.ssd->durable(), 5), 0xaa);
  });
  ASSERT_TRUE(f.world.Run().ok());
}

TEST(SimSsd, FuaWriteIsDurableOnCompletion) {
  Fixture f;
  f.sched().Spawn("client", [&] {
    ASSERT_TRUE(io::WriteSync(f.sched(), *f.ssd, 9, Filled(1, 3), kFua).ok());
    EXPECT_EQ(FirstByte(f.ssd->durable(), 9), 3);
  });
  ASSERT_TRUE(f.world.Run().ok());
}

TEST(SimSsd, WithoutAVolatileCacheEveryCompletedWriteIsDurable) {
  Fixture f(1, /*volatile_cache=*/false);
  f.sched().Spawn("client", [&] {
    ASSERT_TRUE(io::WriteSync(f.sched(), *f.ssd, 9, Filled(1, 3), kNoFlags).ok());
    EXPECT_EQ(FirstByte(f.ssd->durable(), 9), 3);
  });
  ASSERT_TRUE(f.world.Run().ok());
}

TEST(SimSsd, FlushCoversOnlyWritesCompletedBeforeItWasSubmitted) {
  // A write still in flight when the flush is submitted is not covered by it.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Fixture f(seed);
    auto early = Filled(1, 1);
    auto racing = Filled(1, 2);
    f.sched().Spawn("client", [&] {
      ASSERT_TRUE(io::WriteSync(f.sched(), *f.ssd, 0, early, kNoFlags).ok());
      io::IoBatch batch(f.sched(), "race");
      batch.Write(*f.ssd, 1, racing, kNoFlags);
      batch.Flush(*f.ssd);
      ASSERT_TRUE(batch.Wait().ok());
      EXPECT_EQ(FirstByte(f.ssd->durable(), 0), 1);
      EXPECT_EQ(FirstByte(f.ssd->durable(), 1), 0) << "seed " << seed;
      EXPECT_EQ(FirstByte(f.ssd->visible(), 1), 2);
    });
    ASSERT_TRUE(f.world.Run().ok());
  }
}

TEST(SimSsd, PreflushMakesEarlierWritesDurableBeforeTheWrite) {
  Fixture f;
  f.sched().Spawn("client", [&] {
    ASSERT_TRUE(io::WriteSync(f.sched(), *f.ssd, 0, Filled(1, 1), kNoFlags).ok());
    ASSERT_TRUE(io::WriteSync(f.sched(), *f.ssd, 1, Filled(1, 2), kPreflush | kFua).ok());
    EXPECT_EQ(FirstByte(f.ssd->durable(), 0), 1);
    EXPECT_EQ(FirstByte(f.ssd->durable(), 1), 2);
  });
  ASSERT_TRUE(f.world.Run().ok());
}

TEST(SimSsd, ConcurrentIosCompleteInASeededOrder) {
  auto completion_order = [](uint64_t seed) {
    Fixture f(seed);
    std::string order;
    std::vector<std::byte> data = Filled(1, 1);
    f.sched().Spawn("client", [&] {
      io::IoBatch batch(f.sched(), "many");
      for (int i = 0; i < 6; ++i) {
        f.ssd->SubmitWrite(static_cast<uint64_t>(i), data, kNoFlags,
                           [&order, i](absl::Status) { order += static_cast<char>('0' + i); });
      }
      f.sched().SleepFor(runtime::Milliseconds(1));
    });
    EXPECT_TRUE(f.world.Run().ok());
    return std::make_pair(order, f.world.trace().hash());
  };
  EXPECT_EQ(completion_order(4), completion_order(4));
  bool reordered = false;
  for (uint64_t seed = 1; seed < 10; ++seed) {
    reordered = reordered || completion_order(seed).first != "012345";
  }
  EXPECT_TRUE(reordered);
}

TEST(SimSsd, DiscardReadsBackAsZeroes) {
  Fixture f;
  f.sched().Spawn("client", [&] {
    ASSERT_TRUE(io::WriteSync(f.sched(), *f.ssd, 2, Filled(2, 9), kFua).ok());
    ASSERT_TRUE(io::DiscardSync(f.sched(), *f.ssd, 2, 2).ok());
    std::vector<std::byte> back = Filled(2, 0xff);
    ASSERT_TRUE(io::ReadSync(f.sched(), *f.ssd, 2, back).ok());
    EXPECT_EQ(back, Filled(2, 0));
  });
  ASSERT_TRUE(f.world.Run().ok());
}

TEST(SimSsd, BadRequestsFailWithoutTouchingTheDevice) {
  Fixture f;
  f.sched().Spawn("client", [&] {
    EXPECT_EQ(io::WriteSync(f.sched(), *f.ssd, 63, Filled(2, 1), kNoFlags).code(),
              absl::StatusCode::kOutOfRange);
    std::vector<std::byte> odd(100);
    EXPECT_EQ(io::ReadSync(f.sched(), *f.ssd, 0, odd).code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(io::DiscardSync(f.sched(), *f.ssd, 0, 0).code(),
              absl::StatusCode::kInvalidArgument);
  });
  ASSERT_TRUE(f.world.Run().ok());
  EXPECT_EQ(f.ssd->visible().stored_sectors(), 0u);
}

TEST(SimSsd, CreateRejectsImpossibleGeometry) {
  World world(1);
  SimSsdOptions zero;
  zero.sectors = 0;
  EXPECT_EQ(SimSsd::Create(world, zero).status().code(), absl::StatusCode::kInvalidArgument);
  SimSsdOptions inverted;
  inverted.write_latency = {runtime::Microseconds(10), runtime::Microseconds(1)};
  EXPECT_EQ(SimSsd::Create(world, inverted).status().code(), absl::StatusCode::kInvalidArgument);
  SimSsdOptions small;
  small.sectors = 8;
  EXPECT_EQ(SimSsd::Create(world, small, DiskImage(16)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SimSsd, ARebuiltDeviceStartsFromItsImage) {
  World world(1);
  DiskImage image(16);
  image.Put(3, SplitIntoSectors(Filled(1, 0x5a))[0]);
  SimSsdOptions options;
  options.sectors = 16;
  auto ssd = *SimSsd::Create(world, options, image);
  EXPECT_EQ(FirstByte(ssd->durable(), 3), 0x5a);
  EXPECT_EQ(FirstByte(ssd->visible(), 3), 0x5a);
}

}  // namespace
}  // namespace powercut::sim
