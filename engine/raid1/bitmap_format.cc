#include "engine/raid1/bitmap_format.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/io/little_endian.h"
#include "engine/mutant/mutant.h"

namespace powercut::raid1 {
namespace {

using io::LoadLe;
using io::StoreLe;

// Field offsets of bitmap_super_t (md-bitmap.h).
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 4;
constexpr size_t kOffUuid = 8;
constexpr size_t kOffEvents = 24;
constexpr size_t kOffEventsCleared = 32;
constexpr size_t kOffSyncSize = 40;
constexpr size_t kOffState = 48;
constexpr size_t kOffChunksize = 52;
constexpr size_t kOffDaemonSleep = 56;
constexpr size_t kOffWriteBehind = 60;
constexpr size_t kOffSectorsReserved = 64;
constexpr size_t kOffNodes = 68;
constexpr size_t kOffClusterName = 72;
static_assert(kOffClusterName + 64 == 136, "bitmap_super_t fields end at byte 136");

absl::Status Invalid(std::string_view field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "bitmap superblock: ", absl::string_view(field.data(), field.size()), ": ", why));
}

// ceil(a / b) without overflow.
uint64_t DivRoundUp(uint64_t a, uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

}  // namespace

absl::Status ValidateBitmapSuper(const BitmapSuper& sb) {
  if (sb.version == kBitmapVersionClustered) {
    return Invalid("version", "5 (clustered md) is not supported");
  }
  if (sb.version != kBitmapVersionHostEndian && sb.version != kBitmapVersion) {
    return Invalid("version", absl::StrCat(sb.version, " is not 3 or 4"));
  }
  if (sb.chunksize < kBitmapMinChunkSize) {
    return Invalid("chunksize", absl::StrCat(sb.chunksize, " bytes is below 512"));
  }
  if (!std::has_single_bit(sb.chunksize)) {
    return Invalid("chunksize", absl::StrCat(sb.chunksize, " bytes is not a power of two"));
  }
  if (sb.daemon_sleep < 1) return Invalid("daemon_sleep", "0 seconds (must be >= 1)");
  if (sb.write_behind > kBitmapMaxWriteBehind) {
    return Invalid("write_behind", absl::StrCat(sb.write_behind, " exceeds 16383"));
  }
  if (sb.nodes != 0) {
    return Invalid("nodes", absl::StrCat(sb.nodes, " cluster nodes in a version ", sb.version,
                                         " (non-clustered) bitmap"));
  }
  absl::StatusOr<BitmapGeometry> geometry = BitmapGeometry::For(sb.sync_size, sb.chunksize);
  if (!geometry.ok()) return geometry.status();
  if (sb.sectors_reserved != 0 && geometry->bytes > uint64_t{sb.sectors_reserved} * 512) {
    return Invalid("sectors_reserved",
                   absl::StrCat(sb.sectors_reserved, " sectors cannot hold the ", geometry->bytes,
                                "-byte bitmap of ", geometry->chunks, " chunks"));
  }
  return absl::OkStatus();
}

std::array<std::byte, kBitmapSuperSize> EncodeBitmapSuper(const BitmapSuper& sb) {
  std::array<std::byte, kBitmapSuperSize> out{};
  std::span<std::byte> bytes(out);
  StoreLe<uint32_t>(bytes, kOffMagic, kBitmapMagic);
  StoreLe<uint32_t>(bytes, kOffVersion, sb.version);
  std::memcpy(out.data() + kOffUuid, sb.uuid.data(), sb.uuid.size());
  StoreLe<uint64_t>(bytes, kOffEvents, sb.events);
  StoreLe<uint64_t>(bytes, kOffEventsCleared, sb.events_cleared);
  StoreLe<uint64_t>(bytes, kOffSyncSize, sb.sync_size);
  StoreLe<uint32_t>(bytes, kOffState, sb.state);
  StoreLe<uint32_t>(bytes, kOffChunksize, sb.chunksize);
  StoreLe<uint32_t>(bytes, kOffDaemonSleep, sb.daemon_sleep);
  StoreLe<uint32_t>(bytes, kOffWriteBehind, sb.write_behind);
  StoreLe<uint32_t>(bytes, kOffSectorsReserved, sb.sectors_reserved);
  StoreLe<uint32_t>(bytes, kOffNodes, sb.nodes);
  std::memcpy(out.data() + kOffClusterName, sb.cluster_name.data(), sb.cluster_name.size());
  return out;
}

