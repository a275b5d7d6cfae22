// CowStore: a copy-on-write block store over one block device, with its own superblock
// and a journal of mapping changes (on-disk format: cow_format.h).
//
// The store presents a logical device of whole 4 KiB blocks: every IO must start and
// end on a block (InvalidArgument otherwise). A write never overwrites a live physical
// block: each block goes to a free physical block and, once its data write completed,
// the in-memory map points at it (reads see it from then on).
//
// Durability (the block-device contract of engine/io/block_device.h):
//   - Flush commits: (1) the mapping changes so far are taken, (2) the device is
//     flushed, so the data they point at is durable, (3) they are written as journal
//     records with FUA, (4) the flush is acknowledged. When the journal has no room, the
//     whole table goes to the inactive table area instead, is flushed, and the other
//     superblock slot is written (FUA) with generation + 1: the journal starts over.
//   - A FUA write is committed this way before it is acknowledged; a PREFLUSH write
//     commits first.
//   - A physical block an overwrite or discard replaced is reused only after a commit
//     taken after the replacement is durable (and no read is still reading it).
//   - Discard unmaps the blocks (they read as zeroes); the unmapping is committed like a
//     write.
// Nothing else is durable: a power cut keeps the newest valid superblock, its table and
// the journal records that follow it without a gap, as Start() recovers them.
//
// `broken` removes step (2): journal records may become durable before the data they
// point at, so an acknowledged flush can leave a mapping to a block that never got its
// data. It exists to show that powercut catches it.
//
// Writes wait for free blocks (committing to free some) when the free list is empty;
// with `spare_blocks` larger than the blocks of all writes in flight at once (the
// families' workloads: three clients of at most four blocks) that wait always ends.
//
// Threading and ownership: the scheduler's thread only; Submit* may be called from
// fibers or callbacks, Start() only from a fiber. Each request runs in a fiber of its
// own and calls `done` from it. The store does not own the device; both the device and
// the scheduler must outlive it.
#ifndef COW_STORE_COW_STORE_H_
#define COW_STORE_COW_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cow_format.h"
#include "engine/io/block_device.h"
#include "engine/runtime/scheduler.h"
#include "engine/runtime/sync.h"

namespace cowstore {

struct CowOptions {
  uint64_t logical_sectors = 2048;
  uint64_t journal_sectors = 8;
  uint64_t spare_blocks = 64;
  bool broken = false;
};

class CowStore : public powercut::io::BlockDevice {
 public:
  // InvalidArgument for bad options or a device smaller than they need
  // (Geometry::DeviceSectors()).
  static absl::StatusOr<std::unique_ptr<CowStore>> Create(powercut::runtime::Scheduler& scheduler,
                                                          powercut::io::BlockDevice& disk,
                                                          const CowOptions& options);

  // From a fiber, before any IO: recovers the store the device holds (newest valid
  // superblock, its table, the journal after it) and checkpoints it, so records left
  // after the journal's end are never replayed; formats a device with no valid
  // superblock. DataLoss for metadata that is valid but inconsistent.
  [[nodiscard]] absl::Status Start();

  // Consistency of the in-memory state after Start(): what the store committed equals
  // what it maps, no physical block is mapped twice, and every other block is free.
  // A description of the first problem, or nothing.
  std::optional<std::string> CheckConsistency() const;

  const Geometry& geometry() const { return geometry_; }

  // powercut::io::BlockDevice
  uint64_t sector_count() const override { return geometry_.logical_blocks() * kBlockSectors; }
  const std::string& name() const override { return name_; }
  uint32_t block_sectors() const override { return kBlockSectors; }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer,
                  powercut::io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   powercut::io::IoCallback done) override;
  void SubmitFlush(powercut::io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, powercut::io::IoCallback done) override;
  // The mapped blocks of the range.
  std::vector<powercut::io::SectorRange> DataRanges(uint64_t first, uint64_t count) const override;

 private:
  CowStore(powercut::runtime::Scheduler& scheduler, powercut::io::BlockDevice& disk,
           const Geometry& geometry, bool broken);

  // OK, or InvalidArgument / OutOfRange for a request off the device or off a block.
  absl::Status CheckRequest(uint64_t sector, uint64_t sectors) const;

  void RunRead(uint64_t sector, std::span<std::byte> buffer, powercut::io::IoCallback done);
  void RunWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                powercut::io::IoCallback done);
  // Writes `count` blocks of `data` from logical block `first`: allocate, write, map.
  absl::Status WriteBlocks(uint64_t first, uint64_t count, std::span<const std::byte> data);

  // `count` free physical blocks, committing or waiting for some when there are none.
  absl::StatusOr<std::vector<uint64_t>> Allocate(uint64_t count);
  // Points `logical` at `physical` in memory; the block it replaces is freed by the
  // next commit.
  void Remap(uint64_t logical, uint64_t physical);
  // Makes every mapping change so far durable (the Flush steps in the file comment).
  absl::Status Commit();
  absl::Status WriteJournal(const std::vector<Mapping>& changes);
  // Writes `table` as generation generation_ + 1 and makes it the current one.
  absl::Status Checkpoint(const std::vector<uint64_t>& table);

  absl::Status Format();
  absl::Status Recover(const Superblock& superblock);
  // Rebuilds the free list from committed_ (no read or commit in flight).
  absl::Status RebuildFreeList();

  void Pin(uint64_t physical) { ++pins_[physical]; }
  void Unpin(uint64_t physical);
  // Returns a block to the free list, or when a read holds it, when the read ends.
  void Release(uint64_t physical);

  powercut::runtime::Scheduler& scheduler_;
  powercut::io::BlockDevice& disk_;
  const Geometry geometry_;
  const bool broken_;
  const std::string name_ = "cow";

  std::vector<uint64_t> map_;        // logical -> physical, as reads see it
  std::vector<uint64_t> committed_;  // logical -> physical, as a power cut keeps it
  std::set<uint64_t> dirty_;         // logical blocks remapped since the last commit began
  std::vector<uint64_t> replaced_;   // physical blocks remapped away since then
  std::set<uint64_t> free_;          // lowest first: freed blocks are reused soon
  std::vector<uint32_t> pins_;       // reads in flight, per physical block
  std::vector<bool> free_on_unpin_;  // released while pinned

  uint64_t generation_ = 0;    // of the current superblock
  uint64_t next_seq_ = 1;      // of the next journal record
  uint64_t journal_used_ = 0;  // records written since the current superblock

  powercut::runtime::Mutex commit_mutex_;  // one commit (or checkpoint) at a time
  powercut::runtime::Mutex alloc_mutex_;   // one allocating write at a time
  powercut::runtime::WaitQueue space_;     // woken when blocks are freed
};

}  // namespace cowstore

#endif  // COW_STORE_COW_STORE_H_
