#include "properties/sector_stamp.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/io/block_device.h"
#include "sim/prng.h"

namespace powercut::props {
namespace {

constexpr uint64_t kMagic = 0x31504d4154534350ull;  // "PCSTAMP1"
constexpr size_t kChecksumOffset = io::kSectorSize - 8;

uint64_t Load64(const std::byte* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void Store64(std::byte* p, uint64_t v) { std::memcpy(p, &v, 8); }

uint64_t Checksum(const std::byte* sector) {
  uint64_t hash = 0x9ae16a3b2f90404full;
  for (size_t i = 0; i < kChecksumOffset; i += 8) hash = sim::Mix64(hash ^ Load64(sector + i));
  return hash;
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
    Store64(sector, kMagic);
    Store64(sector + 8, write_id);
    Store64(sector + 16, target);
    uint64_t filler = sim::Mix64(write_id * 0x9e3779b97f4a7c15ull ^ target);
    for (size_t i = 24; i < kChecksumOffset; i += 8) {
      filler = sim::Mix64(filler + i);
      Store64(sector + i, filler);
    }
    Store64(sector + kChecksumOffset, Checksum(sector));
  }
}

DecodedSector DecodeSector(std::span<const std::byte> bytes, uint64_t sector) {
  DecodedSector out;
  const std::byte* p = bytes.data();
  bool zero = true;
  for (size_t i = 0; i < io::kSectorSize && zero; i += 8) zero = Load64(p + i) == 0;
  if (zero) return out;
  if (Load64(p) != kMagic || Load64(p + kChecksumOffset) != Checksum(p) || Load64(p + 8) == 0) {
    out.kind = SectorKind::kGarbage;
    return out;
  }
  out.write_id = Load64(p + 8);
  out.target_sector = Load64(p + 16);
  out.kind = out.target_sector == sector ? SectorKind::kStamped : SectorKind::kForeign;
  return out;
}

}  // namespace powercut::props
