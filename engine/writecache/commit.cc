// The commit protocol (the kernel's writecache_flush), both modes.
//
// An entry is committed iff its seq_count is below the superblock's. Every entry
// written since the last commit carries the current seq_count; bumping the
// superblock's by one commits all of them at once. What is durable when:
//
//   1. Nothing new uncommitted: if committed blocks were overwritten in place, wait for
//      every in-flight data write and flush the SSD (E6). Done. (Also when no entry is
//      on the LRU list because all are under writeback: see Commit().)
//   2. Mark the 64 KiB metadata regions holding the new entries dirty.
//   3. Write the dirty regions; wait for them.              } E2: entries durable
//   4. Wait for every in-flight data write to the SSD.      } E1: data durable
//   5. Flush the SSD.                                       }     before the bump
//   6. seq_count += 1; write the superblock block with FUA.   E3: durable before the
//                                                             flush is acknowledged
//   7. Free older duplicates of the sectors just committed (seq -1), write their
//      regions, flush (E4: only after the newer version is committed; E5: the free is
//      durable before the lock is dropped and the block can be reused).
//
// pmem mode (entries and data were stored with flushing stores when written):
//   2.    nothing to mark: the stores are already flushing;
//   3-5.  a fence: every data block and entry of the epoch is durable (E1, E2) ...
//   6.    ... before seq_count += 1 is stored (flushing) and fenced (E3: durable before
//         the flush, or the FUA write, is acknowledged);
//   7.    the frees are flushing stores of seq -1, fenced before the lock is dropped
//         (E4, E5).
//
// Everything runs with the engine lock held, including the IO waits, as in the kernel:
// no request is mapped while a commit is in progress. A failed metadata write or flush
// sets the sticky error (the flush that asked for the commit then fails) and, unlike the
// kernel, ends the commit before step 6.
#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {

void WriteCache::Commit() {
  uncommitted_blocks_ = 0;
  CancelAutocommit();
  // The kernel returns here when the LRU list is empty, before looking at
  // overwrote_committed. But writeback takes entries off that list: with every entry
  // under writeback, a committed block overwritten in place would be acknowledged by
  // this flush while its new data is still in the SSD's volatile cache, and a power cut
  // before the writeback completes brings the old data back. powercut checks step 1
  // first.
  if (lru_.empty() && POWERCUT_MUTANT(kWcFlushIgnoresIdleOverwrite)) return;

  // The uncommitted entries are the newest ones: a prefix of the LRU list.
  uint32_t e = lru_.empty() ? kNoEntry : lru_.front();
  if (e == kNoEntry || IsCommitted(e)) {
    // Step 1. E6: in-place overwrites of committed blocks are durable before the
    // flush is acknowledged.
    if (overwrote_committed_ && !POWERCUT_MUTANT(kWcOverwriteNoFlush)) {
      WaitForIos(kWrite);
      DiskFlush(*cache_, "flushing overwritten blocks");
      overwrote_committed_ = false;
    }
    return;
  }
  // Step 2.
  for (;;) {
    if (!POWERCUT_MUTANT(kWcEntryNotMarkedDirty)) MarkDirty(Geometry::EntryOffset(e));
    const uint32_t next = lru_.next(e);
    if (next == kNoEntry || IsCommitted(next)) break;
    e = next;
  }
  // Steps 3-5. E1, E2: data and entries of this epoch durable before the bump.
  if (!(PmemMode() && POWERCUT_MUTANT(kWcPmemCommitNoFence))) CommitFlushed(/*wait_for_ios=*/true);
  // The kernel goes on to step 6 after a failed metadata write or flush (it only sets
  // its error). The bump then commits entries whose metadata the failed IO left stale:
  // after a power cut, blocks are mapped to sectors they no longer hold (the
  // writecache-faults family finds it as foreign data). powercut stops here; the error
  // fails the flush that asked for the commit, and every IO after it.
  if (has_error() && !POWERCUT_MUTANT(kWcCommitAfterError)) return;

  // Step 6. E3.
  ++seq_count_;
  StoreU64(memory_, kSeqCountOffset, seq_count_);
  if (PmemMode()) {
    PmemStoreMetadata(kSeqCountOffset, 8);
    CommitFlushed(false);
  } else {
    CommitSuperblock();
  }
  overwrote_committed_ = false;

  // Step 7. E4: older duplicates are freed only now that the newer versions are
  // committed. Walk the just-committed entries from the oldest to the newest.
  bool need_flush_after_free = false;
  for (;;) {
    const uint32_t older = tree_.Prev(e);
    if (older != kNoEntry && entries_[older].original_sector == entries_[e].original_sector &&
        !entries_[older].write_in_progress) {
      FreeEntry(older);
      need_flush_after_free = true;
    }
    const uint32_t newer = lru_.prev(e);
    if (newer == kNoEntry) break;
    e = newer;
  }
  // E5: the frees are durable before the lock is dropped.
  if (need_flush_after_free && !POWERCUT_MUTANT(kWcFreeWithoutCommit)) CommitFlushed(false);
}

