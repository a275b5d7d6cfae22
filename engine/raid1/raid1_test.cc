// Raid1Array on simulated SSDs: geometry checks, create/assemble, mirrored writes with
// the bitmap written first, the daemon clearing bits, and resync of set chunks.
#include "engine/raid1/raid1.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/io/io_batch.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::raid1 {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kMemberSectors = 2048 + 64;

struct Rig {
  explicit Rig(uint64_t seed = 1, uint64_t member_sectors = kMemberSectors) : world(seed) {
    for (int i = 0; i < 2; ++i) {
      ssds.push_back(*sim::SimSsd::Create(
          world, {.name = "ssd" + std::to_string(i), .sectors = member_sectors}));
    }
  }
  std::vector<io::BlockDevice*> members() { return {ssds[0].get(), ssds[1].get()}; }
  sim::World world;
  std::vector<std::unique_ptr<sim::SimSsd>> ssds;
};

Raid1Options SmallOptions() {
  return Raid1Options{.array_sectors = 2048, .chunk_sectors = 64, .daemon_sleep_s = 1};
}

std::vector<std::byte> Pattern(size_t sectors, uint8_t seed) {
  std::vector<std::byte> data(sectors * io::kSectorSize);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(static_cast<uint8_t>(seed + i * 7));
  return data;
}

std::vector<std::byte> ReadImage(const sim::DiskImage& image, uint64_t sector, uint64_t sectors) {
  std::vector<std::byte> out(sectors * io::kSectorSize);
  image.Read(sector, out);
  return out;
}

// The durable bitmap bit of `chunk` on `ssd`.
bool DurableBit(const sim::SimSsd& ssd, const Raid1Geometry& g, uint64_t chunk) {
  const std::vector<std::byte> bytes =
      ReadImage(ssd.durable(), g.bitmap_sector, g.bitmap_area_sectors);
  return TestChunkBit(g.bitmap, bytes, chunk);
}

TEST(Raid1Geometry, RejectsAChunkThatIsNotAPowerOfTwo) {
  Raid1Options options = SmallOptions();
  options.chunk_sectors = 48;
  absl::StatusOr<Raid1Geometry> g = Raid1Geometry::For(kMemberSectors, options);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("not a power of two"));
}

TEST(Raid1Geometry, RejectsABitmapAreaTooSmallForTheBitmap) {
  Raid1Options options = SmallOptions();
  options.array_sectors = 0;
  options.chunk_sectors = 1;  // one bit per sector: more than one page of bits
  options.bitmap_area_sectors = 1;
  absl::StatusOr<Raid1Geometry> g = Raid1Geometry::For(uint64_t{1} << 16, options);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("too small"));
}

TEST(Raid1Geometry, PutsTheBitmapEightSectorsAfterTheSuperblockAndDataAfterIt) {
  absl::StatusOr<Raid1Geometry> g = Raid1Geometry::For(kMemberSectors, SmallOptions());
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->super_sector, 8u);
  EXPECT_EQ(g->bitmap_sector, 16u);
  EXPECT_EQ(g->bitmap_area_sectors, 8u);
  EXPECT_EQ(g->data_offset, 24u);
  EXPECT_EQ(g->bitmap.chunks, 32u);
}

TEST(Raid1Array, RejectsMembersOfDifferentSizes) {
  sim::World world(1);
  auto a = *sim::SimSsd::Create(world, {.name = "a", .sectors = kMemberSectors});
  auto b = *sim::SimSsd::Create(world, {.name = "b", .sectors = kMemberSectors + 8});
  absl::StatusOr<std::unique_ptr<Raid1Array>> array =
      Raid1Array::Open(world.scheduler(), {a.get(), b.get()}, SmallOptions());
  ASSERT_FALSE(array.ok());
  EXPECT_THAT(array.status().message(), HasSubstr("member sizes differ"));
}

TEST(Raid1Array, RejectsASingleMember) {
  sim::World world(1);
  auto a = *sim::SimSsd::Create(world, {.name = "a", .sectors = kMemberSectors});
  EXPECT_FALSE(Raid1Array::Open(world.scheduler(), {a.get()}, SmallOptions()).ok());
}

