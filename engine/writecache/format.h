// The on-media format of the write-back cache (dm-writecache, superblock version 1).
//
// Everything here is pure data layout: no IO, no engine state. The engine, the raw
// image checkers in properties/ and the inspection tools all read and write the cache
// device through these functions, so there is one definition of the format.
//
// Layout (little-endian), starting at `start_sector` of the cache device:
//
//   byte 0    superblock, 64 bytes: magic u32 0x23489321, version u32 1,
//             block_size u32 (bytes), pad u32 0, n_blocks u64, seq_count u64, zeroes
//   byte 64   entry i at 64 + 16*i: original_sector u64 (512-byte units, block
//             aligned), seq_count u64; seq_count == 2^64-1 means free
//   metadata  round_up(64 + 16*n_blocks, block_size) bytes in all
//   data      block i at metadata_bytes + i*block_size
//
// An entry is committed iff entry.seq_count < superblock.seq_count. Entries are 16-byte
// aligned, so none crosses a 512-byte sector and a torn metadata write never splits
// one. Formatting writes every field but the magic, flushes, then writes the magic and
// flushes again: a valid magic implies initialized entries.
//
// Threading: pure functions; thread-compatible.
#ifndef POWERCUT_ENGINE_WRITECACHE_FORMAT_H_
#define POWERCUT_ENGINE_WRITECACHE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/io/little_endian.h"

namespace powercut::writecache {

inline constexpr uint32_t kMagic = 0x23489321;
inline constexpr uint32_t kVersion = 1;
inline constexpr uint64_t kSuperblockBytes = 64;
inline constexpr uint64_t kEntryBytes = 16;
// seq_count (and original_sector) of a free entry.
inline constexpr uint64_t kFreeSeq = ~uint64_t{0};
// Offsets inside the superblock.
inline constexpr uint64_t kMagicOffset = 0;
inline constexpr uint64_t kSeqCountOffset = 24;
// The SSD-mode metadata copy is written back in regions of this many bytes (the
// kernel's dirty-bitmap granularity).
inline constexpr uint64_t kMetadataRegionBytes = 65536;
// The superblock commit write covers at least this many bytes (the kernel writes the
// first page with FUA).
inline constexpr uint64_t kSuperblockCommitBytes = 4096;

struct Superblock {
  uint32_t magic = 0;
  uint32_t version = 0;
  uint32_t block_size = 0;
  uint32_t pad = 0;
  uint64_t n_blocks = 0;
  uint64_t seq_count = 0;
  bool operator==(const Superblock&) const = default;
};

struct MemoryEntry {
  uint64_t original_sector = kFreeSeq;
  uint64_t seq_count = kFreeSeq;
  bool operator==(const MemoryEntry&) const = default;
};

// Where everything lives, for a cache area of `n_blocks` blocks.
struct Geometry {
  uint32_t block_size = 0;     // bytes
  uint64_t n_blocks = 0;
  uint64_t metadata_bytes = 0;  // round_up(64 + 16*n_blocks, block_size)

  uint64_t metadata_sectors() const { return metadata_bytes / 512; }
  uint32_t block_sectors() const { return block_size / 512; }
  // Sector of data block `index`, relative to the start of the cache area.
  uint64_t DataSector(uint64_t index) const {
    return metadata_sectors() + index * block_sectors();
  }
  static uint64_t EntryOffset(uint64_t index) { return kSuperblockBytes + kEntryBytes * index; }
};

// True iff `block_size` is a power of two in [512, 4096].
bool ValidBlockSize(uint64_t block_size);

// Metadata bytes for `n_blocks` blocks: round_up(64 + 16*n_blocks, block_size).
uint64_t MetadataBytes(uint64_t n_blocks, uint32_t block_size);

// The largest cache that fits in `area_bytes` (the cache device minus start_sector):
// n_blocks = area / (block_size + 16), decremented until metadata + data fit.
// ResourceExhausted ("no space") if not even one block fits; InvalidArgument on a bad
// block size.
absl::StatusOr<Geometry> ComputeGeometry(uint64_t area_bytes, uint32_t block_size);

// The geometry a superblock describes; InvalidArgument on overflow.
absl::StatusOr<Geometry> GeometryFor(uint64_t n_blocks, uint32_t block_size);

// Encoding. `bytes` must be at least 64 (superblock) / 16 (entry) bytes long.
void EncodeSuperblock(const Superblock& sb, std::span<std::byte> bytes);
Superblock DecodeSuperblock(std::span<const std::byte> bytes);
void EncodeEntry(const MemoryEntry& entry, std::span<std::byte> bytes);
MemoryEntry DecodeEntry(std::span<const std::byte> bytes);

// Little-endian u64 / u32 at `offset` of `bytes`: the shared codec (io::LoadLe /
// io::StoreLe, engine/io/little_endian.h) under the names the engine, properties/,
// tools and benchmarks call (inline: recovery decodes a million entries with them).
inline uint64_t LoadU64(std::span<const std::byte> bytes, uint64_t offset) {
  return io::LoadLe<uint64_t>(bytes, offset);
}
inline void StoreU64(std::span<std::byte> bytes, uint64_t offset, uint64_t value) {
  io::StoreLe<uint64_t>(bytes, offset, value);
}
inline uint32_t LoadU32(std::span<const std::byte> bytes, uint64_t offset) {
  return io::LoadLe<uint32_t>(bytes, offset);
}
inline void StoreU32(std::span<std::byte> bytes, uint64_t offset, uint32_t value) {
  io::StoreLe<uint32_t>(bytes, offset, value);
}

// A freshly formatted metadata area for `geometry`, with the magic still zero (the
// first half of the formatting order): superblock version 1, block_size, n_blocks,
// seq_count 0, every entry free, every padding byte zero.
std::vector<std::byte> FormattedMetadata(const Geometry& geometry);

// A metadata area read from a device, parsed (for checkers and tools).
struct ParsedMetadata {
  Superblock superblock;
  std::vector<MemoryEntry> entries;

  bool IsCommitted(const MemoryEntry& e) const { return e.seq_count < superblock.seq_count; }
};
// Parses `metadata` (superblock first). InvalidArgument if the magic, version or
// sizes are wrong, or the area is shorter than n_blocks entries need.
absl::StatusOr<ParsedMetadata> ParseMetadata(std::span<const std::byte> metadata);

}  // namespace powercut::writecache

#endif  // POWERCUT_ENGINE_WRITECACHE_FORMAT_H_
