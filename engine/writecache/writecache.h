// WriteCache: a write-back cache in front of an origin device, a userspace
// dm-writecache (target version 1.6.0) with the kernel's on-media format.
//
// The engine is itself a BlockDevice: the logical device, the size of the origin.
// Writes land in cache blocks on the cache device and are committed in epochs
// (seq_count); a background writeback copies committed blocks to the origin and frees
// them. Two modes, as in the kernel: SSD mode (the cache is a BlockDevice; metadata is
// kept in RAM and written in 64 KiB regions) and pmem mode (the cache is a
// PersistentMemory; entries, seq_count and data are written with flushing stores and
// ordered with fences). The facts it matches are in docs/writecache.md;
// each job lives in one file, with the mode switches where the kernel has them:
//
//   format.cc      on-media layout          params.cc     table parameters
//   commit.cc      flush = commit (E1..E6)  recovery.cc   start, format, resume
//   write_path.cc  writes                   read_path.cc  reads
//   discard.cc     discards                 flush_thread.cc  flush thread, autocommit
//   writeback.cc   writeback (W1..W3), max_age             status.cc  status, messages
//   pmem.cc        pmem mode's stores, fences and loads
//   writecache.cc  creation, IO entry points, lifecycle, errors
//
//   auto wc = WriteCache::Create(scheduler, origin, ssd, *ParseTable("s o c 4096 0"));
//   auto wp = WriteCache::Create(scheduler, origin, pmem, *ParseTable("p o c 4096 0"));
//   // from a fiber:
//   absl::Status started = (*wc)->Start();   // format a blank cache, or recover
//   io::WriteSync(scheduler, **wc, 0, data, io::kNoFlags);
//   io::FlushSync(scheduler, **wc);           // commit: the write now survives a crash
//
// Durability contract (what powercut checks; see docs/writecache.md):
//   - A write acknowledged before a flush was submitted survives a power cut once the
//     flush is acknowledged (the commit protocol for cached blocks, a forwarded origin
//     flush for writes that went around the cache).
//   - SSD mode: FUA alone promises nothing. The kernel sends a cached FUA write to the
//     SSD with FUA, but the entry that maps it is only in RAM until the next commit, so
//     a power cut before a flush may lose it. powercut keeps the kernel's behaviour and
//     its oracle does not treat SSD-mode FUA writes as durable.
//   - pmem mode: a FUA write commits before it is acknowledged, so it survives a power
//     cut on its own (the commit also covers every cached write before it; writes that
//     went around the cache still need a flush).
//   - Unflushed writes may come back old or new, per sector. A discarded sector may
//     come back as any older data of that sector (the origin's) or zeroes.
//
// IO paths: Submit* validate the request and spawn one fiber per request (returning at
// once); that fiber takes the engine lock, maps the request piece by piece as the
// kernel's map function does, and forwards each piece to the cache device or the
// origin (pmem mode copies cached blocks to or from the persistent memory under the
// lock instead). `done` runs when every piece completed, from a device completion or from an
// engine fiber (never inside Submit*); it must not block.
//
// Engine threads are fibers on the Scheduler (daemons): the flush thread (SSD mode's
// flushes and discards; pmem mode runs them in the request's fiber), the flush worker
// (autocommit), the autocommit timer, the writeback worker, the writeback completion
// thread, the max_age timer, and one fiber per writeback copy.
//
// Threading and ownership: the Scheduler's thread only. Does not own the devices;
// they, and the Scheduler, must outlive the engine, and the engine's fibers must have
// ended or been unwound (e.g. sim::World::Halt) before it is destroyed.
#ifndef POWERCUT_ENGINE_WRITECACHE_WRITECACHE_H_
#define POWERCUT_ENGINE_WRITECACHE_WRITECACHE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "engine/io/persistent_memory.h"
#include "engine/runtime/scheduler.h"
#include "engine/runtime/sync.h"
#include "engine/writecache/entry_index.h"
#include "engine/writecache/format.h"
#include "engine/writecache/params.h"

