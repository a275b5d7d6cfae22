// Unit tests of the write-back cache engine in pmem mode, on a simulated origin SSD and
// simulated persistent memory.
#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/writecache/writecache.h"
#include "gtest/gtest.h"
#include "sim/sim_pmem.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::writecache {
namespace {

using io::kFua;
using io::kNoFlags;

constexpr uint64_t kOriginSectors = 2048;
constexpr uint64_t kBlock = 8;  // sectors per 4 KiB block

// Counts the writes (and FUA writes) and flushes the origin sees.
class OriginCounter : public io::BlockDeviceWrapper {
 public:
  explicit OriginCounter(io::BlockDevice& target) : BlockDeviceWrapper(target) {}
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override {
    ++writes;
    fua_writes += (flags & kFua) != 0;
    BlockDeviceWrapper::SubmitWrite(sector, data, flags, std::move(done));
  }
  void SubmitFlush(io::IoCallback done) override {
    ++flushes;
    BlockDeviceWrapper::SubmitFlush(std::move(done));
  }
  int writes = 0;
  int fua_writes = 0;
  int flushes = 0;
};

std::vector<std::byte> Pattern(uint64_t sectors, uint8_t tag) {
  std::vector<std::byte> data(sectors * 512);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(static_cast<uint8_t>(tag + i / 512));
  return data;
}

// A pmem cache of `cache_blocks` 4 KiB blocks plus one metadata block after
// `start_sector` sectors, from an optional image of the persistent memory.
struct PmemRig {
  explicit PmemRig(std::string table = "p origin pmem 4096 0", uint64_t cache_blocks = 16,
                   uint64_t start_sector = 0,
                   std::optional<std::vector<std::byte>> pmem_image = std::nullopt,
                   std::optional<sim::DiskImage> origin_image = std::nullopt)
      : world(1) {
    origin = *sim::SimSsd::Create(world, {.name = "origin", .sectors = kOriginSectors},
                                  std::move(origin_image));
    counter = std::make_unique<OriginCounter>(*origin);
    pmem = *sim::SimPmem::Create(
        world, {.name = "pmem", .size = (start_sector + (cache_blocks + 1) * kBlock) * 512},
        std::move(pmem_image));
    absl::StatusOr<Params> params = ParseTable(table);
    EXPECT_TRUE(params.ok()) << params.status();
    absl::StatusOr<std::unique_ptr<WriteCache>> made =
        WriteCache::Create(world.scheduler(), *counter, *pmem, *params);
    EXPECT_TRUE(made.ok()) << made.status();
    if (made.ok()) wc = std::move(*made);
  }
  ~PmemRig() {
    world.Halt();
    wc.reset();
  }

  void Run(const std::function<void()>& body) {
    world.scheduler().Spawn("test", [&] {
      absl::Status started = wc->Start();
      ASSERT_TRUE(started.ok()) << started;
      body();
    });
    absl::Status run = world.Run(runtime::Seconds(3600));
    ASSERT_TRUE(run.ok()) << run;
  }
  absl::Status Write(uint64_t sector, const std::vector<std::byte>& data, uint32_t flags = kNoFlags) {
    return io::WriteSync(world.scheduler(), *wc, sector, data, flags);
  }
  std::vector<std::byte> Read(uint64_t sector, uint64_t sectors) {
    std::vector<std::byte> out(sectors * 512);
    EXPECT_TRUE(io::ReadSync(world.scheduler(), *wc, sector, out).ok());
    return out;
  }
  absl::Status Flush() { return io::FlushSync(world.scheduler(), *wc); }

  // The durable metadata (what every crash keeps), parsed.
  ParsedMetadata DurableMetadata(uint64_t start_sector = 0) const {
    const std::vector<std::byte> image = pmem->DurableImage();
    absl::StatusOr<ParsedMetadata> parsed = ParseMetadata(
        std::span<const std::byte>(image).subspan(start_sector * 512, wc->geometry().metadata_bytes));
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : ParsedMetadata{};
  }
  std::vector<std::byte> DurableBlock(uint64_t index) const {
    const std::vector<std::byte> image = pmem->DurableImage();
    const auto begin = image.begin() + static_cast<ptrdiff_t>(wc->CacheSector(index) * 512);
    return std::vector<std::byte>(begin, begin + 4096);
  }

