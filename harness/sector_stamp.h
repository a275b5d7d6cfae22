// Self-describing sector contents.
//
// Every sector a workload writes carries who wrote it and where it belongs, so the
// oracle can tell, from a recovered image alone, which write a sector came from, or
// that it is garbage (torn inside a sector, corrupted) or foreign (written for another
// sector: a misdirected or misplaced write). Layout (64-bit words, host order, which is
// little-endian on every machine powercut runs on; 512 bytes):
//     word 0       magic "PCSTAMP2"
//     word 1       write id (>= 1)
//     word 2       target sector (logical sector of the device under test)
//     word 3       check, a multiply-xorshift hash of (write id, target sector)
//     word j>=4    check + j * 0x9e3779b97f4a7c15
// The whole sector is a function of (write id, target sector): a sector is stamped iff
// it equals, bit for bit, the stamp its header names. So a flipped bit anywhere, a
// sector torn between two writes (their check words differ, hence every body word), or
// a header from one write over the body of another is garbage. Checking regenerates
// and compares, and both stamping and checking vectorize.
// An all-zero sector is "never written" (or discarded).
#ifndef POWERCUT_HARNESS_SECTOR_STAMP_H_
#define POWERCUT_HARNESS_SECTOR_STAMP_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace powercut::verifier {

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

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_SECTOR_STAMP_H_
