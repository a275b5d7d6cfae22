// The on-disk md write-intent bitmap: `bitmap_super_t` and the bit layout after it.
//
// This is the format of drivers/md/md-bitmap.{c,h} and mdadm's bitmap.c, byte for byte,
// so that `mdadm -X` and the Linux kernel read what powercut writes:
//
//   offset 0      bitmap_super_t (256 bytes, all fields little-endian, see BitmapSuper)
//   offset 256    one bit per chunk: chunk i is bit (i % 8) of byte 256 + i / 8, LSB first
//   ...           up to 256 + ceil(chunks / 8) bytes; bits past `chunks` are don't-care
//
// The same bytes are a plain external bitmap file, or the internal bitmap stored on every
// member at `bitmap_offset` sectors from the md superblock. The kernel reads and writes
// the bitmap in 4 KiB pages; page 0 holds the superblock and the first 3840 bytes of bits.
// Only the last page is shorter: its write is rounded up to the logical block size, and
// must never run past the area reserved for the bitmap (I14).
//
//   absl::StatusOr<BitmapGeometry> geometry = BitmapGeometry::For(sync_sectors, 65536);
//   BitmapSuper sb = {.uuid = array_uuid, .sync_size = sync_sectors, .chunksize = 65536};
//   std::array<std::byte, kBitmapSuperSize> bytes = EncodeBitmapSuper(sb);
//   absl::StatusOr<BitmapSuper> back = DecodeBitmapSuper(bytes);   // validates
//
// Decoders never trust their input: any byte string gives either a value or an
// InvalidArgument status naming the offending field (they are fuzzed).
//
// Threading: plain values and pure functions; safe from any thread.
#ifndef POWERCUT_ENGINE_RAID1_BITMAP_FORMAT_H_
#define POWERCUT_ENGINE_RAID1_BITMAP_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/mutant/mutant.h"

namespace powercut::raid1 {

inline constexpr uint32_t kBitmapMagic = 0x6d746962;  // "bitm" in little-endian bytes
// BITMAP_MAJOR_HOSTENDIAN: bits in host-endian longs. On a little-endian host (the only
// kind powercut models) that is the same bit layout as version 4.
inline constexpr uint32_t kBitmapVersionHostEndian = 3;
// BITMAP_MAJOR_HI: bits in little-endian order. What new bitmaps are written with.
inline constexpr uint32_t kBitmapVersion = 4;
// BITMAP_MAJOR_CLUSTERED: md-cluster; one bitmap per node. Not supported here.
inline constexpr uint32_t kBitmapVersionClustered = 5;

inline constexpr size_t kBitmapSuperSize = 256;
// The unit in which the kernel caches, reads and writes bitmap storage.
inline constexpr uint32_t kBitmapPageSize = 4096;
inline constexpr uint32_t kBitmapMinChunkSize = 512;
// COUNTER_MAX of the in-memory counters: the write-behind limit cannot exceed it.
inline constexpr uint32_t kBitmapMaxWriteBehind = 16383;
// The largest bitmap this implementation accepts (2^31 chunks: a 256 MiB bit area).
inline constexpr uint64_t kBitmapMaxChunks = uint64_t{1} << 31;

// bitmap_super_t.state bits (enum bitmap_state is a bit *number*; these are masks).
inline constexpr uint32_t kBitmapStateStale = 1u << 1;       // out of date: resync all
inline constexpr uint32_t kBitmapStateWriteError = 1u << 2;  // never written to disk

// The decoded `bitmap_super_t`. Field names and units are the kernel's.
struct BitmapSuper {
  uint32_t version = kBitmapVersion;    //  4
  std::array<uint8_t, 16> uuid{};       //  8  the md array's uuid, raw bytes
  uint64_t events = 0;                  // 24  md event count at the last sb update
  uint64_t events_cleared = 0;          // 32  event count when bits could last be cleared
  uint64_t sync_size = 0;               // 40  sectors covered (each member's data size)
  uint32_t state = 0;                   // 48  kBitmapState* bits
  uint32_t chunksize = 0;               // 52  bytes per bit; a power of two >= 512
  uint32_t daemon_sleep = 5;            // 56  seconds between daemon sweeps, >= 1
  uint32_t write_behind = 0;            // 60  max outstanding write-behind writes
  uint32_t sectors_reserved = 0;        // 64  sectors reserved for the bitmap (0: unknown)
  uint32_t nodes = 0;                   // 68  cluster nodes; 0 unless version 5
  std::array<char, 64> cluster_name{};  // 72  cluster name; ignored unless version 5
  // 136..255: padding, written as zero and ignored when read.

