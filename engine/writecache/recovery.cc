// Start (the kernel's constructor, device part), formatting, and recovery (the kernel's
// resume, shared by Start and Resume), both modes: SSD mode reads and writes the
// metadata area as blocks, pmem mode loads it and stores changes with flushing stores
// and fences (pmem.cc) in the same order.
//
// Formatting order (a valid magic implies initialized entries): write the superblock
// fields but the magic, every entry free and every padding byte zero; flush; only then
// write the magic and flush again. A cache whose superblock has magic and version zero
// is formatted; any other magic, version or block size fails Start().
//
// Recovery reads the whole metadata area and rebuilds the index. An entry is kept iff
// it is committed (seq < superblock seq); every other entry becomes free (seq -1 is
// written if it was not), whatever its data block holds. Of two committed entries of
// one sector the higher seq wins and the other is freed; equal seqs set the sticky
// error and the later index wins. If anything changed, the whole metadata area is
// rewritten and flushed before any request is mapped, so the cleaned state is durable
// before a freed block can be reused. Then writeback starts if the cache is above the
// high watermark, and the max_age timer is armed.
#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/probe/probe.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {

absl::Status WriteCache::ReadMetadata(uint64_t bytes) {
  if (PmemMode()) {
    pmem_->Load(PmemOffset(0), std::span<std::byte>(memory_).first(bytes));
    return absl::OkStatus();
  }
  return io::ReadSync(scheduler_, *cache_, start_sector_,
                      std::span<std::byte>(memory_).first(bytes));
}

absl::Status WriteCache::Format(const Geometry& geometry) {
  memory_ = FormattedMetadata(geometry);  // everything but the magic
  dirty_regions_.assign((memory_.size() + kMetadataRegionBytes - 1) / kMetadataRegionBytes, false);
  // pmem: the superblock and the entries (not the padding after them), flushing.
  if (PmemMode()) PmemStoreMetadata(0, Geometry::EntryOffset(geometry.n_blocks));
  MarkAllDirty();
  CommitFlushed(false);
  StoreU32(memory_, kMagicOffset, kMagic);
  if (PmemMode()) PmemStoreMetadata(kMagicOffset, 4);
  MarkDirty(kMagicOffset);
  CommitFlushed(false);
  if (has_error()) return error_;
  return absl::OkStatus();
}

absl::Status WriteCache::Start() {
  if (started_) return absl::FailedPreconditionError("writecache: already started");
  // The layout the cache device could hold; the superblock decides the real one.
  absl::StatusOr<Geometry> fit = ComputeGeometry(area_bytes_, params_.block_size);
  if (!fit.ok()) return fit.status();
  memory_.assign(fit->metadata_bytes, std::byte{0});
  if (absl::Status read = ReadMetadata(params_.block_size); !read.ok()) {
    return absl::DataLossError(absl::StrCat("writecache: Unable to read first block of metadata: ",
                                            read.ToString()));
  }
  Superblock sb = DecodeSuperblock(memory_);
  if (sb.magic == 0 && sb.version == 0) {
    if (absl::Status formatted = Format(*fit); !formatted.ok()) {
      return absl::DataLossError(absl::StrCat("writecache: Unable to initialize device: ",
                                              formatted.message()));
    }
    sb = DecodeSuperblock(memory_);
  }
  if (sb.magic != kMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat("writecache: Invalid magic in the superblock (0x", absl::Hex(sb.magic), ")"));
  }
  if (sb.version != kVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("writecache: Invalid version in the superblock (", sb.version, ")"));
  }
  if (sb.block_size != params_.block_size) {
    return absl::InvalidArgumentError(absl::StrCat("writecache: Block size does not match superblock (",
                                                   sb.block_size, " on the device, ",
                                                   params_.block_size, " in the table)"));
  }
  absl::StatusOr<Geometry> geometry = GeometryFor(sb.n_blocks, sb.block_size);
  if (!geometry.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("writecache: Overflow in size calculation (", geometry.status().message(), ")"));
  }
  if (geometry->metadata_bytes + geometry->n_blocks * geometry->block_size > area_bytes_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "writecache: Memory area is too small (", sb.n_blocks, " blocks need ",
        geometry->metadata_bytes + geometry->n_blocks * geometry->block_size, " bytes, the cache has ",
        area_bytes_, ")"));
  }
  geometry_ = *geometry;
  memory_.resize(geometry_.metadata_bytes);
  dirty_regions_.assign((memory_.size() + kMetadataRegionBytes - 1) / kMetadataRegionBytes, false);

  // Watermarks as free-block counts, rounded to nearest.
  freelist_high_watermark_ = (geometry_.n_blocks * (100 - params_.HighWatermark()) + 50) / 100;
  freelist_low_watermark_ = (geometry_.n_blocks * (100 - params_.LowWatermark()) + 50) / 100;
  if (cleaner_) ActivateCleaner();

  started_ = true;
  SpawnThreads();
  lock_.Lock();
  Recover();
  lock_.Unlock();
  return absl::OkStatus();
}

