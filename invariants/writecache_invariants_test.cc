// The write-back cache's invariant checkers catch each violation they name, on crafted
// images and IO streams, and accept the correct cases.
#include "invariants/writecache_invariants.h"

#include <gtest/gtest.h>

#include "engine/io/io_batch.h"
#include "harness/sector_stamp.h"
#include "sim/world.h"

namespace powercut::verifier {
namespace {

using writecache::Geometry;
using writecache::MemoryEntry;

constexpr uint64_t kStart = 8;  // the cache area's start sector
constexpr uint64_t kBlocks = 4;

Geometry TheGeometry() { return *writecache::GeometryFor(kBlocks, 4096); }

// A formatted metadata area with superblock seq `seq` and the given entries.
std::vector<std::byte> Metadata(uint64_t seq, const std::vector<MemoryEntry>& entries) {
  std::vector<std::byte> meta = writecache::FormattedMetadata(TheGeometry());
  writecache::StoreU32(meta, writecache::kMagicOffset, writecache::kMagic);
  writecache::StoreU64(meta, writecache::kSeqCountOffset, seq);
  for (size_t i = 0; i < entries.size(); ++i) {
    writecache::EncodeEntry(entries[i], std::span<std::byte>(meta).subspan(Geometry::EntryOffset(i), 16));
  }
  return meta;
}

void Put(sim::DiskImage& image, uint64_t sector, std::span<const std::byte> bytes) {
  const std::vector<sim::SectorRef> refs = sim::SplitIntoSectors(bytes);
  for (uint64_t i = 0; i < refs.size(); ++i) image.Put(sector + i, refs[i]);
}

std::vector<std::byte> Block(uint64_t write_id, uint64_t sector) {
  std::vector<std::byte> block(4096);
  StampWrite(write_id, sector, block);
  return block;
}

uint64_t DataSector(uint64_t index) { return kStart + TheGeometry().DataSector(index); }

sim::DiskImage Image(uint64_t seq, const std::vector<MemoryEntry>& entries) {
  sim::DiskImage image(kStart + TheGeometry().metadata_sectors() + kBlocks * 8);
  Put(image, kStart, Metadata(seq, entries));
  return image;
}

TEST(WriteCacheInvariants, CommittedDataMustBeWrittenForItsSector) {
  sim::DiskImage image = Image(3, {{64, 2}, {72, 3}, {80, 1}});
  Put(image, DataSector(0), Block(5, 64));
  // Entry 1 is uncommitted (seq 3 == superblock seq): its block is not looked at.
  Put(image, DataSector(2), Block(6, 80));
  auto metadata = ReadCacheMetadata(image, kStart);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(CheckCommittedData(image, kStart, *metadata), std::nullopt);

  Put(image, DataSector(2), Block(6, 88));  // data of another sector
  auto foreign = CheckCommittedData(image, kStart, *metadata);
  ASSERT_TRUE(foreign.has_value());
  EXPECT_NE(foreign->text.find("entry 2 (sector 80"), std::string::npos) << foreign->text;

  sim::DiskImage never_written = Image(3, {{64, 2}});
  auto zero = CheckCommittedData(never_written, kStart, *ReadCacheMetadata(never_written, kStart));
  ASSERT_TRUE(zero.has_value());
  EXPECT_NE(zero->text.find("E1"), std::string::npos);
  EXPECT_EQ(zero->invariant, "E1");
}

TEST(WriteCacheInvariants, RecoveredMetadataHasOneCommittedEntryPerSectorAndNoStragglers) {
  sim::DiskImage good = Image(3, {{64, 2}, {72, 0}});
  EXPECT_EQ(CheckRecovered(*ReadCacheMetadata(good, kStart)), std::nullopt);
  sim::DiskImage twice = Image(3, {{64, 2}, {64, 1}});
  auto dup = CheckRecovered(*ReadCacheMetadata(twice, kStart));
  ASSERT_TRUE(dup.has_value());
  EXPECT_NE(dup->text.find("both committed for sector 64"), std::string::npos) << dup->text;
  sim::DiskImage straggler = Image(3, {{64, 3}});
  auto left = CheckRecovered(*ReadCacheMetadata(straggler, kStart));
  ASSERT_TRUE(left.has_value());
  EXPECT_NE(left->text.find("free + used != n_blocks"), std::string::npos) << left->text;
}

TEST(WriteCacheInvariants, AnUnformattedCacheHasNoMetadata) {
  sim::DiskImage blank(64);
  EXPECT_EQ(ReadCacheMetadata(blank, 0).status().code(), absl::StatusCode::kNotFound);
}

// Runs `body` in a fiber of a world holding a cache SimSsd whose durable image is
// `image`, with a CacheTraceChecker over it.
void WithChecker(const sim::DiskImage& image,
                 const std::function<void(runtime::Scheduler&, io::BlockDevice&, sim::SimSsd&)>& body,
                 std::vector<Violation>* found) {
  sim::World world(1);
  auto ssd = *sim::SimSsd::Create(world, {.name = "cache", .sectors = image.sector_count()}, image);
  auto violations = std::make_shared<CacheTraceFindings>();
  CacheTraceChecker checker(*ssd, kStart, violations);
  world.scheduler().Spawn("t", [&] { body(world.scheduler(), checker, *ssd); });
  ASSERT_TRUE(world.Run().ok());
  world.Halt();
  *found = violations->found;
}

TEST(WriteCacheInvariants, TheTraceCheckerAcceptsACorrectCommit) {
  sim::DiskImage image = Image(1, {{64, 0}});
  Put(image, DataSector(0), Block(5, 64));
  std::vector<Violation> found;
  WithChecker(image, [](runtime::Scheduler& s, io::BlockDevice& dev, sim::SimSsd&) {
    // Data for a new entry, the entry, a flush, then the superblock bump with FUA.
    ASSERT_TRUE(io::WriteSync(s, dev, DataSector(1), Block(6, 72), io::kNoFlags).ok());
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(1, {{64, 0}, {72, 1}}), io::kNoFlags).ok());
    ASSERT_TRUE(io::FlushSync(s, dev).ok());
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(2, {{64, 0}, {72, 1}}), io::kFua).ok());
  }, &found);
  EXPECT_TRUE(found.empty()) << found.front().text;
}

