// The on-disk format of the copy-on-write store (cow_store.h): the layout of its one
// device and the encoding of its three kinds of metadata. Every field is little-endian
// and every metadata sector carries a CRC-32C, so a torn, stale or foreign sector is
// recognised instead of trusted.
//
// Layout, in 512-byte sectors (every area starts on a 4 KiB block):
//   0                 superblock slot 0 (one sector used)
//   8                 superblock slot 1
//   16                journal: `journal_sectors` records, one per sector
//   TableStart(0)     mapping table area 0
//   TableStart(1)     mapping table area 1
//   DataStart()       `physical_blocks` data blocks of 4 KiB
// The superblock of generation g lives in slot g % 2 and names the table in area g % 2;
// the newest valid superblock wins. A journal record is one sector: up to
// kMappingsPerRecord (logical block -> physical block) changes, the generation it
// belongs to and its sequence number. Recovery applies the records that follow the
// superblock's first sequence number without a gap.
//
// Threading: pure functions and values; thread-compatible.
#ifndef COW_STORE_COW_FORMAT_H_
#define COW_STORE_COW_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace cowstore {

inline constexpr uint64_t kSectorBytes = 512;
inline constexpr uint64_t kBlockSectors = 8;
inline constexpr uint64_t kBlockBytes = kBlockSectors * kSectorBytes;
// The physical block of a logical block that holds nothing (never written, discarded).
inline constexpr uint64_t kUnmapped = ~uint64_t{0};
inline constexpr uint64_t kRecordHeaderBytes = 32;
inline constexpr uint64_t kMappingBytes = 16;
inline constexpr uint64_t kMappingsPerRecord = (kSectorBytes - kRecordHeaderBytes) / kMappingBytes;

// CRC-32C (Castagnoli) of `bytes`.
uint32_t Crc32c(std::span<const std::byte> bytes);

class Geometry {
 public:
  // InvalidArgument unless logical_sectors is a non-zero multiple of kBlockSectors and
  // journal_sectors and spare_blocks are non-zero.
  static absl::StatusOr<Geometry> Make(uint64_t logical_sectors, uint64_t journal_sectors,
                                       uint64_t spare_blocks);

  uint64_t logical_blocks() const { return logical_blocks_; }
  uint64_t physical_blocks() const { return physical_blocks_; }
  uint64_t journal_sectors() const { return journal_sectors_; }

  static uint64_t SuperblockSector(uint64_t generation) { return (generation % 2) * kBlockSectors; }
  static uint64_t JournalStart() { return 2 * kBlockSectors; }
  uint64_t TableSectors() const;
  uint64_t TableStart(uint64_t generation) const;
  uint64_t DataStart() const;
  uint64_t PhysicalSector(uint64_t physical_block) const {
    return DataStart() + physical_block * kBlockSectors;
  }
  // The size of the device the store needs.
  uint64_t DeviceSectors() const;

 private:
  Geometry(uint64_t logical_blocks, uint64_t journal_sectors, uint64_t physical_blocks)
      : logical_blocks_(logical_blocks),
        journal_sectors_(journal_sectors),
        physical_blocks_(physical_blocks) {}

  uint64_t logical_blocks_;
  uint64_t journal_sectors_;
  uint64_t physical_blocks_;
};

struct Superblock {
  uint64_t generation = 0;
  uint64_t logical_blocks = 0;
  uint64_t physical_blocks = 0;
  uint64_t journal_sectors = 0;
  uint64_t journal_first_seq = 0;  // the sequence number of journal sector 0
  uint32_t table_crc = 0;          // Crc32c of the whole table area it names

  bool operator==(const Superblock&) const = default;
};

struct Mapping {
  uint64_t logical = 0;
  uint64_t physical = kUnmapped;

  bool operator==(const Mapping&) const = default;
};

struct JournalRecord {
  uint64_t generation = 0;
  uint64_t seq = 0;
  std::vector<Mapping> mappings;  // 1 .. kMappingsPerRecord, applied in order

  bool operator==(const JournalRecord&) const = default;
};

// REQUIRES: `sector` is kSectorBytes long.
void EncodeSuperblock(const Superblock& superblock, std::span<std::byte> sector);
// DataLoss for a sector that is not a superblock (wrong magic or checksum).
absl::StatusOr<Superblock> DecodeSuperblock(std::span<const std::byte> sector);

// REQUIRES: `sector` is kSectorBytes long; 1 <= mappings <= kMappingsPerRecord.
void EncodeJournalRecord(const JournalRecord& record, std::span<std::byte> sector);
// DataLoss for a sector that is not a journal record (magic, count or checksum).
absl::StatusOr<JournalRecord> DecodeJournalRecord(std::span<const std::byte> sector);

// The table area of `geometry` holding `map` (one physical block per logical block).
// REQUIRES: map.size() == geometry.logical_blocks().
std::vector<std::byte> EncodeTable(const Geometry& geometry, const std::vector<uint64_t>& map);
// The map in a table area; DataLoss if its checksum is not `crc` or an entry names a
// physical block outside the geometry.
absl::StatusOr<std::vector<uint64_t>> DecodeTable(const Geometry& geometry,
                                                  std::span<const std::byte> area, uint32_t crc);

}  // namespace cowstore

#endif  // COW_STORE_COW_FORMAT_H_
