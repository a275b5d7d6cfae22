// Encoding and decoding of the store's metadata (cow_format.h).
#include "cow_format.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/io/little_endian.h"

namespace cowstore {
namespace {

using powercut::io::LoadLe;
using powercut::io::StoreLe;

constexpr uint64_t kSuperblockMagic = 0x3142535453574f43;  // "COWSTSB1"
constexpr uint32_t kRecordMagic = 0x4e524a43;              // "CJRN"

// Superblock fields.
constexpr size_t kSbMagic = 0;
constexpr size_t kSbGeneration = 8;
constexpr size_t kSbLogicalBlocks = 16;
constexpr size_t kSbPhysicalBlocks = 24;
constexpr size_t kSbJournalSectors = 32;
constexpr size_t kSbJournalFirstSeq = 40;
constexpr size_t kSbTableCrc = 48;
constexpr size_t kSbCrc = 52;

// Journal record header fields; mappings follow at kRecordHeaderBytes.
constexpr size_t kRecMagic = 0;
constexpr size_t kRecCount = 4;
constexpr size_t kRecGeneration = 8;
constexpr size_t kRecSeq = 16;
constexpr size_t kRecCrc = 24;

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0);
    table[i] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

uint64_t RoundUpToBlock(uint64_t sectors) {
  return (sectors + kBlockSectors - 1) / kBlockSectors * kBlockSectors;
}

// The checksum of a metadata sector: its CRC with the 4 bytes at `crc_offset` as zero.
uint32_t SectorCrc(std::span<const std::byte> sector, size_t crc_offset) {
  std::array<std::byte, kSectorBytes> copy;
  std::memcpy(copy.data(), sector.data(), kSectorBytes);
  std::memset(copy.data() + crc_offset, 0, 4);
  return Crc32c(copy);
}

}  // namespace

uint32_t Crc32c(std::span<const std::byte> bytes) {
  uint32_t crc = ~0u;
  for (std::byte b : bytes) crc = (crc >> 8) ^ kCrcTable[(crc ^ static_cast<uint32_t>(b)) & 0xff];
  return ~crc;
}

absl::StatusOr<Geometry> Geometry::Make(uint64_t logical_sectors, uint64_t journal_sectors,
                                        uint64_t spare_blocks) {
  if (logical_sectors == 0 || logical_sectors % kBlockSectors != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cow: logical_sectors (", logical_sectors, ") must be a non-zero multiple of ",
        kBlockSectors));
  }
  if (journal_sectors == 0 || spare_blocks == 0) {
    return absl::InvalidArgumentError("cow: journal_sectors and spare_blocks must be non-zero");
  }
  const uint64_t logical_blocks = logical_sectors / kBlockSectors;
  return Geometry(logical_blocks, journal_sectors, logical_blocks + spare_blocks);
}

uint64_t Geometry::TableSectors() const {
  return RoundUpToBlock((logical_blocks_ * 8 + kSectorBytes - 1) / kSectorBytes);
}

uint64_t Geometry::TableStart(uint64_t generation) const {
  return JournalStart() + RoundUpToBlock(journal_sectors_) + (generation % 2) * TableSectors();
}

uint64_t Geometry::DataStart() const { return TableStart(0) + 2 * TableSectors(); }

uint64_t Geometry::DeviceSectors() const { return PhysicalSector(physical_blocks_); }

void EncodeSuperblock(const Superblock& superblock, std::span<std::byte> sector) {
  std::memset(sector.data(), 0, kSectorBytes);
  StoreLe<uint64_t>(sector, kSbMagic, kSuperblockMagic);
  StoreLe<uint64_t>(sector, kSbGeneration, superblock.generation);
  StoreLe<uint64_t>(sector, kSbLogicalBlocks, superblock.logical_blocks);
  StoreLe<uint64_t>(sector, kSbPhysicalBlocks, superblock.physical_blocks);
  StoreLe<uint64_t>(sector, kSbJournalSectors, superblock.journal_sectors);
  StoreLe<uint64_t>(sector, kSbJournalFirstSeq, superblock.journal_first_seq);
  StoreLe<uint32_t>(sector, kSbTableCrc, superblock.table_crc);
  StoreLe<uint32_t>(sector, kSbCrc, SectorCrc(sector, kSbCrc));
}

