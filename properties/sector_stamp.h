// Self-describing sector contents.
//
// Every sector a workload writes carries who wrote it and where it belongs, so the
// oracle can tell, from a recovered image alone, which write a sector came from, or
// that it is garbage (torn inside a sector, corrupted) or foreign (written for another
// sector: a misdirected or misplaced write). Layout (little-endian, 512 bytes):
//     0  u64  magic "PCSTAMP1"
//     8  u64  write id (>= 1)
//    16  u64  target sector (logical sector of the device under test)
//    24  ...  filler derived from (write id, sector)
//   504  u64  checksum of bytes [0, 504)
// An all-zero sector is "never written" (or discarded).
#ifndef POWERCUT_PROPERTIES_SECTOR_STAMP_H_
#define POWERCUT_PROPERTIES_SECTOR_STAMP_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace powercut::props {

enum class SectorKind { kZero, kStamped, kForeign, kGarbage };

struct DecodedSector {
  SectorKind kind = SectorKind::kZero;
  uint64_t write_id = 0;       // kStamped, kForeign
  uint64_t target_sector = 0;  // kStamped, kForeign: where the data belongs

  std::string Describe() const;
};

// Fills `buffer` (a multiple of 512 bytes) with the stamps of `write_id` for sectors
// first_sector, first_sector + 1, ...
void StampWrite(uint64_t write_id, uint64_t first_sector, std::span<std::byte> buffer);

// Decodes one 512-byte sector read back from logical sector `sector`.
DecodedSector DecodeSector(std::span<const std::byte> bytes, uint64_t sector);

}  // namespace powercut::props

#endif  // POWERCUT_PROPERTIES_SECTOR_STAMP_H_
