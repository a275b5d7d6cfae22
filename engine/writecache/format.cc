// The on-media layout of the write-back cache: sizing, encoding and parsing (format.h).
#include "engine/writecache/format.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace powercut::writecache {

bool ValidBlockSize(uint64_t block_size) {
  return block_size >= 512 && block_size <= 4096 && (block_size & (block_size - 1)) == 0;
}

uint64_t MetadataBytes(uint64_t n_blocks, uint32_t block_size) {
  const uint64_t raw = kSuperblockBytes + kEntryBytes * n_blocks;
  return (raw + block_size - 1) / block_size * block_size;
}

absl::StatusOr<Geometry> ComputeGeometry(uint64_t area_bytes, uint32_t block_size) {
  if (!ValidBlockSize(block_size)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid block size ", block_size));
  }
  uint64_t n_blocks = area_bytes / (block_size + kEntryBytes);
  // The division ignores the superblock and the rounding of the metadata area; shrink
  // until metadata + data really fit.
  while (n_blocks > 0 && MetadataBytes(n_blocks, block_size) + n_blocks * block_size > area_bytes) {
    --n_blocks;
  }
  if (n_blocks == 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "invalid device size: ", area_bytes, " bytes hold no ", block_size, "-byte cache block"));
  }
  return Geometry{block_size, n_blocks, MetadataBytes(n_blocks, block_size)};
}

absl::StatusOr<Geometry> GeometryFor(uint64_t n_blocks, uint32_t block_size) {
  if (!ValidBlockSize(block_size)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid block size ", block_size));
  }
  // Reject sizes whose byte counts overflow 64 bits (a corrupt superblock).
  if (n_blocks == 0 || n_blocks > (uint64_t{1} << 48)) {
    return absl::InvalidArgumentError(absl::StrCat("overflow in size calculation: n_blocks ", n_blocks));
  }
  return Geometry{block_size, n_blocks, MetadataBytes(n_blocks, block_size)};
}

void EncodeSuperblock(const Superblock& sb, std::span<std::byte> bytes) {
  std::memset(bytes.data(), 0, kSuperblockBytes);
  StoreU32(bytes, 0, sb.magic);
  StoreU32(bytes, 4, sb.version);
  StoreU32(bytes, 8, sb.block_size);
  StoreU32(bytes, 12, sb.pad);
  StoreU64(bytes, 16, sb.n_blocks);
  StoreU64(bytes, kSeqCountOffset, sb.seq_count);
}

Superblock DecodeSuperblock(std::span<const std::byte> bytes) {
  Superblock sb;
  sb.magic = LoadU32(bytes, 0);
  sb.version = LoadU32(bytes, 4);
  sb.block_size = LoadU32(bytes, 8);
  sb.pad = LoadU32(bytes, 12);
  sb.n_blocks = LoadU64(bytes, 16);
  sb.seq_count = LoadU64(bytes, kSeqCountOffset);
  return sb;
}

void EncodeEntry(const MemoryEntry& entry, std::span<std::byte> bytes) {
  StoreU64(bytes, 0, entry.original_sector);
  StoreU64(bytes, 8, entry.seq_count);
}

MemoryEntry DecodeEntry(std::span<const std::byte> bytes) {
  return MemoryEntry{LoadU64(bytes, 0), LoadU64(bytes, 8)};
}

std::vector<std::byte> FormattedMetadata(const Geometry& geometry) {
  std::vector<std::byte> area(geometry.metadata_bytes, std::byte{0});
  Superblock sb;
  sb.magic = 0;  // written last, after a flush (see format.h)
  sb.version = kVersion;
  sb.block_size = geometry.block_size;
  sb.n_blocks = geometry.n_blocks;
  sb.seq_count = 0;
  EncodeSuperblock(sb, area);
  const MemoryEntry free_entry;
  for (uint64_t i = 0; i < geometry.n_blocks; ++i) {
    EncodeEntry(free_entry, std::span<std::byte>(area).subspan(Geometry::EntryOffset(i), kEntryBytes));
  }
  return area;
}

absl::StatusOr<ParsedMetadata> ParseMetadata(std::span<const std::byte> metadata) {
  if (metadata.size() < kSuperblockBytes) {
    return absl::InvalidArgumentError("metadata area shorter than the superblock");
  }
  ParsedMetadata parsed;
  parsed.superblock = DecodeSuperblock(metadata);
  const Superblock& sb = parsed.superblock;
  if (sb.magic != kMagic) {
    return absl::InvalidArgumentError(absl::StrCat("invalid magic 0x", absl::Hex(sb.magic)));
  }
  if (sb.version != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("invalid version ", sb.version));
  }
  absl::StatusOr<Geometry> geometry = GeometryFor(sb.n_blocks, sb.block_size);
  if (!geometry.ok()) return geometry.status();
  if (metadata.size() < geometry->metadata_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("metadata area of ", metadata.size(),
                                                   " bytes is shorter than the ",
                                                   geometry->metadata_bytes, " it needs"));
  }
  parsed.entries.reserve(sb.n_blocks);
  for (uint64_t i = 0; i < sb.n_blocks; ++i) {
    parsed.entries.push_back(DecodeEntry(metadata.subspan(Geometry::EntryOffset(i), kEntryBytes)));
  }
  return parsed;
}

}  // namespace powercut::writecache