TEST(Raid1Array, AWriteReachesEveryMirrorAfterItsBitIsDurableOnEveryMember) {  // I2
  Rig rig;
  auto array = *Raid1Array::Open(rig.world.scheduler(), rig.members(), SmallOptions());
  const Raid1Geometry g = array->geometry();
  const std::vector<std::byte> data = Pattern(16, 3);
  rig.world.scheduler().Spawn("test", [&] {
    ASSERT_TRUE(array->Create().ok());
    ASSERT_TRUE(io::WriteSync(rig.world.scheduler(), *array, 200, data, io::kNoFlags).ok());
    // Chunk 3 holds sectors 192..255: its bit is durable on both members already.
    EXPECT_TRUE(DurableBit(*rig.ssds[0], g, 3));
    EXPECT_TRUE(DurableBit(*rig.ssds[1], g, 3));
    EXPECT_FALSE(DurableBit(*rig.ssds[0], g, 4));
    for (const auto& ssd : rig.ssds) {
      EXPECT_EQ(ReadImage(ssd->visible(), g.data_offset + 200, 16), data) << ssd->name();
    }
    for (int i = 0; i < 2; ++i) {  // both members serve reads (round-robin)
      std::vector<std::byte> back(data.size());
      ASSERT_TRUE(io::ReadSync(rig.world.scheduler(), *array, 200, back).ok());
      EXPECT_EQ(back, data);
    }
  });
  ASSERT_TRUE(rig.world.Run().ok());
}

TEST(Raid1Array, ThreeIdleDaemonPeriodsClearEveryBitOnEveryMember) {  // I12
  Rig rig;
  auto array = *Raid1Array::Open(rig.world.scheduler(), rig.members(), SmallOptions());
  const Raid1Geometry g = array->geometry();
  const std::vector<std::byte> data = Pattern(8, 5);
  rig.world.scheduler().Spawn("test", [&] {
    ASSERT_TRUE(array->Create().ok());
    for (uint64_t sector : {0, 64, 1000, 2040}) {
      ASSERT_TRUE(io::WriteSync(rig.world.scheduler(), *array, sector, data, io::kNoFlags).ok());
    }
    rig.world.scheduler().SleepFor(runtime::Seconds(4));
    for (const auto& ssd : rig.ssds) {
      const std::vector<std::byte> bytes =
          ReadImage(ssd->durable(), g.bitmap_sector, g.bitmap_area_sectors);
      EXPECT_EQ(CountDirtyChunks(g.bitmap, bytes), 0u) << ssd->name();
      // The clears were written after a flush: the data is durable on both mirrors.
      EXPECT_EQ(ReadImage(ssd->durable(), g.data_offset + 1000, 8), data) << ssd->name();
    }
    EXPECT_EQ(array->bitmap().dirty_chunks(), 0u);
  });
  ASSERT_TRUE(rig.world.Run().ok());
}

TEST(Raid1Array, AssembleResyncsEveryChunkWhoseBitIsSetFromTheFirstMember) {  // I8
  Rig rig;
  auto first = *Raid1Array::Open(rig.world.scheduler(), rig.members(), SmallOptions());
  const Raid1Geometry g = first->geometry();
  const std::vector<std::byte> data = Pattern(8, 9);
  const std::vector<std::byte> other = Pattern(8, 77);
  rig.world.scheduler().Spawn("test", [&] {
    ASSERT_TRUE(first->Create().ok());
    ASSERT_TRUE(io::WriteSync(rig.world.scheduler(), *first, 640, data, io::kFua).ok());
    // Member 1 diverges under a set bit (as a power cut between mirror writes leaves it).
    ASSERT_TRUE(
        io::WriteSync(rig.world.scheduler(), *rig.ssds[1], g.data_offset + 640, other, io::kFua)
            .ok());
    auto second = *Raid1Array::Open(rig.world.scheduler(), rig.members(), SmallOptions());
    ASSERT_TRUE(second->Assemble().ok());
    EXPECT_EQ(second->resynced_chunks(), 1u);
    EXPECT_GT(second->events(), first->events());
    EXPECT_EQ(ReadImage(rig.ssds[1]->visible(), g.data_offset + 640, 8), data);
  });
  ASSERT_TRUE(rig.world.Run().ok());
}

TEST(Raid1Array, AssembleRejectsMembersOfAnotherArray) {
  Rig rig;
  auto array = *Raid1Array::Open(rig.world.scheduler(), rig.members(), SmallOptions());
  rig.world.scheduler().Spawn("test", [&] {
    ASSERT_TRUE(array->Create().ok());
    Raid1Options other = SmallOptions();
    other.uuid[0] ^= 1;
    auto stranger = *Raid1Array::Open(rig.world.scheduler(), rig.members(), other);
    absl::Status s = stranger->Assemble();
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(s.message(), HasSubstr("does not belong"));
  });
  ASSERT_TRUE(rig.world.Run().ok());
}

}  // namespace
}  // namespace powercut::raid1
