// Unit tests of the store's on-disk encoding (cow_format.h): round trips, and that a
// damaged, torn or foreign sector is refused rather than trusted.
#include "cow_format.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace cowstore {
namespace {

std::vector<std::byte> Bytes(const char* text) {
  std::vector<std::byte> bytes(std::strlen(text));
  std::memcpy(bytes.data(), text, bytes.size());
  return bytes;
}

TEST(Crc32cTest, KnownValue) {
  // The CRC-32C check value (RFC 3720, B.4).
  EXPECT_EQ(Crc32c(Bytes("123456789")), 0xe3069283u);
}

TEST(GeometryTest, AreasDoNotOverlap) {
  absl::StatusOr<Geometry> geometry = Geometry::Make(/*logical_sectors=*/4096, 9, 16);
  ASSERT_TRUE(geometry.ok());
  EXPECT_EQ(geometry->logical_blocks(), 512u);
  EXPECT_EQ(geometry->physical_blocks(), 528u);
  EXPECT_EQ(Geometry::SuperblockSector(2), 0u);
  EXPECT_EQ(Geometry::SuperblockSector(3), 8u);
  EXPECT_EQ(geometry->TableSectors(), 8u);  // 512 entries of 8 bytes
  EXPECT_EQ(geometry->TableStart(0), 16u + 16u);  // 9 journal sectors round up to 16
  EXPECT_EQ(geometry->TableStart(1), 40u);
  EXPECT_EQ(geometry->DataStart(), 48u);
  EXPECT_EQ(geometry->DeviceSectors(), 48u + 528u * 8);
}

TEST(GeometryTest, RejectsUnalignedOrEmpty) {
  EXPECT_EQ(Geometry::Make(4095, 8, 8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Geometry::Make(0, 8, 8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Geometry::Make(64, 0, 8).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Geometry::Make(64, 8, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SuperblockTest, RoundTripsAndRefusesDamage) {
  const Superblock superblock{.generation = 7,
                              .logical_blocks = 64,
                              .physical_blocks = 80,
                              .journal_sectors = 4,
                              .journal_first_seq = 123,
                              .table_crc = 0xdeadbeef};
  std::vector<std::byte> sector(kSectorBytes);
  EncodeSuperblock(superblock, sector);
  absl::StatusOr<Superblock> decoded = DecodeSuperblock(sector);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, superblock);

  sector[20] ^= std::byte{1};
  EXPECT_EQ(DecodeSuperblock(sector).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeSuperblock(std::vector<std::byte>(kSectorBytes)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(JournalRecordTest, RoundTripsAFullRecord) {
  JournalRecord record{.generation = 3, .seq = 99};
  for (uint64_t i = 0; i < kMappingsPerRecord; ++i) {
    record.mappings.push_back({i, i % 3 == 0 ? kUnmapped : 1000 + i});
  }
  std::vector<std::byte> sector(kSectorBytes);
  EncodeJournalRecord(record, sector);
  absl::StatusOr<JournalRecord> decoded = DecodeJournalRecord(sector);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, record);
}

TEST(JournalRecordTest, RefusesDamagedAndBlankSectors) {
  JournalRecord record{.generation = 1, .seq = 1, .mappings = {{5, 6}}};
  std::vector<std::byte> sector(kSectorBytes);
  EncodeJournalRecord(record, sector);
  std::vector<std::byte> damaged = sector;
  damaged[kRecordHeaderBytes + 8] ^= std::byte{0x80};  // the physical block of mapping 0
  EXPECT_EQ(DecodeJournalRecord(damaged).status().code(), absl::StatusCode::kDataLoss);
  std::vector<std::byte> uncounted = sector;
  uncounted[4] = std::byte{0};  // count 0
  EXPECT_EQ(DecodeJournalRecord(uncounted).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeJournalRecord(std::vector<std::byte>(kSectorBytes)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(TableTest, RoundTripsAndChecksRange) {
  absl::StatusOr<Geometry> geometry = Geometry::Make(64, 1, 4);  // 8 logical, 12 physical
  ASSERT_TRUE(geometry.ok());
  std::vector<uint64_t> map = {0, kUnmapped, 11, 3, kUnmapped, 5, 6, 7};
  std::vector<std::byte> area = EncodeTable(*geometry, map);
  ASSERT_EQ(area.size(), geometry->TableSectors() * kSectorBytes);
  absl::StatusOr<std::vector<uint64_t>> decoded = DecodeTable(*geometry, area, Crc32c(area));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, map);
  EXPECT_EQ(DecodeTable(*geometry, area, Crc32c(area) ^ 1).status().code(),
            absl::StatusCode::kDataLoss);

  map[0] = 12;  // one past the last physical block
  area = EncodeTable(*geometry, map);
  EXPECT_EQ(DecodeTable(*geometry, area, Crc32c(area)).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cowstore