absl::StatusOr<BitmapSuper> DecodeBitmapSuper(std::span<const std::byte> bytes) {
  if (bytes.size() < kBitmapSuperSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("bitmap superblock: truncated: ", bytes.size(), " of 256 bytes"));
  }
  const uint32_t magic = LoadLe<uint32_t>(bytes, kOffMagic);
  if (magic != kBitmapMagic) {
    return Invalid("magic", absl::StrFormat("0x%08x is not 0x6d746962 (\"bitm\")", magic));
  }
  BitmapSuper sb;
  sb.version = LoadLe<uint32_t>(bytes, kOffVersion);
  std::memcpy(sb.uuid.data(), bytes.data() + kOffUuid, sb.uuid.size());
  sb.events = LoadLe<uint64_t>(bytes, kOffEvents);
  sb.events_cleared = LoadLe<uint64_t>(bytes, kOffEventsCleared);
  sb.sync_size = LoadLe<uint64_t>(bytes, kOffSyncSize);
  sb.state = LoadLe<uint32_t>(bytes, kOffState);
  sb.chunksize = LoadLe<uint32_t>(bytes, kOffChunksize);
  sb.daemon_sleep = LoadLe<uint32_t>(bytes, kOffDaemonSleep);
  sb.write_behind = LoadLe<uint32_t>(bytes, kOffWriteBehind);
  sb.sectors_reserved = LoadLe<uint32_t>(bytes, kOffSectorsReserved);
  sb.nodes = LoadLe<uint32_t>(bytes, kOffNodes);
  std::memcpy(sb.cluster_name.data(), bytes.data() + kOffClusterName, sb.cluster_name.size());
  absl::Status valid = ValidateBitmapSuper(sb);
  if (!valid.ok()) return valid;
  return sb;
}

absl::StatusOr<BitmapGeometry> BitmapGeometry::For(uint64_t sync_sectors, uint32_t chunk_bytes) {
  if (chunk_bytes < kBitmapMinChunkSize || !std::has_single_bit(chunk_bytes)) {
    return Invalid("chunksize", absl::StrCat(chunk_bytes, " bytes is not a power of two >= 512"));
  }
  if (sync_sectors == 0) return Invalid("sync_size", "0 sectors (nothing to cover)");
  BitmapGeometry g;
  g.sync_sectors = sync_sectors;
  g.chunk_bytes = chunk_bytes;
  g.chunk_shift = static_cast<uint32_t>(std::countr_zero(chunk_bytes)) - 9;
  g.chunks = DivRoundUp(sync_sectors, g.sectors_per_chunk());
  if (g.chunks > kBitmapMaxChunks) {
    return Invalid("sync_size",
                   absl::StrCat(sync_sectors, " sectors in ", chunk_bytes, "-byte chunks is ",
                                g.chunks, " chunks, more than 2^31"));
  }
  g.bytes = kBitmapSuperSize + DivRoundUp(g.chunks, 8);
  g.pages = DivRoundUp(g.bytes, kBitmapPageSize);
  return g;
}

absl::StatusOr<BitmapGeometry> BitmapGeometry::For(const BitmapSuper& sb) {
  absl::Status valid = ValidateBitmapSuper(sb);
  if (!valid.ok()) return valid;
  return For(sb.sync_size, sb.chunksize);
}

uint64_t BitmapGeometry::SectorsInChunk(uint64_t chunk) const {
  const uint64_t first = FirstSectorOfChunk(chunk);
  return std::min(sectors_per_chunk(), sync_sectors - first);
}

