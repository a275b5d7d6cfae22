// Raid1Array's bitmap IO and the bitmap daemon (raid1.h): Unplug (md_bitmap_unplug),
// WritePages, FlushAll, DaemonWork / RunDaemon (md_bitmap_daemon_work) and Stop
// (do_md_stop: drain, md_bitmap_flush, a clean md_update_sb).
//
// What is durable when: Unplug returns once every page the bitmap hands over is durable
// on every in-sync member (PREFLUSH|FUA) or in the bitmap file (FUA), and any member
// failure it caused is recorded: only then may data go out (I2, I9). The daemon clears
// bits on disk only after flushing every member (I1, I3); Stop leaves every idle bit
// cleared on disk and the md superblocks clean (resync_offset done), bitmap superblock
// first (I5).
//
// Why the daemon flushes every member before writing cleared bits: each member carries
// its own copy of the bitmap, and a page write's PREFLUSH only makes *that* member's
// earlier writes durable. Writing the cleared page to member A (PREFLUSH|FUA) while
// member B's copy of the chunk's data still sits in B's volatile cache would let a
// power cut leave A saying "clean" over data that differs from B's (an I1 violation
// the moment A's bitmap is the one loaded). So the daemon first flushes all members
// and waits, then writes the pages: every mirror's data is durable before any copy of
// the bitmap says the chunk is clean (I1, I3).
#include <utility>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/raid1/internal/metadata.h"
#include "engine/raid1/raid1.h"
#include "engine/runtime/time.h"

namespace powercut::raid1 {

using internal::kMetadataWrite;

absl::Status Raid1Array::WritePages(const std::vector<PageWrite>& pages, bool unplug) {
  if (pages.empty()) return absl::OkStatus();
  if (external()) {  // FUA: durable on completion (see raid1.h)
    io::IoBatch batch(scheduler_, "r1 bitmap file");
    for (const PageWrite& page : pages) {
      batch.Write(*options_.bitmap_file, page.range.offset / io::kSectorSize, page.data, io::kFua);
    }
    return batch.Wait();
  }
  std::vector<size_t> targets = Members(MemberState::kInSync);
  if (POWERCUT_MUTANT(kBmUnplugFirstMemberOnly) && unplug) targets.resize(1);
  return OnMembers(targets, "r1 bitmap", [&](io::IoBatch& batch, size_t i) {
    for (const PageWrite& page : pages) {
      batch.Write(*members_[i], geometry_.bitmap_sector + page.range.offset / io::kSectorSize,
                  page.data, kMetadataWrite);
    }
  });
}

absl::Status Raid1Array::FlushAll() {
  return OnMembers(Members(MemberState::kInSync), "r1 flush",
                   [&](io::IoBatch& batch, size_t i) { batch.Flush(*members_[i]); });
}

absl::Status Raid1Array::DaemonWork() {
  // No mirror left: nothing to keep in sync.
  if (absl::Status s = RecordFailures(); !s.ok()) return s;
  runtime::MutexLock lock(bitmap_io_);
  if (bitmap_->all_clean()) return absl::OkStatus();
  // Every mirror's data durable before any member's copy says "clean" (see top).
  // Flushing before the sweep is enough: a counter the sweep takes from 1 to 0 had its
  // last write completed before the previous sweep.
  if (!POWERCUT_MUTANT(kRaid1DaemonNoFlush) && !FlushAll().ok()) return absl::OkStatus();
  // A member that failed the flush may hold the only copy of data it did not make
  // durable; its failure is recorded before any bit is cleared.
  if (FailuresPending() || !bitmap_->DaemonSweep()) return absl::OkStatus();
  // A write that fails leaves bits set on disk: safe, the next sweep retries.
  (void)WritePages(bitmap_->TakeDaemonWrites());
  return absl::OkStatus();
}

void Raid1Array::RunDaemon() {
  while (!stopping_) {
    const runtime::Nanos wake = scheduler_.Now() + runtime::Seconds(options_.daemon_sleep_s);
    while (!stopping_ && scheduler_.Now() < wake) {
      if (POWERCUT_MUTANT(kRaid1DaemonBusyWait)) {
        scheduler_.Yield();
      } else {
        daemon_wait_.WaitUntil(wake);
      }
    }
    if (stopping_ || !DaemonWork().ok()) break;
  }
  daemon_done_.Set();
}

absl::Status Raid1Array::Stop() {
  if (!running()) return absl::FailedPreconditionError("raid1: array not running");
  stopping_ = true;  // new requests are refused from now on
  if (POWERCUT_MUTANT(kRaid1StopCleanBeforeDrain)) {
    clean_ = true;
    (void)UpdateSuperblocks();
  }
  // md's quiesce: every request accepted before (write-behind included) completes.
  if (!POWERCUT_MUTANT(kRaid1StopNoDrain)) idle_wait_.Await([&] { return active_requests_ == 0; });
  daemon_wait_.NotifyAll();
  if (daemon_started_) daemon_done_.Wait();
  // md_bitmap_flush: three daemon sweeps take every idle counter 2 -> 1 -> 0 and write
  // the clears (each after flushing every member: I3); NEEDED chunks keep their bits.
  for (int sweep = 0; sweep < 3; ++sweep) {
    if (absl::Status s = DaemonWork(); !s.ok()) return s;
  }
  // md_update_sb with in_sync set: events bumped, the bitmap superblock, then the md
  // superblocks with resync_offset = done (I5). Each md superblock write's PREFLUSH
  // makes its member's data durable first, so a member whose clean superblock is
  // durable holds every completed write. A member whose superblock write fails is then
  // recorded faulty on the others (md_update_sb repeats), or their clean superblocks
  // would list it in sync.
  clean_ = true;
  if (absl::Status s = UpdateSuperblocks(); !s.ok()) return s;
  return RecordFailures();
}

absl::Status Raid1Array::Unplug() {
  std::vector<PageWrite> pages;
  {
    // Holding bitmap_io_ is "after earlier bitmap writes"; a page another request's
    // unplug took is written before that unplug releases the lock (I2).
    runtime::MutexLock lock(bitmap_io_);
    pages = bitmap_->TakeUnplugWrites();
    if (POWERCUT_MUTANT(kBmUnplugNoWait) && !pages.empty()) {
      scheduler_.Spawn(
          "raid1-unplug-behind",
          [this, pages = std::move(pages)] {
            runtime::MutexLock behind(bitmap_io_);
            (void)WritePages(pages);
          },
          runtime::FiberKind::kDaemon);
    } else if (absl::Status s = WritePages(pages, /*unplug=*/true); !s.ok()) {
      return s;  // the intent is not durable: no data may go out (I2)
    }
  }
  // A member whose page write failed is out; its failure durable before data (I9).
  return RecordFailures();
}

}  // namespace powercut::raid1