  sim::World world;
  std::unique_ptr<sim::SimSsd> origin;
  std::unique_ptr<OriginCounter> counter;
  std::unique_ptr<sim::SimPmem> pmem;
  std::unique_ptr<WriteCache> wc;
};

int CommittedFor(const ParsedMetadata& m, uint64_t sector) {
  int n = 0;
  for (const MemoryEntry& e : m.entries) n += m.IsCommitted(e) && e.original_sector == sector;
  return n;
}

TEST(WriteCachePmem, CreateNeedsPersistentMemoryForPmemModeOnly) {
  sim::World world(1);
  auto origin = *sim::SimSsd::Create(world, {.name = "o", .sectors = kOriginSectors});
  auto pmem = *sim::SimPmem::Create(world, {.name = "p", .size = 64 * 4096});
  auto ssd_on_pmem = WriteCache::Create(world.scheduler(), *origin, *pmem, *ParseTable("s o p 4096 0"));
  EXPECT_EQ(ssd_on_pmem.status().code(), absl::StatusCode::kInvalidArgument);
  auto beyond = WriteCache::Create(world.scheduler(), *origin, *pmem,
                                   *ParseTable("p o p 4096 2 start_sector 512"));
  EXPECT_EQ(beyond.status().code(), absl::StatusCode::kInvalidArgument);
  auto fits = WriteCache::Create(world.scheduler(), *origin, *pmem, *ParseTable("p o p 4096 0"));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ((*fits)->TableLine(), "p o p 4096 0");
}

TEST(WriteCachePmem, ABlankPmemIsFormattedDurablyWithTheMagic) {
  PmemRig rig("p origin pmem 4096 2 start_sector 8", 16, /*start_sector=*/8);
  rig.Run([] {});
  const ParsedMetadata m = rig.DurableMetadata(8);
  EXPECT_EQ(m.superblock.magic, kMagic);
  EXPECT_EQ(m.superblock.n_blocks, 16u);
  EXPECT_EQ(m.superblock.seq_count, 0u);
  EXPECT_EQ(rig.wc->free_blocks(), 16u);
  EXPECT_EQ(rig.pmem->pending_flushes(), 0u);
}

TEST(WriteCachePmem, AFlushCommitsDataAndEntryDurablyWithoutTouchingTheOrigin) {
  PmemRig rig;
  const auto data = Pattern(kBlock, 1);
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(16, data).ok());
    EXPECT_EQ(rig.DurableMetadata().superblock.seq_count, 0u);  // not committed yet
    ASSERT_TRUE(rig.Flush().ok());
    EXPECT_EQ(rig.Read(16, kBlock), data);
  });
  const ParsedMetadata m = rig.DurableMetadata();
  EXPECT_EQ(m.superblock.seq_count, 1u);
  ASSERT_EQ(CommittedFor(m, 16), 1);
  for (uint64_t i = 0; i < m.entries.size(); ++i) {
    if (m.entries[i].original_sector == 16) {
      EXPECT_EQ(rig.DurableBlock(i), data);
    }
  }
  EXPECT_EQ(rig.counter->writes, 0);
  EXPECT_EQ(rig.counter->flushes, 0);  // nothing went around the cache
}

TEST(WriteCachePmem, AFuaWriteCommitsBeforeItIsAcknowledged) {
  PmemRig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(kBlock, 1)).ok());
    ASSERT_TRUE(rig.Write(8, Pattern(kBlock, 2), kFua).ok());
    const ParsedMetadata m = rig.DurableMetadata();
    EXPECT_EQ(m.superblock.seq_count, 1u);
    EXPECT_EQ(CommittedFor(m, 0), 1);  // the epoch commits as a whole
    EXPECT_EQ(CommittedFor(m, 8), 1);
  });
}