TEST(WriteCacheInvariants, TheTraceCheckerCatchesABumpBeforeTheEntriesAreDurable) {
  sim::DiskImage image = Image(1, {{64, 0}});
  Put(image, DataSector(0), Block(5, 64));
  std::vector<Violation> found;
  WithChecker(image, [](runtime::Scheduler& s, io::BlockDevice& dev, sim::SimSsd&) {
    ASSERT_TRUE(io::WriteSync(s, dev, DataSector(1), Block(6, 72), io::kNoFlags).ok());
    ASSERT_TRUE(io::FlushSync(s, dev).ok());
    // The entry's region write completes, but no flush follows it (E2).
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(1, {{64, 0}, {72, 1}}), io::kNoFlags).ok());
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(2, {{64, 0}, {72, 1}}), io::kFua).ok());
  }, &found);
  ASSERT_FALSE(found.empty());
  EXPECT_NE(found.front().text.find("E2"), std::string::npos) << found.front().text;
  EXPECT_EQ(found.front().invariant, "E2");
}

TEST(WriteCacheInvariants, TheTraceCheckerCatchesABumpBeforeTheDataIsDurable) {
  sim::DiskImage image = Image(1, {{64, 0}, {72, 1}});
  Put(image, DataSector(0), Block(5, 64));
  std::vector<Violation> found;
  WithChecker(image, [](runtime::Scheduler& s, io::BlockDevice& dev, sim::SimSsd&) {
    // Entry 1 (sector 72, seq 1) is durable, its data write is not flushed (E1).
    ASSERT_TRUE(io::WriteSync(s, dev, DataSector(1), Block(6, 72), io::kNoFlags).ok());
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(2, {{64, 0}, {72, 1}}), io::kFua).ok());
  }, &found);
  ASSERT_FALSE(found.empty());
  EXPECT_NE(found.front().text.find("E1"), std::string::npos) << found.front().text;
  EXPECT_EQ(found.front().invariant, "E1");
}

// The checker remembers which blocks it found good at a commit; one whose durable data
// changes afterwards (here garbage made durable by a flush) is looked at again.
TEST(WriteCacheInvariants, TheTraceCheckerRechecksABlockWhoseDurableDataChanged) {
  sim::DiskImage image = Image(1, {{64, 0}});
  Put(image, DataSector(0), Block(5, 64));
  std::vector<Violation> found;
  WithChecker(image, [](runtime::Scheduler& s, io::BlockDevice& dev, sim::SimSsd& ssd) {
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(2, {{64, 0}}), io::kFua).ok());
    std::vector<std::byte> torn = Block(6, 64);
    torn[700] = std::byte{0xff};
    // Straight to the device: the checker's own data-write check is not what is tested.
    ASSERT_TRUE(io::WriteSync(s, ssd, DataSector(0), torn, io::kNoFlags).ok());
    ASSERT_TRUE(io::FlushSync(s, dev).ok());
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(3, {{64, 0}}), io::kFua).ok());
  }, &found);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found.front().text.find("seq_count 3: E1"), std::string::npos) << found.front().text;
  EXPECT_NE(found.front().text.find("garbage"), std::string::npos) << found.front().text;
}