namespace powercut::writecache {

// Counters of the status line, in blocks (the kernel's wc->stats).
struct Stats {
  uint64_t reads = 0;
  uint64_t read_hits = 0;
  uint64_t writes = 0;
  uint64_t write_hits_uncommitted = 0;
  uint64_t write_hits_committed = 0;
  uint64_t writes_around = 0;
  uint64_t writes_allocate = 0;
  uint64_t writes_blocked_on_freelist = 0;
  uint64_t flushes = 0;
  uint64_t discards = 0;
};

class WriteCache : public io::BlockDevice {
 public:
  // Binds the engine to its devices and checks the parameters against them (block
  // size, start_sector inside the cache, a cache big enough for one block). No IO.
  // SSD mode takes a BlockDevice cache, pmem mode a PersistentMemory one; the other
  // pairing is InvalidArgument.
  static absl::StatusOr<std::unique_ptr<WriteCache>> Create(runtime::Scheduler& scheduler,
                                                            io::BlockDevice& origin,
                                                            io::BlockDevice& cache, Params params);
  static absl::StatusOr<std::unique_ptr<WriteCache>> Create(runtime::Scheduler& scheduler,
                                                            io::BlockDevice& origin,
                                                            io::PersistentMemory& pmem,
                                                            Params params);
  ~WriteCache() override;
  WriteCache(const WriteCache&) = delete;
  WriteCache& operator=(const WriteCache&) = delete;

  // --- Lifecycle (call from a fiber) -----------------------------------------------
  // Reads the superblock; formats a blank cache (magic and version zero); checks
  // magic, version and block size; then recovers (Resume) and starts the engine
  // threads. Fails with InvalidArgument on a foreign or mismatched superblock, or the
  // IO error that stopped it.
  [[nodiscard]] absl::Status Start();
  // Quiesces: waits for in-flight requests (new ones wait for Resume), commits, writes
  // everything back if flush_on_suspend was requested, and waits for writeback.
  [[nodiscard]] absl::Status Suspend();
  // Re-reads the metadata from the cache and rebuilds the index (recovery),
  // then lets waiting requests in.
  [[nodiscard]] absl::Status Resume();
  // Messages: "flush" (commit, write everything back, wait), "flush_on_suspend",
  // "cleaner", "clear_stats". InvalidArgument for anything else.
  [[nodiscard]] absl::Status Message(std::string_view message);

  // The 14-field status line: error n_blocks free writeback reads read_hits writes
  // write_hits_uncommitted write_hits_committed writes_around writes_allocate
  // writes_blocked_on_freelist flushes discards.
  std::string StatusLine() const;
  // The table status line (params.h FormatTable, with the devices' names).
  std::string TableLine() const;

  const Stats& stats() const { return stats_; }
  const Params& params() const { return params_; }
  const Geometry& geometry() const { return geometry_; }
  bool has_error() const { return !error_.ok(); }
  const absl::Status& error() const { return error_; }
  uint64_t free_blocks() const { return freelist_.size(); }
  uint64_t writeback_blocks() const { return writeback_size_; }
  uint64_t seq_count() const { return seq_count_; }
  // Absolute cache-device sector of data block `index` (pmem: its byte offset / 512).
  uint64_t CacheSector(uint64_t index) const {
    return start_sector_ + geometry_.DataSector(index);
  }

  // --- io::BlockDevice: the logical device ------------------------------------------
  uint64_t sector_count() const override { return origin_.sector_count(); }
  const std::string& name() const override { return name_; }
  uint32_t block_sectors() const override { return static_cast<uint32_t>(BlockSectors()); }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;
  // The origin's data ranges and every block the cache holds an entry for (read_path.cc).
  std::vector<io::SectorRange> DataRanges(uint64_t first, uint64_t count) const override;

 private:
  enum Direction { kRead = 0, kWrite = 1 };
  // Completes a user request once every piece forwarded for it completed; the first
  // error wins. Shared by the mapping fiber (one reference, released by its final
  // Finish) and the pieces' completions.
  struct IoTracker {
    WriteCache* engine = nullptr;
    io::IoCallback done;
    absl::Status status;
    uint32_t pending = 1;
    bool entered = false;  // counted in requests_in_flight_ (passed the suspend gate)

    void Add() { ++pending; }
    void Finish(const absl::Status& s);
  };
  using Tracker = std::shared_ptr<IoTracker>;
  // A request the flush thread handles (SSD mode): a flush or a discard.
  struct OffloadedBio {
    bool discard = false;
    uint64_t sector = 0;   // discard range
    uint64_t sectors = 0;
    Tracker tracker;
  };
  // One writeback copy job: entries of consecutive sectors (SSD mode: in consecutive
  // blocks too), in sector order.
  struct CopyJob {
    std::vector<uint32_t> entries;
    absl::Status status;
  };
  // A piece of a request, as mapped (the kernel's map result).
  enum class MapOp { kRemapCache, kRemapOrigin, kSubmitted, kError };
  struct Mapping {
    MapOp op = MapOp::kError;
    uint64_t sectors = 0;       // how much of the request this piece covers
    uint64_t cache_sector = 0;  // kRemapCache: absolute sector on the cache device
    absl::Status status;        // kError
  };

