// BlockDevice: the only view the engine has of a disk (SSD, HDD, a mirror member).
//
// Sectors are 512 bytes. Calls submit an IO and return at once; `done` runs later, on
// the scheduler's context (never inside a fiber), like a bio's end_io, and must not
// block. Only a request rejected up front (bad range or buffer) may complete before
// Submit* returns. Many IOs may be in flight at once and may complete in any order; use IoBatch
// (io_batch.h) to submit several and wait for all from a fiber.
//
// Durability contract (Linux REQ_PREFLUSH / REQ_FUA semantics):
//   - a completed write is visible to later reads but may sit in a volatile cache;
//   - Flush: every write that *completed* before the flush was submitted is durable
//     when the flush completes (writes still in flight are not covered);
//   - kFua: the write itself is durable when it completes;
//   - kPreflush: a Flush, then the write (both before completion);
//   - Discard: the sectors' contents become undefined-but-not-foreign (old data or
//     zeroes), and are never required to survive.
// Nothing else is promised: unflushed writes may be lost, reordered or torn at sector
// granularity by a power cut.
//
// Buffers passed to Submit* must stay valid until `done` runs. An IO error is reported
// as a non-OK status, never as an exception.
//
// DataRanges answers, like SEEK_DATA/SEEK_HOLE on a sparse file, which parts of a range
// may hold data: every sector outside them reads as zeroes (when it can be read at all:
// it speaks of contents, so a device that fails all IO still answers). It reflects the
// writes and discards completed so far, costs no IO and does not block. A device that cannot tell
// answers the whole range, which is always right; a smaller answer lets callers skip
// what was never written (a resync copying a chunk, a crash check reading back a
// device) so their cost follows the data, not the device size.
#ifndef POWERCUT_ENGINE_IO_BLOCK_DEVICE_H_
#define POWERCUT_ENGINE_IO_BLOCK_DEVICE_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "engine/io/sector_range.h"

namespace powercut::io {

inline constexpr uint32_t kSectorSize = 512;

enum WriteFlags : uint32_t {
  kNoFlags = 0,
  kFua = 1u << 0,
  kPreflush = 1u << 1,
};

using IoCallback = absl::AnyInvocable<void(absl::Status)>;

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;

  // Size in 512-byte sectors.
  virtual uint64_t sector_count() const = 0;
  // A short name for traces and messages ("ssd0", "origin").
  virtual const std::string& name() const = 0;
  // The logical block size in sectors: every IO must start and end on a multiple of it
  // (the block layer's logical_block_size; a cache with 4 KiB blocks says 8).
  virtual uint32_t block_sectors() const { return 1; }

  // `buffer.size()` must be a non-zero multiple of kSectorSize and the range must lie
  // inside the device; violations complete with InvalidArgument / OutOfRange.
  virtual void SubmitRead(uint64_t sector, std::span<std::byte> buffer, IoCallback done) = 0;
  virtual void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                           IoCallback done) = 0;
  virtual void SubmitFlush(IoCallback done) = 0;
  virtual void SubmitDiscard(uint64_t sector, uint64_t sectors, IoCallback done) = 0;

  // The parts of [first, first + count) that may hold data, sorted and disjoint (see
  // above); the range must lie inside the device.
  virtual std::vector<SectorRange> DataRanges(uint64_t first, uint64_t count) const {
    return {{first, count}};
  }
};

// Forwards every call to another device; fault injectors and test doubles override only
// what they change (LevelDB's EnvWrapper shape). Does not own the wrapped device.
class BlockDeviceWrapper : public BlockDevice {
 public:
  explicit BlockDeviceWrapper(BlockDevice& wrapped) : wrapped_(wrapped) {}

  uint64_t sector_count() const override { return wrapped_.sector_count(); }
  const std::string& name() const override { return wrapped_.name(); }
  uint32_t block_sectors() const override { return wrapped_.block_sectors(); }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, IoCallback done) override {
    wrapped_.SubmitRead(sector, buffer, std::move(done));
  }
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   IoCallback done) override {
    wrapped_.SubmitWrite(sector, data, flags, std::move(done));
  }
  void SubmitFlush(IoCallback done) override { wrapped_.SubmitFlush(std::move(done)); }
  void SubmitDiscard(uint64_t sector, uint64_t sectors, IoCallback done) override {
    wrapped_.SubmitDiscard(sector, sectors, std::move(done));
  }
  std::vector<SectorRange> DataRanges(uint64_t first, uint64_t count) const override {
    return wrapped_.DataRanges(first, count);
  }

 protected:
  BlockDevice& wrapped() { return wrapped_; }

 private:
  BlockDevice& wrapped_;
};

// Checks a request's range and buffer shape against a device of `sector_count`
// sectors. Shared by every BlockDevice implementation.
[[nodiscard]] absl::Status ValidateRange(uint64_t sector_count, uint64_t sector,
                                         uint64_t sectors);
[[nodiscard]] absl::Status ValidateBuffer(size_t bytes);

}  // namespace powercut::io

#endif  // POWERCUT_ENGINE_IO_BLOCK_DEVICE_H_
