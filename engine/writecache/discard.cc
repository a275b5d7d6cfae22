// The discard path (the kernel's writecache_map_discard and writecache_discard), both
// modes.
//
// SSD mode: a discard is offloaded to the flush thread, which, under the engine lock,
// frees the entries of the range that are not under writeback (waiting once for every
// in-flight cache read and write, so no freed block is still being read or written),
// writes the metadata and flushes the SSD (the frees are durable before the lock is
// dropped and the blocks can be reused), then passes the discard to the origin. pmem
// mode does the same in the request's own fiber, with flushing stores and a fence, and
// without waiting for IO (pmem reads and writes complete under the lock). The discard
// completes when the origin's does. It does not bump seq_count.
//
// What is durable when: the frees, before the blocks are reused. The origin's discard
// is not made durable, so after a power cut a discarded sector may show any older data
// the origin held, or zeroes.
#include "absl/strings/str_cat.h"
#include "engine/mutant/mutant.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {

void WriteCache::RunDiscard(uint64_t sector, uint64_t sectors, Tracker tracker) {
  Admit(tracker);
  if (!Aligned(sector, sectors)) {
    return tracker->Finish(absl::InvalidArgumentError(
        absl::StrCat("writecache: I/O is not aligned, sector ", sector, ", size ",
                     sectors * io::kSectorSize, ", block size ", geometry_.block_size)));
  }
  lock_.Lock();
  stats_.discards += sectors / BlockSectors();
  if (has_error()) {
    lock_.Unlock();
    return tracker->Finish(ErrorStatus());
  }
  tracker->Add();
  if (PmemMode()) {
    Discard(sector, sector + sectors);
    lock_.Unlock();
    origin_.SubmitDiscard(sector, sectors, [tracker](absl::Status s) { tracker->Finish(s); });
  } else {
    OffloadBio(OffloadedBio{true, sector, sectors, tracker});
    lock_.Unlock();
  }
  tracker->Finish(absl::OkStatus());
}

void WriteCache::Discard(uint64_t start, uint64_t end) {
  uint32_t e = tree_.FindFollowing(start, /*lowest=*/true);
  if (e == kNoEntry) return;
  bool discarded_something = false;
  while (entries_[e].original_sector < end) {
    const uint32_t next = tree_.Next(e);
    if (!entries_[e].write_in_progress) {
      if (!discarded_something) {
        // No freed block may still be read or written (W3).
        if (!PmemMode()) {
          WaitForIos(kRead);
          WaitForIos(kWrite);
        }
        discarded_something = true;
      }
      if (!IsCommitted(e) && uncommitted_blocks_ > 0) --uncommitted_blocks_;
      FreeEntry(e);
    }
    if (next == kNoEntry) break;
    e = next;
  }
  // The frees are durable before the lock is dropped (no reuse before that).
  if (discarded_something && !POWERCUT_MUTANT(kWcFreeWithoutCommit)) CommitFlushed(false);
}

}  // namespace powercut::writecache
