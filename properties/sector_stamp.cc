// Self-describing sector contents (sector_stamp.h).
//
// The body is a pure function of the header, so checking a sector is regenerating its
// stamp from the header it names and comparing: no serial hash chain, just 64
// independent word operations per 512-byte sector (stamping is the same loop).
#include "properties/sector_stamp.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/io/block_device.h"

namespace powercut::props {
namespace {

constexpr uint64_t kMagic = 0x32504d4154534350ull;  // "PCSTAMP2"
constexpr size_t kWords = io::kSectorSize / 8;
constexpr size_t kBodyWord = 4;                     // words [4, 64) are the body
constexpr uint64_t kStride = 0x9e3779b97f4a7c15ull;  // odd: word j differs for every j

inline uint64_t Word(const std::byte* sector, size_t j) {
  uint64_t v;
  std::memcpy(&v, sector + 8 * j, 8);
  return v;
}
inline void PutWord(std::byte* sector, size_t j, uint64_t v) { std::memcpy(sector + 8 * j, &v, 8); }

// The header's check word: a keyed multiply-xorshift hash of (write id, target sector).
inline uint64_t CheckWord(uint64_t write_id, uint64_t target) {
  uint64_t h = (write_id ^ kMagic) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 31)) + target;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 29);
}

}  // namespace

std::string DecodedSector::Describe() const {
  switch (kind) {
    case SectorKind::kZero:
      return "zeroes (never written, or discarded)";
    case SectorKind::kStamped:
      return absl::StrCat("data of write #", write_id);
    case SectorKind::kForeign:
      return absl::StrCat("data of write #", write_id, " meant for sector ", target_sector);
    case SectorKind::kGarbage:
      return "garbage (no valid stamp: torn or corrupted inside the sector)";
  }
  return "?";
}

void StampWrite(uint64_t write_id, uint64_t first_sector, std::span<std::byte> buffer) {
  for (size_t offset = 0; offset + io::kSectorSize <= buffer.size(); offset += io::kSectorSize) {
    std::byte* sector = buffer.data() + offset;
    const uint64_t target = first_sector + offset / io::kSectorSize;
    const uint64_t check = CheckWord(write_id, target);
    PutWord(sector, 0, kMagic);
    PutWord(sector, 1, write_id);
    PutWord(sector, 2, target);
    PutWord(sector, 3, check);
    uint64_t word = check + kBodyWord * kStride;
    for (size_t j = kBodyWord; j < kWords; ++j, word += kStride) PutWord(sector, j, word);
  }
}

DecodedSector DecodeSector(std::span<const std::byte> bytes, uint64_t sector) {
  DecodedSector out;
  const std::byte* p = bytes.data();
  if (Word(p, 0) != kMagic) {
    // Zeroes, or garbage.
    uint64_t any = 0;
    for (size_t j = 0; j < kWords; ++j) any |= Word(p, j);
    if (any != 0) out.kind = SectorKind::kGarbage;
    return out;
  }
  const uint64_t write_id = Word(p, 1);
  const uint64_t target = Word(p, 2);
  const uint64_t check = CheckWord(write_id, target);
  // Every word must be the stamp's: one differing bit anywhere makes it garbage. Four
  // independent accumulators keep the comparison from being one serial chain.
  static_assert((kWords - kBodyWord) % 4 == 0);
  uint64_t d0 = Word(p, 3) ^ check, d1 = 0, d2 = 0, d3 = 0;
  uint64_t word = check + kBodyWord * kStride;
  for (size_t j = kBodyWord; j < kWords; j += 4, word += 4 * kStride) {
    d0 |= Word(p, j) ^ word;
    d1 |= Word(p, j + 1) ^ (word + kStride);
    d2 |= Word(p, j + 2) ^ (word + 2 * kStride);
    d3 |= Word(p, j + 3) ^ (word + 3 * kStride);
  }
  if ((d0 | d1 | d2 | d3) != 0 || write_id == 0) {
    out.kind = SectorKind::kGarbage;
    return out;
  }
  out.write_id = write_id;
  out.target_sector = target;
  out.kind = target == sector ? SectorKind::kStamped : SectorKind::kForeign;
  return out;
}

}  // namespace powercut::props
