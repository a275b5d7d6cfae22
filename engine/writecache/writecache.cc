// WriteCache creation, the request entry points, suspend/resume gating, the sticky
// error, and the small helpers every path shares (metadata copy, entry lists).
//
// What is durable when: nothing here makes anything durable by itself. In SSD mode the
// metadata copy in RAM reaches the cache device only through CommitFlushed /
// CommitSuperblock (commit.cc); in pmem mode SetEntry and ClearSeq store the entry with
// flushing stores, durable at the next fence (CommitFlushed).
#include "engine/writecache/writecache.h"

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/probe/probe.h"
#include "engine/runtime/assertion.h"

namespace powercut::writecache {

void WriteCache::IoTracker::Finish(const absl::Status& s) {
  if (!s.ok() && status.ok()) status = s;
  if (--pending > 0) return;
  io::IoCallback callback = std::move(done);
  WriteCache* wc = engine;
  const bool was_entered = entered;
  callback(std::move(status));
  if (was_entered) wc->LeaveRequest();
}

absl::Status WriteCache::CheckFit(const io::BlockDevice& origin, uint64_t cache_bytes,
                                  const Params& params) {
  if (absl::Status valid = Validate(params); !valid.ok()) return valid;
  // Our devices have 512-byte logical blocks, which every valid block size covers.
  const uint64_t cache_sectors = cache_bytes / io::kSectorSize;
  if (params.StartSector() >= cache_sectors) {
    return absl::InvalidArgumentError(
        absl::StrCat("writecache: Invalid optional argument (start_sector ", params.StartSector(),
                     " is not inside the ", cache_sectors, "-sector cache device)"));
  }
  const uint64_t area = (cache_sectors - params.StartSector()) * io::kSectorSize;
  if (absl::StatusOr<Geometry> geometry = ComputeGeometry(area, params.block_size); !geometry.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("writecache: Invalid device size (", geometry.status().message(), ")"));
  }
  if (origin.sector_count() == 0) {
    return absl::InvalidArgumentError("writecache: the origin device is empty");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WriteCache>> WriteCache::Create(runtime::Scheduler& scheduler,
                                                               io::BlockDevice& origin,
                                                               io::BlockDevice& cache,
                                                               Params params) {
  if (params.mode != Mode::kSsd) {
    return absl::InvalidArgumentError("writecache: pmem mode needs a persistent memory cache");
  }
  if (absl::Status fit = CheckFit(origin, cache.sector_count() * io::kSectorSize, params); !fit.ok()) {
    return fit;
  }
  return std::unique_ptr<WriteCache>(
      new WriteCache(scheduler, origin, &cache, nullptr, std::move(params)));
}

absl::StatusOr<std::unique_ptr<WriteCache>> WriteCache::Create(runtime::Scheduler& scheduler,
                                                               io::BlockDevice& origin,
                                                               io::PersistentMemory& pmem,
                                                               Params params) {
  if (params.mode != Mode::kPmem) {
    return absl::InvalidArgumentError("writecache: SSD mode needs a block device cache");
  }
  if (absl::Status fit = CheckFit(origin, pmem.size(), params); !fit.ok()) return fit;
  return std::unique_ptr<WriteCache>(
      new WriteCache(scheduler, origin, nullptr, &pmem, std::move(params)));
}

WriteCache::WriteCache(runtime::Scheduler& scheduler, io::BlockDevice& origin,
                       io::BlockDevice* cache, io::PersistentMemory* pmem, Params params)
    : scheduler_(scheduler),
      origin_(origin),
      cache_(cache),
      pmem_(pmem),
      params_(std::move(params)),
      name_(absl::StrCat("writecache(", origin.name(), ",", cache ? cache->name() : pmem->name(), ")")),
      start_sector_(params_.StartSector()),
      area_bytes_((cache ? cache->sector_count() * io::kSectorSize : pmem->size()) -
                  params_.StartSector() * io::kSectorSize),
      lock_(scheduler, "writecache"),
      freelist_wait_(scheduler, "writecache freelist"),
      bio_in_progress_wait_{runtime::WaitQueue(scheduler, "writecache reads in progress"),
                            runtime::WaitQueue(scheduler, "writecache writes in progress")},
      resume_wait_(scheduler, "writecache suspended"),
      requests_drained_(scheduler, "writecache requests draining"),
      flush_thread_wait_(scheduler, "writecache flush thread idle"),
      flush_work_wait_(scheduler, "writecache flush work idle"),
      writeback_work_wait_(scheduler, "writecache writeback idle"),
      writeback_idle_wait_(scheduler, "writecache writeback running"),
      endio_wait_(scheduler, "writecache endio idle"),
      autocommit_timer_wait_(scheduler, "writecache autocommit timer"),
      max_age_timer_wait_(scheduler, "writecache max_age timer") {
  cleaner_ = params_.cleaner;
}

WriteCache::~WriteCache() {
  // Entries may still sit in lists that are members; detach them before the lists
  // and the entry vector go away in an arbitrary order.
  lru_.Clear();
  freelist_.Clear();
}

// ---- Requests ----------------------------------------------------------------------

WriteCache::Tracker WriteCache::NewTracker(io::IoCallback done) {
  auto tracker = std::make_shared<IoTracker>();
  tracker->engine = this;
  tracker->done = std::move(done);
  return tracker;
}

void WriteCache::Admit(const Tracker& tracker) {
  WaitWhileSuspended();
  ++requests_in_flight_;
  tracker->entered = true;
}

void WriteCache::LeaveRequest() {
  if (--requests_in_flight_ == 0) requests_drained_.NotifyAll();
}

void WriteCache::WaitWhileSuspended() {
  resume_wait_.Await([this] { return !suspended_; });
}

void WriteCache::SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(buffer.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, buffer.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  Tracker tracker = NewTracker(std::move(done));
  scheduler_.Spawn("wc-read", [this, sector, buffer, tracker = std::move(tracker)]() mutable {
    RunRead(sector, buffer, std::move(tracker));
  }, runtime::FiberKind::kDaemon);
}

void WriteCache::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                             io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(data.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, data.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  Tracker tracker = NewTracker(std::move(done));
  scheduler_.Spawn("wc-write", [this, sector, data, flags, tracker = std::move(tracker)]() mutable {
    RunWrite(sector, data, flags, std::move(tracker));
  }, runtime::FiberKind::kDaemon);
}

void WriteCache::SubmitFlush(io::IoCallback done) {
  Tracker tracker = NewTracker(std::move(done));
  scheduler_.Spawn("wc-flush", [this, tracker = std::move(tracker)]() mutable {
    RunFlush(std::move(tracker));
  }, runtime::FiberKind::kDaemon);
}

void WriteCache::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  absl::Status valid = io::ValidateRange(sector_count(), sector, sectors);
  if (!valid.ok()) return done(valid);
  Tracker tracker = NewTracker(std::move(done));
  scheduler_.Spawn("wc-discard", [this, sector, sectors, tracker = std::move(tracker)]() mutable {
    RunDiscard(sector, sectors, std::move(tracker));
  }, runtime::FiberKind::kDaemon);
}

void WriteCache::SubmitToCache(Direction dir, uint64_t cache_sector,
                               std::span<std::byte> read_buffer,
                               std::span<const std::byte> write_data, uint32_t flags,
                               const Tracker& tracker) {
  ++bio_in_progress_[dir];
  tracker->Add();
  auto complete = [this, dir, tracker](absl::Status status) {
    EndCacheIo(dir);
    tracker->Finish(status);
  };
  if (dir == kRead) {
    cache_->SubmitRead(cache_sector, read_buffer, std::move(complete));
  } else {
    cache_->SubmitWrite(cache_sector, write_data, flags, std::move(complete));
  }
}

void WriteCache::SubmitToOrigin(Direction dir, uint64_t sector, std::span<std::byte> read_buffer,
                                std::span<const std::byte> write_data, uint32_t flags,
                                const Tracker& tracker) {
  tracker->Add();
  if (dir == kRead) {
    origin_.SubmitRead(sector, read_buffer, [tracker](absl::Status s) { tracker->Finish(s); });
    return;
  }
  // Writes around the cache postpone writeback (pause_writeback).
  const bool track = params_.PauseWritebackMs() != 0;
  if (track) ++origin_writes_in_flight_;
  origin_.SubmitWrite(sector, write_data, flags, [this, track, tracker](absl::Status s) {
    if (track && --origin_writes_in_flight_ == 0) origin_idle_since_ = scheduler_.Now();
    tracker->Finish(s);
  });
}

void WriteCache::EndCacheIo(Direction dir) {
  if (--bio_in_progress_[dir] == 0) bio_in_progress_wait_[dir].NotifyAll();
}

void WriteCache::WaitForIos(Direction dir) {
  bio_in_progress_wait_[dir].Await([this, dir] { return bio_in_progress_[dir] == 0; });
}

// ---- Errors ------------------------------------------------------------------------

void WriteCache::SetError(const absl::Status& status, std::string_view what) {
  if (error_.ok()) {
    POWERCUT_PROBE(kWcStickyError);
    error_ = absl::DataLossError(absl::StrCat(name_, ": ", std::string(what), ": ",
                                              status.ToString()));
  }
  freelist_wait_.NotifyAll();
}

absl::Status WriteCache::ErrorStatus() const {
  return absl::DataLossError(absl::StrCat("writecache is in the error state (", error_.message(), ")"));
}

// ---- Metadata copy and entry lists ----------------------------------------------

void WriteCache::SetEntry(uint32_t i, uint64_t original_sector, uint64_t seq) {
  entries_[i].original_sector = original_sector;
  entries_[i].seq_count = seq;
  EncodeEntry(MemoryEntry{original_sector, seq},
              std::span<std::byte>(memory_).subspan(Geometry::EntryOffset(i), kEntryBytes));
  if (PmemMode()) PmemStoreMetadata(Geometry::EntryOffset(i), kEntryBytes);
}

void WriteCache::ClearSeq(uint32_t i) {
  entries_[i].seq_count = kFreeSeq;
  StoreU64(memory_, Geometry::EntryOffset(i) + 8, kFreeSeq);
  if (PmemMode()) PmemStoreMetadata(Geometry::EntryOffset(i) + 8, 8);
}

// pmem mode has no dirty regions: its stores are already flushing.
void WriteCache::MarkDirty(uint64_t offset) {
  if (!PmemMode()) dirty_regions_[offset / kMetadataRegionBytes] = true;
}

void WriteCache::MarkAllDirty() {
  if (!PmemMode()) dirty_regions_.assign(dirty_regions_.size(), true);
}

uint32_t WriteCache::InsertEntry(uint32_t i) {
  const uint32_t older = tree_.Insert(i);
  lru_.PushFront(i);
  entries_[i].age = scheduler_.Now();
  return older;
}

void WriteCache::UnlinkEntry(uint32_t i) {
  EntryList::Unlist(entries_, i);
  tree_.Erase(i);
}

void WriteCache::AddToFreelist(uint32_t i) { freelist_.Add(i); }

uint32_t WriteCache::PopFromFreelist(std::optional<uint64_t> expected_cache_sector) {
  const uint32_t e = freelist_.Peek();
  if (e == kNoEntry) return kNoEntry;
  if (expected_cache_sector && CacheSector(e) != *expected_cache_sector) return kNoEntry;
  POWERCUT_ASSERT(!entries_[e].in_tree && !entries_[e].write_in_progress, "entry ", e,
                  " is on the free list while it maps a sector or is under writeback");
  freelist_.Pop();
  VerifyWatermark();
  return e;
}

void WriteCache::FreeEntry(uint32_t i) {
  UnlinkEntry(i);
  AddToFreelist(i);
  ClearSeq(i);
  MarkDirty(Geometry::EntryOffset(i));
  freelist_wait_.NotifyAll();
}

void WriteCache::WaitOnFreelist() {
  lock_.Unlock();
  freelist_wait_.Wait();
  lock_.Lock();
}

void WriteCache::VerifyWatermark() {
  if (freelist_.size() + writeback_size_ <= freelist_high_watermark_) QueueWriteback();
}

// ---- Lifecycle ---------------------------------------------------------------------

absl::Status WriteCache::Suspend() {
  if (!started_) return absl::FailedPreconditionError("writecache: not started");
  if (suspended_) return absl::FailedPreconditionError("writecache: already suspended");
  // Like DM core: stop mapping new requests, wait for those in flight.
  suspended_ = true;
  requests_drained_.Await([this] { return requests_in_flight_ == 0; });
  CancelAutocommit();
  max_age_deadline_.reset();

  lock_.Lock();
  Commit();
  const bool flush_on_suspend = flush_on_suspend_;
  if (flush_on_suspend) {
    flush_on_suspend_ = false;
    ++writeback_all_;
    QueueWriteback();
  }
  lock_.Unlock();
  FlushWritebackQueue();
  lock_.Lock();
  if (flush_on_suspend) --writeback_all_;
  while (WaitForWriteback()) {
  }
  lock_.Unlock();
  return has_error() ? ErrorStatus() : absl::OkStatus();
}

absl::Status WriteCache::Resume() {
  if (!started_) return absl::FailedPreconditionError("writecache: not started");
  if (!suspended_) return absl::FailedPreconditionError("writecache: not suspended");
  lock_.Lock();
  Recover();
  lock_.Unlock();
  suspended_ = false;
  resume_wait_.NotifyAll();
  return absl::OkStatus();
}

void WriteCache::SpawnThreads() {
  if (threads_spawned_) return;
  threads_spawned_ = true;
  using runtime::FiberKind;
  // pmem mode maps flushes and discards in the request's own fiber.
  if (!PmemMode()) scheduler_.Spawn("wc-flush-thread", [this] { FlushThread(); }, FiberKind::kDaemon);
  scheduler_.Spawn("wc-flush-work", [this] { FlushWorker(); }, FiberKind::kDaemon);
  scheduler_.Spawn("wc-autocommit-timer", [this] { AutocommitTimer(); }, FiberKind::kDaemon);
  scheduler_.Spawn("wc-writeback", [this] { WritebackWorker(); }, FiberKind::kDaemon);
  scheduler_.Spawn("wc-endio", [this] { EndioThread(); }, FiberKind::kDaemon);
  scheduler_.Spawn("wc-max-age-timer", [this] { MaxAgeTimer(); }, FiberKind::kDaemon);
}

}  // namespace powercut::writecache