  // Exactly one of `cache` (SSD mode) and `pmem` (pmem mode) is set.
  WriteCache(runtime::Scheduler& scheduler, io::BlockDevice& origin, io::BlockDevice* cache,
             io::PersistentMemory* pmem, Params params);
  // Checks shared by both Create()s; `cache_bytes` is the cache's size.
  static absl::Status CheckFit(const io::BlockDevice& origin, uint64_t cache_bytes,
                               const Params& params);

  // writecache.cc: request plumbing, errors, small helpers.
  void WaitWhileSuspended();
  // Waits while the engine is suspended, then counts the request as in flight.
  void Admit(const Tracker& tracker);
  void LeaveRequest();
  Tracker NewTracker(io::IoCallback done);
  // Forwards a piece to the cache device, counting it in bio_in_progress_.
  void SubmitToCache(Direction dir, uint64_t cache_sector, std::span<std::byte> read_buffer,
                     std::span<const std::byte> write_data, uint32_t flags, const Tracker& tracker);
  void SubmitToOrigin(Direction dir, uint64_t sector, std::span<std::byte> read_buffer,
                      std::span<const std::byte> write_data, uint32_t flags, const Tracker& tracker);
  void EndCacheIo(Direction dir);
  // The first error is sticky; it wakes freelist waiters so they notice.
  void SetError(const absl::Status& status, std::string_view what);
  absl::Status ErrorStatus() const;
  void WaitForIos(Direction dir);
  void WaitOnFreelist();
  bool IsCommitted(uint32_t i) const { return entries_[i].seq_count < seq_count_; }
  bool PmemMode() const { return pmem_ != nullptr; }
  uint64_t BlockSectors() const { return geometry_.block_sectors(); }
  bool Aligned(uint64_t sector, uint64_t sectors) const {
    return ((sector | sectors) & (BlockSectors() - 1)) == 0;
  }

  // Metadata copy in RAM and the entry mirror; in pmem mode the entry changes are
  // also stored, flushing, to the persistent memory (pmem.cc).
  void SetEntry(uint32_t i, uint64_t original_sector, uint64_t seq);
  void ClearSeq(uint32_t i);
  void MarkDirty(uint64_t offset);
  void MarkAllDirty();
  // Returns the entry that was the newest of the sector until now, or kNoEntry.
  uint32_t InsertEntry(uint32_t i);
  void UnlinkEntry(uint32_t i);
  void AddToFreelist(uint32_t i);
  // Allocates a free entry; with `expected_cache_sector`, only the one whose block
  // starts there (contiguous extension). kNoEntry if none.
  uint32_t PopFromFreelist(std::optional<uint64_t> expected_cache_sector = std::nullopt);
  void FreeEntry(uint32_t i);
  void VerifyWatermark();

  // commit.cc: the commit protocol. REQUIRE the lock.
  void Commit();                        // writecache_flush
  void CommitFlushed(bool wait_for_ios);  // write dirty metadata, [wait], flush SSD
  void WriteDirtyMetadata();  // SSD: write the dirty metadata regions (not durable yet)
  void CommitSuperblock();
  void DiskFlush(io::BlockDevice& device, std::string_view what);

  // pmem.cc: pmem mode's media access. Offsets are from the start of the cache area.
  uint64_t PmemOffset(uint64_t area_offset) const {
    return start_sector_ * io::kSectorSize + area_offset;
  }
  void PmemStoreMetadata(uint64_t offset, uint64_t bytes);  // flushing store from memory_
  // Data at an absolute cache sector (CacheSector()).
  void PmemWriteBlock(uint64_t cache_sector, std::span<const std::byte> data);  // flushing
  void PmemReadBlock(uint64_t cache_sector, std::span<std::byte> out) const;
  void PmemFence();

  // recovery.cc
  [[nodiscard]] absl::Status ReadMetadata(uint64_t bytes);
  [[nodiscard]] absl::Status Format(const Geometry& geometry);
  void Recover();  // writecache_resume; REQUIRES the lock

  // write_path.cc / read_path.cc / discard.cc. Map* REQUIRE the lock.
  void RunWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags, Tracker tracker);
  Mapping MapWrite(uint64_t sector, uint64_t sectors);
  uint64_t ExtendSsdWrite(uint64_t sector, uint64_t sectors, uint32_t e, bool search_used);
  uint64_t TrimAtNextCached(uint64_t sector, uint64_t sectors) const;
  void RunRead(uint64_t sector, std::span<std::byte> buffer, Tracker tracker);
  Mapping MapRead(uint64_t sector, uint64_t sectors);
  void RunDiscard(uint64_t sector, uint64_t sectors, Tracker tracker);
  void Discard(uint64_t start, uint64_t end);  // writecache_discard; REQUIRES the lock