TEST(WriteCachePmem, OverwritingACommittedBlockMakesANewerDuplicateThatTheCommitResolves) {
  PmemRig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(kBlock, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    ASSERT_TRUE(rig.Write(0, Pattern(kBlock, 2)).ok());
    EXPECT_EQ(rig.wc->stats().write_hits_committed, 1u);
    EXPECT_EQ(rig.wc->free_blocks(), 14u);  // two versions of sector 0
    EXPECT_EQ(rig.Read(0, kBlock), Pattern(kBlock, 2));
    ASSERT_TRUE(rig.Flush().ok());
    EXPECT_EQ(rig.wc->free_blocks(), 15u);  // E4: the older one is freed after the commit
  });
  const ParsedMetadata m = rig.DurableMetadata();
  EXPECT_EQ(CommittedFor(m, 0), 1);
  uint64_t free = 0;
  for (const MemoryEntry& e : m.entries) free += e.seq_count == kFreeSeq;
  EXPECT_EQ(free, 15u);  // E5: the free is durable
}

TEST(WriteCachePmem, AutocommitAfterSixtyFourBlocksByDefault) {
  PmemRig rig("p origin pmem 4096 2 high_watermark 100", 80);  // no writeback
  EXPECT_EQ(rig.wc->params().AutocommitBlocks(), 64u);
  rig.Run([&] {
    for (uint64_t b = 0; b < 63; ++b) ASSERT_TRUE(rig.Write(b * kBlock, Pattern(kBlock, 1)).ok());
    EXPECT_EQ(rig.wc->seq_count(), 0u);
    ASSERT_TRUE(rig.Write(63 * kBlock, Pattern(kBlock, 1)).ok());
    EXPECT_EQ(rig.wc->seq_count(), 1u);
  });
}

TEST(WriteCachePmem, RecoveryKeepsCommittedBlocksAndFreesUncommittedOnes) {
  std::vector<std::byte> image;
  sim::DiskImage origin_image(kOriginSectors);
  {
    PmemRig rig;
    rig.Run([&] {
      ASSERT_TRUE(rig.Write(0, Pattern(kBlock, 1)).ok());
      ASSERT_TRUE(rig.Flush().ok());
      ASSERT_TRUE(rig.Write(0, Pattern(kBlock, 2)).ok());  // a newer, uncommitted duplicate
      ASSERT_TRUE(rig.Write(64, Pattern(kBlock, 3)).ok());
    });
    // Every store was flushing; take the image where all of them landed.
    const sim::PmemCrashState crash = rig.pmem->CrashState();
    std::vector<uint32_t> all;
    for (const auto& line : crash.lines()) all.push_back(static_cast<uint32_t>(line.history.size()));
    image = crash.Build(all);
    origin_image = rig.origin->durable();
  }
  PmemRig after("p origin pmem 4096 0", 16, 0, image, origin_image);
  after.Run([&] {
    EXPECT_EQ(after.Read(0, kBlock), Pattern(kBlock, 1));
    EXPECT_EQ(after.Read(64, kBlock), std::vector<std::byte>(kBlock * 512));
    EXPECT_EQ(after.wc->free_blocks(), 15u);
  });
  const ParsedMetadata m = after.DurableMetadata();
  uint64_t free = 0;
  for (const MemoryEntry& e : m.entries) free += e.seq_count == kFreeSeq;
  EXPECT_EQ(free, 15u);  // the cleaned state is durable
}

// The kernel frees entries in index order as its recovery loop meets them: an
// uncommitted entry at its own index, the loser of two committed duplicates at the
// index of the later one. pmem mode allocates first in, first out, so that order is
// the order new blocks land in.
TEST(WriteCachePmem, RecoveryFreesInTheKernelsIndexOrderAndAllocatesInThatOrder) {
  // Superblock seq 5. Sector 40: entries 0 (seq 3), 2 (seq 4, wins at step 2, freeing 0)
  // and 4 (seq 1, loses at step 4). Entry 1 is uncommitted, entry 3 stays.
  const Geometry g = *ComputeGeometry(17 * 4096, 4096);
  std::vector<std::byte> image((17 * kBlock) * 512);
  std::vector<std::byte> meta = FormattedMetadata(g);
  StoreU32(meta, kMagicOffset, kMagic);
  StoreU64(meta, kSeqCountOffset, 5);
  const std::vector<MemoryEntry> entries = {{40, 3}, {48, 5}, {40, 4}, {56, 2}, {40, 1}};
  for (size_t i = 0; i < entries.size(); ++i) {
    EncodeEntry(entries[i], std::span<std::byte>(meta).subspan(Geometry::EntryOffset(i), 16));
  }
  std::copy(meta.begin(), meta.end(), image.begin());
  PmemRig rig("p origin pmem 4096 0", 16, 0, image);
  rig.Run([&] {
    EXPECT_EQ(rig.wc->free_blocks(), 14u);
    // Four new sectors take the free entries 1, 0, 4, 5 in that order.
    for (uint64_t k = 0; k < 4; ++k) {
      ASSERT_TRUE(rig.Write(512 + k * kBlock, Pattern(kBlock, static_cast<uint8_t>(k))).ok());
    }
    ASSERT_TRUE(rig.Flush().ok());
  });
  EXPECT_FALSE(rig.wc->has_error());
  const ParsedMetadata m = rig.DurableMetadata();
  EXPECT_EQ(m.entries[2], (MemoryEntry{40, 4}));
  EXPECT_EQ(m.entries[3], (MemoryEntry{56, 2}));
  const uint64_t expected_index[] = {1, 0, 4, 5};
  for (uint64_t k = 0; k < 4; ++k) {
    EXPECT_EQ(m.entries[expected_index[k]].original_sector, 512 + k * kBlock) << "write " << k;
  }
}