void WriteCache::Recover() {
  data_device_sectors_ = origin_.sector_count();
  if (absl::Status read = ReadMetadata(memory_.size()); !read.ok()) {
    // The entries are unusable: treat them all as free (the superblock stays).
    SetError(read, "unable to read metadata");
    std::fill(memory_.begin() + kSuperblockBytes, memory_.end(), std::byte{0xff});
  }

  tree_.Clear();
  lru_.Clear();
  freelist_.Clear();
  writeback_size_ = 0;
  uncommitted_blocks_ = 0;
  overwrote_committed_ = false;

  seq_count_ = LoadU64(memory_, kSeqCountOffset);
  // One pass over the metadata builds the entry mirror (every other field at its
  // default).
  entries_.clear();
  entries_.reserve(geometry_.n_blocks);
  for (uint64_t b = 0; b < geometry_.n_blocks; ++b) {
    Entry& e = entries_.emplace_back();
    e.original_sector = LoadU64(memory_, Geometry::EntryOffset(b));
    e.seq_count = LoadU64(memory_, Geometry::EntryOffset(b) + 8);
  }
  if (POWERCUT_MUTANT(kWcSeqFromEntries)) {
    // The bug: the epoch is derived from the entries, not from the superblock.
    uint64_t max_seq = 0;
    bool any = false;
    for (const Entry& e : entries_) {
      if (e.seq_count == kFreeSeq) continue;
      max_seq = std::max(max_seq, e.seq_count);
      any = true;
    }
    if (any) seq_count_ = max_seq + 1;
  }

  // The kernel visits the entries in index order, inserting each committed one into the
  // tree, where it meets the newest entry of its sector so far: the higher seq wins
  // (equal seqs: the sticky error, and the later index wins), the loser is freed. Each
  // sector's entries meet only each other, in index order, so the same duel is run
  // here over the committed entries sorted by sector (stably: index order within a
  // sector), and the tree is bulk-loaded with the winners. What the kernel frees at
  // step b is recorded and replayed in index order below, so the free list (its order
  // is pmem mode's allocation order) and the stores clearing seq_count come out as the
  // kernel's.
  SectorIndexArray committed;
  committed.reserve(entries_.size());
  for (uint32_t b = 0; b < entries_.size(); ++b) {
    if (IsCommitted(b)) committed.push_back({entries_[b].original_sector, b});
  }
  {
    SectorIndexArray scratch;
    SortBySector(committed, scratch);
  }
  struct Freed {
    uint32_t step;   // the entry whose insertion frees ...
    uint32_t entry;  // ... this one (itself, if it lost)
  };
  std::vector<Freed> freed;
  std::optional<uint32_t> first_identical;  // the first step meeting an equal seq
  size_t winners = 0;
  for (size_t first = 0; first < committed.size();) {
    uint32_t newest = committed[first].index;
    size_t next = first + 1;
    for (; next < committed.size() && committed[next].sector == committed[first].sector; ++next) {
      const uint32_t b = committed[next].index;
      const uint64_t old_seq = entries_[newest].seq_count;
      const uint64_t seq = entries_[b].seq_count;
      if (old_seq == seq && (!first_identical || b < *first_identical)) first_identical = b;
      bool keep_old = old_seq > seq;
      if (POWERCUT_MUTANT(kWcLowerSeqWins)) keep_old = old_seq < seq;
      POWERCUT_PROBE(kWcDuplicateResolvedAtRecovery);
      freed.push_back({b, keep_old ? b : newest});
      if (!keep_old) newest = b;
    }
    committed[winners++] = {committed[first].sector, newest};
    first = next;
  }
  tree_.BuildSorted(std::span<const SectorIndex>(committed).first(winners));
  if (first_identical) {
    const Entry& e = entries_[*first_identical];
    SetError(absl::InvalidArgumentError(absl::StrCat("two identical entries, position ",
                                                     *first_identical, ", sector ",
                                                     e.original_sector, ", sequence ",
                                                     e.seq_count)),
             "recovery");
  }
  std::sort(freed.begin(), freed.end(),
            [](const Freed& a, const Freed& b) { return a.step < b.step; });

  // Index order: the winners enter the LRU list (newest insertion first), and each
  // step's free goes to the free list.
  bool need_flush = false;
  bool freed_committed = false;
  const runtime::Nanos now = scheduler_.Now();
  auto next_freed = freed.begin();
  for (uint32_t b = 0; b < entries_.size(); ++b) {
    Entry& e = entries_[b];
    if (e.in_tree) {
      lru_.PushFront(b);
      e.age = now;
    }
    if (next_freed != freed.end() && next_freed->step == b) {
      // A committed duplicate: always a change to make durable.
      ClearSeq(next_freed->entry);
      AddToFreelist(next_freed->entry);
      freed_committed |= next_freed->entry != b;
      need_flush = true;
      ++next_freed;
    } else if (!IsCommitted(b)) {
      // Later steps free only entries before them: b's own seq is still as read.
      if (e.seq_count != kFreeSeq && !POWERCUT_MUTANT(kWcRecoveryKeepsUncommitted)) {
        ClearSeq(b);
        need_flush = true;
      }
      AddToFreelist(b);
    }
  }
  if (freed_committed) freelist_wait_.NotifyAll();

  if (need_flush) {
    // The cleaned metadata is durable before any block freed here is reused.
    MarkAllDirty();
    if (POWERCUT_MUTANT(kWcRecoveryCleanupNotFlushed)) {
      WriteDirtyMetadata();  // the bug: written, not made durable
    } else {
      CommitFlushed(false);
    }
  }
  VerifyWatermark();
  if (params_.max_age_ms) {
    max_age_deadline_ = scheduler_.Now() + runtime::Milliseconds(*params_.max_age_ms) / 16;
    max_age_timer_wait_.NotifyAll();
  }
}

}  // namespace powercut::writecache