  // flush_thread.cc
  void RunFlush(Tracker tracker);
  // Maps a flush: the commit (offloaded to the flush thread) and the origin flush.
  void MapFlush(const Tracker& tracker);
  void OffloadBio(OffloadedBio bio);
  void FlushThread();
  void FlushWorker();
  void AutocommitTimer();
  void QueueFlushWork();
  void ScheduleAutocommit();
  void CancelAutocommit();

  // writeback.cc
  void QueueWriteback();
  void WritebackWorker();
  void Writeback();  // one run of the writeback work
  void SubmitCopies(EntryList& batch);
  void RunCopy(CopyJob job);
  // Reads the job's blocks from the cache (SSD: one read of consecutive blocks).
  [[nodiscard]] absl::Status ReadForCopy(const CopyJob& job, std::span<std::byte> buffer);
  void EndioThread();
  void MaxAgeTimer();
  bool WaitForWriteback();  // REQUIRES the lock; true if it waited
  // Waits until writeback work queued before the call has run (flush_workqueue).
  void FlushWritebackQueue();
  runtime::Nanos OriginIdleTime() const;

  // status.cc
  void ActivateCleaner();
  [[nodiscard]] absl::Status FlushMessage();

  void SpawnThreads();

  runtime::Scheduler& scheduler_;
  io::BlockDevice& origin_;
  io::BlockDevice* cache_;        // SSD mode
  io::PersistentMemory* pmem_;    // pmem mode
  Params params_;
  std::string name_;
  uint64_t start_sector_ = 0;
  uint64_t area_bytes_ = 0;  // the cache device from start_sector on

  // Set by Start().
  Geometry geometry_;
  std::vector<std::byte> memory_;      // the metadata area's RAM copy
  std::vector<bool> dirty_regions_;    // SSD mode: 64 KiB regions of memory_ to write
  EntryArray entries_;
  EntryTree tree_{entries_};
  EntryList lru_{entries_};            // front: newest
  FreeList freelist_{entries_, /*sorted=*/pmem_ == nullptr};  // pmem: FIFO, as the kernel
  uint64_t seq_count_ = 0;
  uint64_t freelist_high_watermark_ = 0;
  uint64_t freelist_low_watermark_ = 0;
  uint64_t writeback_size_ = 0;
  uint64_t uncommitted_blocks_ = 0;
  uint64_t data_device_sectors_ = 0;
  bool overwrote_committed_ = false;
  bool flush_on_suspend_ = false;
  bool cleaner_ = false;
  uint32_t writeback_all_ = 0;
  absl::Status error_;
  Stats stats_;

  // Lifecycle.
  bool started_ = false;
  bool threads_spawned_ = false;
  bool suspended_ = false;       // no request is mapped while set
  uint64_t requests_in_flight_ = 0;

  runtime::Mutex lock_;
  runtime::WaitQueue freelist_wait_;
  std::array<uint64_t, 2> bio_in_progress_{0, 0};
  std::array<runtime::WaitQueue, 2> bio_in_progress_wait_;
  runtime::WaitQueue resume_wait_;
  runtime::WaitQueue requests_drained_;

  // Flush thread (SSD mode).
  std::deque<OffloadedBio> flush_list_;
  runtime::WaitQueue flush_thread_wait_;
  // Work items (the kernel's writeback workqueue): flush work and writeback work.
  bool flush_work_pending_ = false;
  runtime::WaitQueue flush_work_wait_;
  bool writeback_pending_ = false;
  bool writeback_running_ = false;
  // A writeback run skipped entries whose older duplicate was under writeback: the
  // endio thread queues another run once that writeback completed.
  bool writeback_skipped_ = false;
  uint64_t writeback_runs_done_ = 0;
  runtime::WaitQueue writeback_work_wait_;
  runtime::WaitQueue writeback_idle_wait_;
  // Writeback completions.
  std::deque<CopyJob> endio_list_;
  runtime::WaitQueue endio_wait_;
  // Timers.
  std::optional<runtime::Nanos> autocommit_deadline_;
  runtime::WaitQueue autocommit_timer_wait_;
  std::optional<runtime::Nanos> max_age_deadline_;
  runtime::WaitQueue max_age_timer_wait_;
  // Origin writes around the cache, for pause_writeback (the kernel's dm_io_tracker).
  uint64_t origin_writes_in_flight_ = 0;
  runtime::Nanos origin_idle_since_{0};
};

}  // namespace powercut::writecache

#endif  // POWERCUT_ENGINE_WRITECACHE_WRITECACHE_H_
