// Writeback: copying committed cache blocks to the origin and freeing them (the
// kernel's writecache_writeback, the kcopyd copies or pmem writeback bios, and the
// endio thread), both modes, and the max_age timer.
//
// When it runs: the writeback work is queued when free + under-writeback blocks fall
// to the high watermark (on allocation, at resume, for the cleaner), by the max_age
// timer, and by the flush message / flush_on_suspend (writeback_all). In SSD mode it
// first waits until no write went around the cache for pause_writeback (unless the
// cleaner or writeback_all is on). Then, under the engine lock, it picks entries:
// oldest first (LRU) while free + under-writeback <= the low watermark or the oldest
// is older than max_age; everything in sector order for writeback_all. Only committed
// entries are written back (an uncommitted one forces a commit first). An entry with
// an older duplicate still under writeback is skipped (two versions of one sector are
// never written back at once), and the endio thread queues another run when a
// writeback completes after such a skip (the kernel does not: the skipped entries
// wait for the next allocation, max_age tick or message, and with the cleaner on no
// allocation may come; docs/writecache.md, "Writeback after a skipped duplicate"). Runs of entries of consecutive sectors in consecutive
// blocks (pmem mode: in any blocks) form one copy job. At most 64 entries are looked at
// per run (the work requeues itself) except for writeback_all. writeback_jobs caps the
// blocks in flight.
//
// Completion order (what is durable when):
//   W1  the origin is flushed (unless pmem FUA writeback: the copies were written with
//       FUA) after the copies completed and before their entries are freed: the origin
//       holds the data durably before the cache may forget it;
//   W2  the frees (seq -1) are written and the SSD flushed (pmem: stored and fenced,
//       every 16 entries, when the lock is dropped for a moment) before the lock is
//       dropped, so a block is reused only after its free is durable;
//   W3  no cache read of a freed block is in flight when the lock is dropped (SSD
//       reads are waited for; pmem reads complete under the lock), so a reused block
//       is never read for its old sector.
// A failed copy or flush sets the sticky error; entries whose copy completed are then
// not freed (they stay in the tree and are still read from the cache).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {
namespace {

constexpr uint64_t kWritebackLatency = 64;  // entries looked at per run
constexpr uint64_t kEndioLatency = 16;      // pmem: entries freed per lock hold
constexpr uint32_t kMaxBlocksPerCopy = 256;  // BIO_MAX_VECS

}  // namespace

void WriteCache::QueueWriteback() {
  if (writeback_pending_) return;
  writeback_pending_ = true;
  writeback_work_wait_.NotifyAll();
}

void WriteCache::WritebackWorker() {
  for (;;) {
    writeback_work_wait_.Await([this] { return writeback_pending_; });
    writeback_pending_ = false;
    writeback_running_ = true;
    Writeback();
    writeback_running_ = false;
    ++writeback_runs_done_;
    writeback_idle_wait_.NotifyAll();
  }
}

void WriteCache::FlushWritebackQueue() {
  const uint64_t target =
      writeback_runs_done_ + (writeback_running_ ? 1 : 0) + (writeback_pending_ ? 1 : 0);
  writeback_idle_wait_.Await([this, target] { return writeback_runs_done_ >= target; });
}

runtime::Nanos WriteCache::OriginIdleTime() const {
  if (origin_writes_in_flight_ > 0) return runtime::Nanos(0);
  return scheduler_.Now() - origin_idle_since_;
}

bool WriteCache::WaitForWriteback() {
  if (writeback_size_ == 0) return false;
  WaitOnFreelist();
  return true;
}