  bool stale() const { return (state & kBitmapStateStale) != 0; }
  bool operator==(const BitmapSuper&) const = default;
};

// Checks every rule DecodeBitmapSuper enforces; the message names the field.
[[nodiscard]] absl::Status ValidateBitmapSuper(const BitmapSuper& sb);

// The 256 on-disk bytes of `sb` (magic included, padding zero). Does not validate: tests
// use it to build corrupt superblocks too; call ValidateBitmapSuper first to be safe.
std::array<std::byte, kBitmapSuperSize> EncodeBitmapSuper(const BitmapSuper& sb);

// Decodes and validates the first 256 bytes of `bytes` (more may follow: the bits).
[[nodiscard]] absl::StatusOr<BitmapSuper> DecodeBitmapSuper(std::span<const std::byte> bytes);

// A byte range inside the bitmap's storage area (offset 0 = the bitmap superblock).
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t end() const { return offset + length; }
  bool operator==(const ByteRange&) const = default;
};

// Sizes and positions derived from (sync_size, chunksize): how many chunks, how many
// bytes and 4 KiB pages of storage, and where each chunk's bit lives.
struct BitmapGeometry {
  uint64_t sync_sectors = 0;  // sectors covered
  uint32_t chunk_bytes = 0;   // bytes per chunk (power of two >= 512)
  uint32_t chunk_shift = 0;   // log2(sectors per chunk)
  uint64_t chunks = 0;        // ceil(sync_sectors * 512 / chunk_bytes)
  uint64_t bytes = 0;         // 256 + ceil(chunks / 8): the storage the bitmap occupies
  uint64_t pages = 0;         // ceil(bytes / 4096)

  // Fails (InvalidArgument) for a chunk size that is not a power of two >= 512, for
  // sync_sectors == 0, or for more than kBitmapMaxChunks chunks.
  [[nodiscard]] static absl::StatusOr<BitmapGeometry> For(uint64_t sync_sectors,
                                                          uint32_t chunk_bytes);
  // The geometry a validated superblock describes.
  [[nodiscard]] static absl::StatusOr<BitmapGeometry> For(const BitmapSuper& sb);

  uint64_t sectors_per_chunk() const { return uint64_t{1} << chunk_shift; }
  // REQUIRES: sector < sync_sectors (chunk < chunks below).
  uint64_t ChunkOfSector(uint64_t sector) const {
    if (POWERCUT_MUTANT(kBmChunkOfSector32)) return static_cast<uint32_t>(sector) >> chunk_shift;
    return sector >> chunk_shift;
  }
  uint64_t FirstSectorOfChunk(uint64_t chunk) const { return chunk << chunk_shift; }
  // Sectors of `chunk` that lie inside the synced range (the last chunk may be short).
  uint64_t SectorsInChunk(uint64_t chunk) const;
  // The storage byte and bit mask that hold `chunk`'s bit (LSB-first within the byte).
  uint64_t ByteOfChunk(uint64_t chunk) const { return kBitmapSuperSize + chunk / 8; }
  uint8_t MaskOfChunk(uint64_t chunk) const;
  // The 4 KiB storage page holding `chunk`'s bit (page 0 also holds the superblock).
  uint64_t PageOfChunk(uint64_t chunk) const { return ByteOfChunk(chunk) / kBitmapPageSize; }
  // Bytes of the storage that belong to `page` (4096, or fewer for the last page).
  uint64_t BytesInPage(uint64_t page) const;

  // The range one write of `page` covers: the whole 4 KiB page, except the last page,
  // whose used bytes are rounded up to `logical_block_size` (a power of two, multiple of
  // 512). `area_bytes` is the space reserved for the bitmap (for an external file, pass
  // 0: the file may grow). Fails with OutOfRange if the write would run past the area
  // (I14: a bitmap write never touches data or other metadata) and InvalidArgument for
  // a page past the end or a bad block size.
  [[nodiscard]] absl::StatusOr<ByteRange> PageWriteRange(uint64_t page, uint32_t logical_block_size,
                                                         uint64_t area_bytes) const;
};

// A complete new bitmap image (superblock + bits, geometry.bytes long), as mdadm
// creates one: every bit set when `all_dirty` (a new array that still needs its first
// resync), else every bit clear (--assume-clean). Fails if `sb` is invalid.
[[nodiscard]] absl::StatusOr<std::vector<std::byte>> NewBitmapImage(const BitmapSuper& sb,
                                                                    bool all_dirty);

// Bit access on a storage image (superblock + bits). REQUIRES: the image holds
// geometry.bytes bytes.
bool TestChunkBit(const BitmapGeometry& geometry, std::span<const std::byte> image, uint64_t chunk);
void SetChunkBit(const BitmapGeometry& geometry, std::span<std::byte> image, uint64_t chunk,
                 bool value);
// How many of the first `geometry.chunks` bits are set (what `mdadm -X` calls dirty).
uint64_t CountDirtyChunks(const BitmapGeometry& geometry, std::span<const std::byte> image);

}  // namespace powercut::raid1

#endif  // POWERCUT_ENGINE_RAID1_BITMAP_FORMAT_H_