TEST(WriteCacheInvariants, TheTraceCheckerCatchesASeqThatGoesBackwards) {
  sim::DiskImage image = Image(4, {});
  std::vector<Violation> found;
  WithChecker(image, [](runtime::Scheduler& s, io::BlockDevice& dev, sim::SimSsd&) {
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(5, {}), io::kFua).ok());
    ASSERT_TRUE(io::WriteSync(s, dev, kStart, Metadata(3, {}), io::kFua).ok());
  }, &found);
  ASSERT_FALSE(found.empty());
  EXPECT_NE(found.front().text.find("decreased from 5 to 3"), std::string::npos) << found.front().text;
}

TEST(WriteCacheInvariants, TheTraceCheckerCatchesReuseOfABlockWhoseFreeIsNotDurable) {
  sim::DiskImage image = Image(2, {{64, 1}});
  Put(image, DataSector(0), Block(5, 64));
  std::vector<Violation> found;
  WithChecker(image, [](runtime::Scheduler& s, io::BlockDevice& dev, sim::SimSsd&) {
    // Overwriting the block for its own sector is fine ...
    ASSERT_TRUE(io::WriteSync(s, dev, DataSector(0), Block(7, 64), io::kNoFlags).ok());
    // ... data for another sector while entry 0 still durably maps sector 64 is not.
    ASSERT_TRUE(io::WriteSync(s, dev, DataSector(0), Block(8, 96), io::kNoFlags).ok());
  }, &found);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found.front().text.find("E5/W2"), std::string::npos) << found.front().text;
  EXPECT_EQ(found.front().invariant, "E5/W2");
}

// pmem mode: a store of a new seq_count is a commit; the entries and data it commits
// must already be durable (fenced), and a block is rewritten only after its free is.
TEST(WriteCacheInvariants, PmemStoresOfANewSeqCountNeedDurableEntriesAndData) {
  sim::World world(1);
  const uint64_t size = (kStart + TheGeometry().metadata_sectors() + kBlocks * 8) * 512;
  auto pmem = *sim::SimPmem::Create(world, {.name = "pmem", .size = size});
  auto violations = std::make_shared<CacheTraceFindings>();
  PmemTraceChecker checker(*pmem, kStart, violations);
  const uint64_t area = kStart * 512;
  checker.StoreFlushing(area, Metadata(1, {}));
  checker.Fence();
  const uint64_t data0 = DataSector(0) * 512;
  // Entry 0 for sector 64 in epoch 1, its data, then the seq bump without a fence.
  std::vector<std::byte> entry(16);
  writecache::EncodeEntry({64, 1}, entry);
  checker.StoreFlushing(area + Geometry::EntryOffset(0), entry);
  checker.StoreFlushing(data0, Block(5, 64));
  std::vector<std::byte> seq(8);
  writecache::StoreU64(seq, 0, 2);
  checker.StoreFlushing(area + writecache::kSeqCountOffset, seq);
  ASSERT_EQ(violations->found.size(), 1u);
  EXPECT_NE(violations->found[0].text.find("E2"), std::string::npos) << violations->found[0].text;
  EXPECT_EQ(violations->found[0].invariant, "E2");
  // With the fence first, the same commit is fine.
  violations->found.clear();
  checker.Fence();
  checker.StoreFlushing(area + writecache::kSeqCountOffset, seq);
  EXPECT_TRUE(violations->found.empty()) << violations->found.front().text;
  checker.Fence();
  // Block 0 now commits sector 64: writing data for sector 72 into it is a reuse
  // before a durable free (E5/W2), unless the free was fenced first.
  checker.StoreFlushing(data0, Block(6, 72));
  ASSERT_EQ(violations->found.size(), 1u);
  EXPECT_NE(violations->found[0].text.find("E5/W2"), std::string::npos) << violations->found[0].text;
  EXPECT_EQ(violations->found[0].invariant, "E5/W2");
  violations->found.clear();
  writecache::StoreU64(seq, 0, writecache::kFreeSeq);
  checker.StoreFlushing(area + Geometry::EntryOffset(0) + 8, seq);
  checker.Fence();
  checker.StoreFlushing(data0, Block(7, 72));
  EXPECT_TRUE(violations->found.empty()) << violations->found.front().text;
}

}  // namespace
}  // namespace powercut::verifier