void WriteCache::Writeback() {
  if (const uint32_t pause_ms = params_.PauseWritebackMs(); pause_ms != 0) {
    // Let writes that go around the cache have the origin to themselves for a while.
    const runtime::Nanos pause = runtime::Milliseconds(pause_ms);
    for (;;) {
      if (cleaner_ || writeback_all_ != 0 || suspended_) break;
      const runtime::Nanos idle = OriginIdleTime();
      if (idle >= pause) break;
      scheduler_.SleepFor(std::min(pause - idle, runtime::Seconds(1)));
    }
  }

  lock_.Lock();
  for (;;) {
    if (has_error()) {
      lock_.Unlock();
      return;
    }
    if (writeback_all_ != 0 && WaitForWriteback()) continue;
    break;
  }
  // In-place overwrites of committed blocks must land before their blocks are copied.
  if (overwrote_committed_) WaitForIos(kWrite);

  const uint64_t bs = BlockSectors();
  const bool has_max_age = params_.max_age_ms.has_value();
  const runtime::Nanos max_age = runtime::Milliseconds(params_.max_age_ms.value_or(0));
  auto too_old = [&] {
    if (!has_max_age) return false;
    return scheduler_.Now() - entries_[lru_.back()].age >= max_age - max_age / 16;
  };
  EntryList skipped(entries_);
  EntryList batch(entries_);
  uint64_t n_walked = 0;
  uint32_t e = kNoEntry;
  uint32_t g = kNoEntry;
  while (!lru_.empty() &&
         (writeback_all_ != 0 ||
          freelist_.size() + writeback_size_ <= (POWERCUT_MUTANT(kWcWritebackStopsAtHigh)
                                                     ? freelist_high_watermark_
                                                     : freelist_low_watermark_) ||
          too_old())) {
    ++n_walked;
    if (n_walked > kWritebackLatency && writeback_all_ == 0) {
      if (!suspended_) QueueWriteback();
      break;
    }
    if (writeback_all_ != 0) {
      if (e == kNoEntry) {
        Commit();
        e = tree_.First();
      } else {
        e = g;
      }
    } else {
      e = lru_.back();  // the oldest
    }
    if (e == kNoEntry || entries_[e].write_in_progress) break;
    if (!IsCommitted(e) && !POWERCUT_MUTANT(kWcWritebackUncommitted)) {
      Commit();
      // The commit frees older duplicates; if `e` was one, it is gone (the kernel would
      // go on with a freed entry here). Pick again.
      if (!entries_[e].in_tree && !POWERCUT_MUTANT(kWcExtendOverCached)) continue;
    }
    const uint32_t older = tree_.Prev(e);
    if (older != kNoEntry && entries_[older].original_sector == entries_[e].original_sector) {
      // An older version of this sector is still being written back.
      skipped.PushFront(e);
      continue;
    }
    ++writeback_size_;
    batch.PushFront(e);
    entries_[e].write_in_progress = true;
    entries_[e].wc_list_contiguous = 1;
    uint32_t f = e;
    for (;;) {
      const uint32_t next = tree_.Next(f);
      if (next == kNoEntry) break;
      g = next;
      if (entries_[g].original_sector == entries_[f].original_sector) {
        f = g;
        continue;
      }
      if (entries_[g].original_sector != entries_[f].original_sector + bs) break;
      if (entries_[g].write_in_progress) break;
      if (!IsCommitted(g)) break;
      if (!PmemMode() && g != f + 1) break;  // SSD: one copy job covers consecutive blocks
      ++n_walked;
      ++writeback_size_;
      batch.PushFront(g);
      entries_[g].write_in_progress = true;
      entries_[g].wc_list_contiguous = kMaxBlocksPerCopy;
      f = g;
      if (++entries_[e].wc_list_contiguous == kMaxBlocksPerCopy) {
        if (writeback_all_ != 0) {
          if (const uint32_t after = tree_.Next(f); after != kNoEntry) g = after;
        }
        break;
      }
    }
  }
  if (!skipped.empty()) {
    lru_.SpliceBack(skipped);
    writeback_skipped_ = true;
    // No progress possible until some writeback completes: wait rather than spin.
    if (batch.empty()) WaitForWriteback();
  }
  lock_.Unlock();

  SubmitCopies(batch);

  if (writeback_all_ != 0) {
    lock_.Lock();
    while (WaitForWriteback()) {
    }
    lock_.Unlock();
  }
}

void WriteCache::SubmitCopies(EntryList& batch) {
  const uint32_t max_jobs = params_.WritebackJobs();
  while (!batch.empty()) {
    // The batch's back is the entry picked first; its run follows it.
    CopyJob job;
    const uint32_t n = entries_[batch.back()].wc_list_contiguous;
    for (uint32_t k = 0; k < n; ++k) {
      job.entries.push_back(batch.back());
      EntryList::Unlist(entries_, batch.back());
    }
    scheduler_.Spawn("wc-copy", [this, job = std::move(job)]() mutable { RunCopy(std::move(job)); },
                     runtime::FiberKind::kDaemon);
    // writeback_jobs: blocks submitted and not yet completed.
    if (max_jobs != 0 && writeback_size_ - batch.size() >= max_jobs) {
      lock_.Lock();
      while (writeback_size_ - batch.size() >= max_jobs) WaitOnFreelist();
      lock_.Unlock();
    }
  }
}

