// Self-describing sector contents (sector_stamp.h).
//
// The body is a pure function of the header, so checking a sector is regenerating its
// stamp from the header it names and comparing: no serial hash chain, just 64
// independent word operations per 512-byte sector (stamping is the same loop).
#include "harness/sector_stamp.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/io/block_device.h"

namespace powercut::verifier {
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

// Body word j is check + kBody[j]: independent per word, so loops over it vectorize.
constexpr std::array<uint64_t, kWords> kBody = [] {
  std::array<uint64_t, kWords> body{};
  for (size_t j = kBodyWord; j < kWords; ++j) body[j] = j * kStride;
  return body;
}();

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
    for (size_t j = kBodyWord; j < kWords; ++j) PutWord(sector, j, check + kBody[j]);
  }
}

DecodedSector DecodeSector(std::span<const std::byte> bytes, uint64_t sector) {
  DecodedSector out;
  const std::byte* p = bytes.data();
  if (Word(p, 0) != kMagic) {
    // Zeroes, or garbage. Four independent accumulators, not one chain of 64 ORs.
    uint64_t any[4] = {0, 0, 0, 0};
    for (size_t j = 0; j < kWords; j += 4) {
      for (size_t k = 0; k < 4; ++k) any[k] |= Word(p, j + k);
    }
    if ((any[0] | any[1] | any[2] | any[3]) != 0) out.kind = SectorKind::kGarbage;
    return out;
  }
  const uint64_t write_id = Word(p, 1);
  const uint64_t target = Word(p, 2);
  const uint64_t check = CheckWord(write_id, target);
  // Every word must be the stamp's: one differing bit anywhere makes it garbage
  // (word - kBody[j] == check for every body word j, modulo 2^64).
  // Four independent accumulators, as for the zero test.
  static_assert((kWords - kBodyWord) % 4 == 0);
  uint64_t d0 = Word(p, 3) ^ check, d1 = 0, d2 = 0, d3 = 0;
  for (size_t j = kBodyWord; j < kWords; j += 4) {
    d0 |= (Word(p, j) - kBody[j]) ^ check;
    d1 |= (Word(p, j + 1) - kBody[j + 1]) ^ check;
    d2 |= (Word(p, j + 2) - kBody[j + 2]) ^ check;
    d3 |= (Word(p, j + 3) - kBody[j + 3]) ^ check;
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

}  // namespace powercut::verifier
