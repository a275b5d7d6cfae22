// Flush requests, the flush thread, and autocommit (by blocks and by time).
//
// SSD mode: a flush request becomes two: the commit, offloaded to the flush thread (which runs
// it under the engine lock and fails the request if the engine is then in the error
// state), and a flush forwarded to the origin at once, which makes the writes that went
// around the cache durable. The request completes when both have. So every write
// acknowledged before the flush was submitted is durable when it is acknowledged:
// cached blocks by the commit protocol (commit.cc), written-around blocks by the origin
// flush, written-back blocks because writeback flushed the origin before freeing them.
//
// pmem mode: the flush request's own fiber commits, under the engine lock, and the
// request completes when the commit did (failing if the engine is then in the error
// state). Nothing went around the cache unless the cleaner or metadata_only sends new
// blocks to the origin, so only then is the flush also forwarded to the origin (as in
// the kernel). pmem mode has no flush thread.
//
// The flush thread also runs discards (discard.cc), in submission order with flushes.
// Autocommit: a write that brings the uncommitted blocks to autocommit_blocks queues
// the flush work (a commit on its own fiber); otherwise it arms the autocommit timer,
// which queues the flush work autocommit_time after the first uncommitted write. Both
// are commits like any other; neither acknowledges anything.
#include "absl/strings/str_cat.h"
#include "engine/mutant/mutant.h"
#include "engine/probe/probe.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {

void WriteCache::RunFlush(Tracker tracker) {
  Admit(tracker);
  MapFlush(tracker);
  tracker->Finish(absl::OkStatus());
}

void WriteCache::MapFlush(const Tracker& tracker) {
  lock_.Lock();
  if (has_error()) {
    lock_.Unlock();
    tracker->Add();  // records the error; the caller's own Finish completes it
    tracker->Finish(ErrorStatus());
    return;
  }
  ++stats_.flushes;
  if (PmemMode()) {
    Commit();
    tracker->Add();
    if (has_error()) {
      tracker->Finish(ErrorStatus());
    } else if (cleaner_ || params_.metadata_only) {
      origin_.SubmitFlush([tracker](absl::Status s) { tracker->Finish(s); });
    } else {
      tracker->Finish(absl::OkStatus());
    }
    lock_.Unlock();
    return;
  }
  tracker->Add();
  OffloadBio(OffloadedBio{false, 0, 0, tracker});
  // The second flush bio goes to the origin: it covers the writes around the cache.
  if (!POWERCUT_MUTANT(kWcOriginFlushDropped)) {
    tracker->Add();
    origin_.SubmitFlush([tracker](absl::Status s) { tracker->Finish(s); });
  }
  lock_.Unlock();
}

void WriteCache::OffloadBio(OffloadedBio bio) {
  if (flush_list_.empty()) flush_thread_wait_.NotifyAll();
  flush_list_.push_back(std::move(bio));
}

void WriteCache::FlushThread() {
  for (;;) {
    lock_.Lock();
    if (flush_list_.empty()) {
      lock_.Unlock();
      flush_thread_wait_.Wait();
      continue;
    }
    OffloadedBio bio = std::move(flush_list_.front());
    flush_list_.pop_front();
    if (bio.discard) {
      Discard(bio.sector, bio.sector + bio.sectors);
      lock_.Unlock();
      origin_.SubmitDiscard(bio.sector, bio.sectors,
                            [tracker = bio.tracker](absl::Status s) { tracker->Finish(s); });
    } else {
      Commit();
      lock_.Unlock();
      bio.tracker->Finish(has_error() ? ErrorStatus() : absl::OkStatus());
    }
  }
}

void WriteCache::QueueFlushWork() {
  if (flush_work_pending_) return;
  flush_work_pending_ = true;
  flush_work_wait_.NotifyAll();
}

void WriteCache::FlushWorker() {
  for (;;) {
    flush_work_wait_.Await([this] { return flush_work_pending_; });
    flush_work_pending_ = false;
    lock_.Lock();
    Commit();
    lock_.Unlock();
  }
}

void WriteCache::ScheduleAutocommit() {
  if (autocommit_deadline_) return;  // already pending
  autocommit_deadline_ = scheduler_.Now() + runtime::Milliseconds(params_.AutocommitTimeMs());
  autocommit_timer_wait_.NotifyAll();
}

void WriteCache::CancelAutocommit() { autocommit_deadline_.reset(); }

void WriteCache::AutocommitTimer() {
  for (;;) {
    if (!autocommit_deadline_) {
      autocommit_timer_wait_.Wait();
      continue;
    }
    if (scheduler_.Now() >= *autocommit_deadline_) {
      autocommit_deadline_.reset();
      if (!has_error()) {
        POWERCUT_PROBE(kWcAutocommitByTime);
        QueueFlushWork();
      }
      continue;
    }
    autocommit_timer_wait_.WaitUntil(*autocommit_deadline_);
  }
}

}  // namespace powercut::writecache