void WriteCache::CommitFlushed(bool wait_for_ios) {
  if (PmemMode()) {
    // pmem_wmb: every flushing store so far is durable when the fence returns. (No
    // writes are ever in flight: pmem data is copied under the lock.)
    PmemFence();
    return;
  }
  WriteDirtyMetadata();
  if (POWERCUT_MUTANT(kWcFlushBeforeDataWait)) {
    // The bug: the flush does not cover data writes still in flight.
    DiskFlush(*cache_, "error flushing metadata");
    if (wait_for_ios) WaitForIos(kWrite);
  } else {
    // Step 4: the data of every entry about to be committed has landed ...
    if (wait_for_ios) WaitForIos(kWrite);
    // Step 5: ... and this flush makes it, and the metadata, durable.
    DiskFlush(*cache_, "error flushing metadata");
  }
}

void WriteCache::WriteDirtyMetadata() {
  if (PmemMode()) return;  // stored (and flushed from the CPU cache) already
  // Step 3: write every run of dirty regions, all at once, and wait for them.
  io::IoBatch batch(scheduler_, "writecache metadata");
  const size_t regions = dirty_regions_.size();
  for (size_t i = 0; i < regions;) {
    if (!dirty_regions_[i]) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < regions && dirty_regions_[j]) ++j;
    const uint64_t begin = i * kMetadataRegionBytes;
    const uint64_t end = std::min<uint64_t>(j * kMetadataRegionBytes, memory_.size());
    batch.Write(*cache_, start_sector_ + begin / io::kSectorSize,
                std::span<const std::byte>(memory_).subspan(begin, end - begin), io::kNoFlags);
    i = j;
  }
  if (absl::Status written = batch.Wait(); !written.ok()) SetError(written, "error writing metadata");
  dirty_regions_.assign(dirty_regions_.size(), false);
}

void WriteCache::CommitSuperblock() {
  // The superblock's block (at least 4 KiB, as the kernel writes a page), with FUA:
  // durable when the write completes, so the flush can be acknowledged after it.
  const uint64_t bytes = std::min<uint64_t>(
      std::max<uint64_t>(kSuperblockCommitBytes, geometry_.block_size), memory_.size());
  const uint32_t flags = POWERCUT_MUTANT(kWcSbNoFua) ? io::kNoFlags : io::kFua;
  absl::Status written = io::WriteSync(scheduler_, *cache_, start_sector_,
                                       std::span<const std::byte>(memory_).first(bytes), flags);
  if (!written.ok()) SetError(written, "error writing superblock");
}

void WriteCache::DiskFlush(io::BlockDevice& device, std::string_view what) {
  absl::Status flushed = io::FlushSync(scheduler_, device);
  if (!flushed.ok()) SetError(flushed, what);
}

}  // namespace powercut::writecache
