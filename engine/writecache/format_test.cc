#include "engine/writecache/format.h"

#include "gtest/gtest.h"

namespace powercut::writecache {
namespace {

TEST(WriteCacheFormat, SuperblockIs64BytesLittleEndianWithTheKernelMagic) {
  Superblock sb{kMagic, kVersion, 4096, 0, 1234, 99};
  std::vector<std::byte> bytes(64, std::byte{0xee});
  EncodeSuperblock(sb, bytes);
  EXPECT_EQ(bytes[0], std::byte{0x21});
  EXPECT_EQ(bytes[1], std::byte{0x93});
  EXPECT_EQ(bytes[2], std::byte{0x48});
  EXPECT_EQ(bytes[3], std::byte{0x23});
  EXPECT_EQ(LoadU32(bytes, 4), 1u);
  EXPECT_EQ(LoadU32(bytes, 8), 4096u);
  EXPECT_EQ(LoadU64(bytes, 16), 1234u);
  EXPECT_EQ(LoadU64(bytes, 24), 99u);
  for (size_t i = 32; i < 64; ++i) EXPECT_EQ(bytes[i], std::byte{0}) << i;
  EXPECT_EQ(DecodeSuperblock(bytes), sb);
}

TEST(WriteCacheFormat, EntriesAre16BytesAfterTheSuperblockAndNeverCrossASector) {
  for (uint64_t i = 0; i < 4096; ++i) {
    const uint64_t offset = Geometry::EntryOffset(i);
    EXPECT_EQ(offset, 64 + 16 * i);
    EXPECT_EQ(offset / 512, (offset + kEntryBytes - 1) / 512) << "entry " << i;
  }
  std::vector<std::byte> bytes(16);
  EncodeEntry(MemoryEntry{4096, 7}, bytes);
  EXPECT_EQ(LoadU64(bytes, 0), 4096u);
  EXPECT_EQ(LoadU64(bytes, 8), 7u);
  EXPECT_EQ(DecodeEntry(bytes), (MemoryEntry{4096, 7}));
}

TEST(WriteCacheFormat, SizingFillsTheDeviceAsTheKernelDoes) {
  // 64 blocks of 4 KiB need one 4 KiB metadata block: 65 blocks in all.
  absl::StatusOr<Geometry> g = ComputeGeometry(65 * 4096, 4096);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->n_blocks, 64u);
  EXPECT_EQ(g->metadata_bytes, 4096u);
  EXPECT_EQ(g->DataSector(0), 8u);
  EXPECT_EQ(g->DataSector(3), 8u + 24u);
  // One byte less and the last block no longer fits.
  EXPECT_EQ(ComputeGeometry(65 * 4096 - 1, 4096)->n_blocks, 63u);
  // 512-byte blocks: 64 + 16n rounded up to 512, plus n*512.
  for (uint64_t bytes : {uint64_t{1024}, uint64_t{100000}, uint64_t{1} << 30}) {
    absl::StatusOr<Geometry> s = ComputeGeometry(bytes, 512);
    ASSERT_TRUE(s.ok());
    EXPECT_LE(s->metadata_bytes + s->n_blocks * 512, bytes);
    EXPECT_GT(MetadataBytes(s->n_blocks + 1, 512) + (s->n_blocks + 1) * 512, bytes);
    EXPECT_EQ(s->metadata_bytes % 512, 0u);
  }
}

TEST(WriteCacheFormat, ACacheThatHoldsNoBlockIsRejected) {
  EXPECT_EQ(ComputeGeometry(4096 + 16, 4096).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ComputeGeometry(0, 512).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(ComputeGeometry(1024, 512).ok());
}

TEST(WriteCacheFormat, BlockSizeMustBeAPowerOfTwoFrom512To4096) {
  for (uint32_t ok : {512u, 1024u, 2048u, 4096u}) EXPECT_TRUE(ValidBlockSize(ok)) << ok;
  for (uint32_t bad : {0u, 256u, 768u, 1000u, 8192u}) {
    EXPECT_FALSE(ValidBlockSize(bad)) << bad;
    EXPECT_EQ(ComputeGeometry(1 << 20, bad).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(WriteCacheFormat, AFormattedAreaHasEveryFieldButTheMagic) {
  const Geometry g = *ComputeGeometry(65 * 4096, 4096);
  std::vector<std::byte> area = FormattedMetadata(g);
  ASSERT_EQ(area.size(), g.metadata_bytes);
  const Superblock sb = DecodeSuperblock(area);
  EXPECT_EQ(sb.magic, 0u);
  EXPECT_EQ(sb.version, kVersion);
  EXPECT_EQ(sb.block_size, 4096u);
  EXPECT_EQ(sb.n_blocks, 64u);
  EXPECT_EQ(sb.seq_count, 0u);
  EXPECT_FALSE(ParseMetadata(area).ok());  // no magic yet
  StoreU32(area, kMagicOffset, kMagic);
  absl::StatusOr<ParsedMetadata> parsed = ParseMetadata(area);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->entries.size(), 64u);
  for (const MemoryEntry& e : parsed->entries) {
    EXPECT_EQ(e.seq_count, kFreeSeq);
    EXPECT_EQ(e.original_sector, kFreeSeq);
    EXPECT_FALSE(parsed->IsCommitted(e));
  }
  // Padding after the last entry is zero.
  for (uint64_t i = Geometry::EntryOffset(64); i < area.size(); ++i) EXPECT_EQ(area[i], std::byte{0});
}

TEST(WriteCacheFormat, ParsingRejectsForeignOrTruncatedAreas) {
  const Geometry g = *ComputeGeometry(65 * 4096, 4096);
  std::vector<std::byte> area = FormattedMetadata(g);
  StoreU32(area, kMagicOffset, kMagic);
  EXPECT_FALSE(ParseMetadata(std::span<const std::byte>(area).first(1000)).ok());
  StoreU32(area, 4, 2);
  EXPECT_FALSE(ParseMetadata(area).ok());
  StoreU32(area, 4, kVersion);
  StoreU64(area, 16, 0);
  EXPECT_FALSE(ParseMetadata(area).ok());
}

TEST(WriteCacheFormat, AnEntryIsCommittedIffItsSeqIsBelowTheSuperblocks) {
  ParsedMetadata m;
  m.superblock.seq_count = 5;
  EXPECT_TRUE(m.IsCommitted(MemoryEntry{0, 4}));
  EXPECT_FALSE(m.IsCommitted(MemoryEntry{0, 5}));
  EXPECT_FALSE(m.IsCommitted(MemoryEntry{0, kFreeSeq}));
}

}  // namespace
}  // namespace powercut::writecache
