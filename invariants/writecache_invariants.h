// Invariant checkers for the write-back cache, on raw cache-device images and on the
// cache device's IO stream. They read bytes, never engine memory, and rely on the
// workload's self-describing sectors (sector_stamp.h) to tell which sector a data
// block's contents were written for.
//
// On a crash image (before recovery):
//   CheckCommittedData   every committed entry's block holds data written for its
//                        sector (E1: data durable before the commit; a block reused
//                        before its free was durable shows up here too, W2/E5).
// After recovery (the image recovery left behind):
//   CheckRecovered       at most one committed entry per sector; every entry is either
//                        committed or free (seq -1), so free + used == n_blocks.
// On the IO stream (CacheTraceChecker, a BlockDevice wrapper under the engine):
//   - superblock seq_count never decreases across the writes of the superblock;
//   - when a write raises seq_count (a commit), the metadata written so far is already
//     durable (E2) and every entry committed by the new seq has durable data (E1; a
//     data block whose latest write failed is not judged: its contents are undefined);
//   - a data block is written only while its durable entry maps no other sector (a
//     block is reused only after its free is durable: E5, W2).
// pmem mode (PmemTraceChecker, a PersistentMemory wrapper over the SimPmem): the same
// three checks on every store, against what the fences have made durable so far (a
// store of a new seq_count is a commit: the epoch's entries and data must already be
// durable, not merely flushed).
//
// The raw-image checks take a cache device image or, in pmem mode, the bytes of a
// persistent memory image (the same layout from start_sector * 512 on).
//
// Threading: the World's thread.
#ifndef POWERCUT_INVARIANTS_WRITECACHE_INVARIANTS_H_
#define POWERCUT_INVARIANTS_WRITECACHE_INVARIANTS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "engine/io/persistent_memory.h"
#include "engine/writecache/format.h"
#include "harness/failure.h"
#include "sim/disk_image.h"
#include "sim/sim_pmem.h"
#include "sim/sim_ssd.h"

namespace powercut::verifier {

// The metadata area of a cache image whose cache area starts at `start_sector`.
// NotFound if the cache was never formatted (magic and version zero, or magic zero:
// a crash inside formatting), InvalidArgument if the superblock is corrupt.
absl::StatusOr<writecache::ParsedMetadata> ReadCacheMetadata(const sim::DiskImage& cache,
                                                             uint64_t start_sector);
absl::StatusOr<writecache::ParsedMetadata> ReadCacheMetadata(std::span<const std::byte> pmem,
                                                             uint64_t start_sector);

// `undefined_blocks`: data blocks not judged (CacheTraceFindings::failed_blocks).
std::optional<Violation> CheckCommittedData(const sim::DiskImage& cache, uint64_t start_sector,
                                            const writecache::ParsedMetadata& metadata,
                                            const absl::btree_set<uint64_t>& undefined_blocks = {});
std::optional<Violation> CheckCommittedData(std::span<const std::byte> pmem,
                                            uint64_t start_sector,
                                            const writecache::ParsedMetadata& metadata,
                                            const absl::btree_set<uint64_t>& undefined_blocks = {});

std::optional<Violation> CheckRecovered(const writecache::ParsedMetadata& metadata);

// What the checker found on the IO stream of one run (shared by the stacks of a crash
// check): violations, and the data blocks whose latest write failed. Such a block holds
// whatever it held before (the kernel keeps the entry of a failed data write), so E1
// does not judge it until a write of it succeeds.
struct CacheTraceFindings {
  std::vector<Violation> found;
  absl::btree_set<uint64_t> failed_blocks;
};

class CacheTraceChecker : public io::BlockDeviceWrapper {
 public:
  // Observes `cache`'s durable image (SimSsd::SetDurableObserver) until destroyed, and
  // passes IO on to `below`: the SSD itself, or a fault injector over it (the checker
  // then sees the engine's IO and its status, the durable image what reached the SSD).
  CacheTraceChecker(sim::SimSsd& cache, io::BlockDevice& below, uint64_t start_sector,
                    std::shared_ptr<CacheTraceFindings> violations);
  CacheTraceChecker(sim::SimSsd& cache, uint64_t start_sector,
                    std::shared_ptr<CacheTraceFindings> violations)
      : CacheTraceChecker(cache, cache, start_sector, std::move(violations)) {}
  ~CacheTraceChecker() override;

  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;

 private:
  static constexpr uint64_t kUnverified = ~uint64_t{0};

  void Report(Violation violation);
  void OnDurable(uint64_t sector, uint64_t sectors);
  // The durable metadata, parsed again only after durable metadata sectors changed;
  // nullptr while the cache is not (durably) formatted.
  const writecache::ParsedMetadata* DurableMetadata();
  void CheckCommit(uint64_t new_seq, const writecache::ParsedMetadata& durable);
  void CheckDataWrite(uint64_t sector, std::span<const std::byte> data,
                      const writecache::ParsedMetadata& durable);
  // Keeps failed_blocks: a block whose data write fails is undefined until a later
  // write of it is durable (a FUA write, or a write and then a flush, succeeded).
  void OnDataWriteDone(uint64_t first, uint64_t last, bool fua, const absl::Status& status);

  sim::SimSsd& cache_;
  uint64_t start_sector_;
  std::shared_ptr<CacheTraceFindings> violations_;
  std::optional<uint64_t> last_seq_;  // the last seq_count written to the superblock
  // Failed blocks written again since, successfully; the next flush settles them.
  absl::btree_set<uint64_t> rewritten_;
  std::optional<writecache::ParsedMetadata> durable_;
  bool durable_stale_ = true;
  uint64_t data_start_ = 0;       // of durable_'s geometry
  uint64_t block_sectors_ = 1;    // of durable_'s geometry
  // Per data block: the sector its durable data was last found stamped for (E1), or
  // kUnverified once the block's durable sectors changed since.
  std::vector<uint64_t> verified_for_;
};

class PmemTraceChecker : public io::PersistentMemory {
 public:
  PmemTraceChecker(sim::SimPmem& pmem, uint64_t start_sector,
                   std::shared_ptr<CacheTraceFindings> violations);

  uint64_t size() const override { return pmem_.size(); }
  const std::string& name() const override { return pmem_.name(); }
  void Load(uint64_t offset, std::span<std::byte> out) const override { pmem_.Load(offset, out); }
  void Store(uint64_t offset, std::span<const std::byte> data) override;
  void StoreFlushing(uint64_t offset, std::span<const std::byte> data) override;
  void Flush(uint64_t offset, uint64_t length) override { pmem_.Flush(offset, length); }
  void Fence() override { pmem_.Fence(); }

 private:
  void Check(uint64_t offset, std::span<const std::byte> data);
  void Report(Violation violation);

  sim::SimPmem& pmem_;
  uint64_t start_sector_;
  std::shared_ptr<CacheTraceFindings> violations_;
  std::optional<uint64_t> last_seq_;
};

}  // namespace powercut::verifier

#endif  // POWERCUT_INVARIANTS_WRITECACHE_INVARIANTS_H_