TEST(WriteCachePmem, WritebackUsesFuaByDefaultAndAnOriginFlushWithNofua) {
  for (const bool fua : {true, false}) {
    PmemRig rig(fua ? "p origin pmem 4096 0" : "p origin pmem 4096 1 nofua");
    rig.Run([&] {
      ASSERT_TRUE(rig.Write(0, Pattern(2 * kBlock, 1)).ok());
      ASSERT_TRUE(rig.Write(64, Pattern(kBlock, 3)).ok());
      ASSERT_TRUE(rig.wc->Message("flush").ok());
      EXPECT_EQ(rig.wc->free_blocks(), 16u);
    });
    std::vector<std::byte> durable(3 * kBlock * 512);
    rig.origin->durable().Read(0, std::span<std::byte>(durable).first(2 * kBlock * 512));
    EXPECT_EQ(std::vector<std::byte>(durable.begin(), durable.begin() + 2 * kBlock * 512),
              Pattern(2 * kBlock, 1));
    EXPECT_EQ(rig.counter->writes, 2) << "sectors 0-15 in one job, 64-71 in another";
    EXPECT_EQ(rig.counter->fua_writes, fua ? 2 : 0);
    EXPECT_EQ(rig.counter->flushes > 0, !fua);
  }
}

TEST(WriteCachePmem, AFullCacheWaitsForWritebackInsteadOfWritingAround) {
  PmemRig rig("p origin pmem 4096 0", 2);
  rig.Run([&] {
    for (uint64_t b = 0; b < 6; ++b) ASSERT_TRUE(rig.Write(b * kBlock, Pattern(kBlock, 1)).ok());
    EXPECT_EQ(rig.wc->stats().writes_around, 0u);
    EXPECT_GT(rig.wc->stats().writes_blocked_on_freelist, 0u);
    for (uint64_t b = 0; b < 6; ++b) EXPECT_EQ(rig.Read(b * kBlock, kBlock), Pattern(kBlock, 1));
  });
}

TEST(WriteCachePmem, DiscardFreesCachedBlocksDurablyAndReachesTheOrigin) {
  PmemRig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(kBlock, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    ASSERT_TRUE(io::DiscardSync(rig.world.scheduler(), *rig.wc, 0, kBlock).ok());
    EXPECT_EQ(rig.wc->free_blocks(), 16u);
  });
  EXPECT_EQ(CommittedFor(rig.DurableMetadata(), 0), 0);
}

TEST(WriteCachePmem, SuspendCommitsAndResumeReloadsFromThePmem) {
  PmemRig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(kBlock, 1)).ok());
    ASSERT_TRUE(rig.wc->Suspend().ok());
    EXPECT_EQ(rig.DurableMetadata().superblock.seq_count, 1u);
    ASSERT_TRUE(rig.wc->Resume().ok());
    EXPECT_EQ(rig.wc->free_blocks(), 15u);
    EXPECT_EQ(rig.Read(0, kBlock), Pattern(kBlock, 1));
  });
}

}  // namespace
}  // namespace powercut::writecache