absl::Status WriteCache::ReadForCopy(const CopyJob& job, std::span<std::byte> buffer) {
  if (!PmemMode()) {
    return io::ReadSync(scheduler_, *cache_, CacheSector(job.entries.front()), buffer);
  }
  const uint64_t block_bytes = geometry_.block_size;
  for (size_t k = 0; k * block_bytes < buffer.size(); ++k) {
    const uint64_t bytes = std::min<uint64_t>(block_bytes, buffer.size() - k * block_bytes);
    PmemReadBlock(CacheSector(job.entries[k]), buffer.subspan(k * block_bytes, bytes));
  }
  return absl::OkStatus();
}

void WriteCache::RunCopy(CopyJob job) {
  const uint64_t to = entries_[job.entries.front()].original_sector;
  uint64_t sectors = uint64_t{job.entries.size()} * BlockSectors();
  if (to + sectors > data_device_sectors_) {
    sectors = to >= data_device_sectors_ ? 0 : data_device_sectors_ - to;
  }
  if (sectors > 0) {
    std::vector<std::byte> buffer(sectors * io::kSectorSize);
    job.status = ReadForCopy(job, buffer);
    if (job.status.ok()) {
      job.status = io::WriteSync(scheduler_, origin_, to, buffer,
                                 params_.WritebackFua() ? io::kFua : io::kNoFlags);
    }
  }
  if (endio_list_.empty()) endio_wait_.NotifyAll();
  endio_list_.push_back(std::move(job));
}

void WriteCache::EndioThread() {
  for (;;) {
    endio_wait_.Await([this] { return !endio_list_.empty(); });
    std::deque<CopyJob> done;
    done.swap(endio_list_);
    // W1: the copies are durable on the origin before their entries are freed.
    if (!params_.WritebackFua() && !POWERCUT_MUTANT(kWcWritebackNoOriginFlush)) {
      DiskFlush(origin_, "error flushing origin");
    }
    lock_.Lock();
    uint64_t n_walked = 0;
    for (const CopyJob& job : done) {
      if (!job.status.ok()) SetError(job.status, "copy error");
      for (const uint32_t i : job.entries) {
        entries_[i].write_in_progress = false;
        EntryList::Unlist(entries_, i);
        if (!has_error()) FreeEntry(i);
        --writeback_size_;
        if (PmemMode() && ++n_walked >= kEndioLatency) {
          // W2: the frees so far are durable before the lock is dropped.
          CommitFlushed(false);
          lock_.Unlock();
          lock_.Lock();
          n_walked = 0;
        }
      }
    }
    // Waiters on writeback_size_ (writeback_jobs, writeback_all) also wait here; wake
    // them even when the error state kept the entries from being freed.
    freelist_wait_.NotifyAll();
    // Entries skipped for an older duplicate under writeback are due now (the kernel
    // leaves them until the next trigger: with the cleaner on, maybe for ever).
    if (writeback_skipped_ && !suspended_ && !POWERCUT_MUTANT(kWcSkippedWritebackNotRequeued)) {
      writeback_skipped_ = false;
      QueueWriteback();
    }
    // W3: no read of a freed block is still in flight ...
    if (!PmemMode() && !POWERCUT_MUTANT(kWcReuseWhileReading)) WaitForIos(kRead);
    // W2: ... and the frees are durable, before the lock is dropped and a block reused.
    CommitFlushed(false);
    lock_.Unlock();
  }
}

void WriteCache::MaxAgeTimer() {
  for (;;) {
    if (!max_age_deadline_) {
      max_age_timer_wait_.Wait();
      continue;
    }
    if (scheduler_.Now() >= *max_age_deadline_) {
      max_age_deadline_.reset();
      if (!suspended_ && !has_error()) {
        QueueWriteback();
        max_age_deadline_ = scheduler_.Now() + runtime::Milliseconds(*params_.max_age_ms) / 16;
      }
      continue;
    }
    max_age_timer_wait_.WaitUntil(*max_age_deadline_);
  }
}

}  // namespace powercut::writecache