absl::StatusOr<Superblock> DecodeSuperblock(std::span<const std::byte> sector) {
  if (LoadLe<uint64_t>(sector, kSbMagic) != kSuperblockMagic) {
    return absl::DataLossError("cow: no superblock magic");
  }
  if (LoadLe<uint32_t>(sector, kSbCrc) != SectorCrc(sector, kSbCrc)) {
    return absl::DataLossError("cow: superblock checksum mismatch");
  }
  return Superblock{.generation = LoadLe<uint64_t>(sector, kSbGeneration),
                    .logical_blocks = LoadLe<uint64_t>(sector, kSbLogicalBlocks),
                    .physical_blocks = LoadLe<uint64_t>(sector, kSbPhysicalBlocks),
                    .journal_sectors = LoadLe<uint64_t>(sector, kSbJournalSectors),
                    .journal_first_seq = LoadLe<uint64_t>(sector, kSbJournalFirstSeq),
                    .table_crc = LoadLe<uint32_t>(sector, kSbTableCrc)};
}

void EncodeJournalRecord(const JournalRecord& record, std::span<std::byte> sector) {
  std::memset(sector.data(), 0, kSectorBytes);
  StoreLe<uint32_t>(sector, kRecMagic, kRecordMagic);
  StoreLe<uint32_t>(sector, kRecCount, static_cast<uint32_t>(record.mappings.size()));
  StoreLe<uint64_t>(sector, kRecGeneration, record.generation);
  StoreLe<uint64_t>(sector, kRecSeq, record.seq);
  for (size_t i = 0; i < record.mappings.size(); ++i) {
    const size_t at = kRecordHeaderBytes + i * kMappingBytes;
    StoreLe<uint64_t>(sector, at, record.mappings[i].logical);
    StoreLe<uint64_t>(sector, at + 8, record.mappings[i].physical);
  }
  StoreLe<uint32_t>(sector, kRecCrc, SectorCrc(sector, kRecCrc));
}

absl::StatusOr<JournalRecord> DecodeJournalRecord(std::span<const std::byte> sector) {
  if (LoadLe<uint32_t>(sector, kRecMagic) != kRecordMagic) {
    return absl::DataLossError("cow: no journal record magic");
  }
  const uint32_t count = LoadLe<uint32_t>(sector, kRecCount);
  if (count == 0 || count > kMappingsPerRecord) {
    return absl::DataLossError(absl::StrCat("cow: journal record of ", count, " mappings"));
  }
  if (LoadLe<uint32_t>(sector, kRecCrc) != SectorCrc(sector, kRecCrc)) {
    return absl::DataLossError("cow: journal record checksum mismatch");
  }
  JournalRecord record{.generation = LoadLe<uint64_t>(sector, kRecGeneration),
                       .seq = LoadLe<uint64_t>(sector, kRecSeq)};
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = kRecordHeaderBytes + i * kMappingBytes;
    record.mappings.push_back({LoadLe<uint64_t>(sector, at), LoadLe<uint64_t>(sector, at + 8)});
  }
  return record;
}

std::vector<std::byte> EncodeTable(const Geometry& geometry, const std::vector<uint64_t>& map) {
  std::vector<std::byte> area(geometry.TableSectors() * kSectorBytes);
  for (size_t i = 0; i < map.size(); ++i) StoreLe<uint64_t>(area, i * 8, map[i]);
  return area;
}

absl::StatusOr<std::vector<uint64_t>> DecodeTable(const Geometry& geometry,
                                                  std::span<const std::byte> area, uint32_t crc) {
  if (Crc32c(area) != crc) return absl::DataLossError("cow: mapping table checksum mismatch");
  std::vector<uint64_t> map(geometry.logical_blocks());
  for (size_t i = 0; i < map.size(); ++i) {
    map[i] = LoadLe<uint64_t>(area, i * 8);
    if (map[i] != kUnmapped && map[i] >= geometry.physical_blocks()) {
      return absl::DataLossError(
          absl::StrCat("cow: table maps logical block ", i, " to physical block ", map[i],
                       " of ", geometry.physical_blocks()));
    }
  }
  return map;
}

}  // namespace cowstore