uint8_t BitmapGeometry::MaskOfChunk(uint64_t chunk) const {
  if (POWERCUT_MUTANT(kBmMsbBitOrder)) return static_cast<uint8_t>(0x80u >> (chunk % 8));
  return static_cast<uint8_t>(1u << (chunk % 8));
}

uint64_t BitmapGeometry::BytesInPage(uint64_t page) const {
  const uint64_t start = page * kBitmapPageSize;
  if (start >= bytes) return 0;
  return std::min<uint64_t>(kBitmapPageSize, bytes - start);
}

absl::StatusOr<ByteRange> BitmapGeometry::PageWriteRange(uint64_t page, uint32_t logical_block_size,
                                                         uint64_t area_bytes) const {
  if (page >= pages) {
    return absl::InvalidArgumentError(
        absl::StrCat("bitmap: page ", page, " is past the last page ", pages - 1));
  }
  if (logical_block_size < 512 || logical_block_size > kBitmapPageSize ||
      !std::has_single_bit(logical_block_size)) {
    return absl::InvalidArgumentError(absl::StrCat("bitmap: logical block size ",
                                                   logical_block_size,
                                                   " is not a power of two in [512, 4096]"));
  }
  ByteRange range{.offset = page * kBitmapPageSize, .length = kBitmapPageSize};
  if (page == pages - 1) {
    const uint64_t used = BytesInPage(page);
    range.length = DivRoundUp(used, logical_block_size) * logical_block_size;
    if (POWERCUT_MUTANT(kBmWritePastArea)) return ByteRange{range.offset, kBitmapPageSize};
  }
  // I14: never past the area reserved for the bitmap (the kernel refuses such a write
  // with -EINVAL and marks the bitmap failed rather than touch data).
  if (area_bytes != 0 && range.end() > area_bytes) {
    return absl::OutOfRangeError(
        absl::StrCat("bitmap: writing page ", page, " as bytes [", range.offset, ", ", range.end(),
                     ") would run past the ", area_bytes, "-byte bitmap area"));
  }
  return range;
}

absl::StatusOr<std::vector<std::byte>> NewBitmapImage(const BitmapSuper& sb, bool all_dirty) {
  absl::StatusOr<BitmapGeometry> geometry = BitmapGeometry::For(sb);
  if (!geometry.ok()) return geometry.status();
  std::vector<std::byte> image(geometry->bytes, all_dirty ? std::byte{0xff} : std::byte{0});
  const auto super = EncodeBitmapSuper(sb);
  std::copy(super.begin(), super.end(), image.begin());
  return image;
}

bool TestChunkBit(const BitmapGeometry& geometry, std::span<const std::byte> image,
                  uint64_t chunk) {
  const uint8_t byte = static_cast<uint8_t>(image[geometry.ByteOfChunk(chunk)]);
  return (byte & geometry.MaskOfChunk(chunk)) != 0;
}

void SetChunkBit(const BitmapGeometry& geometry, std::span<std::byte> image, uint64_t chunk,
                 bool value) {
  std::byte& byte = image[geometry.ByteOfChunk(chunk)];
  const std::byte mask{geometry.MaskOfChunk(chunk)};
  byte = value ? (byte | mask) : (byte & ~mask);
}

uint64_t CountDirtyChunks(const BitmapGeometry& geometry, std::span<const std::byte> image) {
  const uint64_t full_bytes = geometry.chunks / 8;
  uint64_t dirty = 0;
  for (uint64_t i = 0; i < full_bytes; ++i) {
    dirty +=
        static_cast<uint64_t>(std::popcount(static_cast<uint8_t>(image[kBitmapSuperSize + i])));
  }
  for (uint64_t chunk = full_bytes * 8; chunk < geometry.chunks; ++chunk) {
    dirty += TestChunkBit(geometry, image, chunk) ? 1 : 0;
  }
  return dirty;
}

}  // namespace powercut::raid1
