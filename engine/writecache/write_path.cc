// The write path (the kernel's writecache_map_write), both modes.
//
// A write is mapped one piece at a time, each under the engine lock (the kernel maps
// the rest of a bio it accepted partially as a new bio):
//   - error state: the write fails;
//   - the newest entry of the block is uncommitted: overwrite its block in place;
//   - SSD mode, it is committed and not under writeback: overwrite in place and
//     remember overwrote_committed (the next flush waits for those writes and flushes,
//     E6);
//   - it is committed (pmem mode), or under writeback: allocate a new entry (a newer
//     duplicate; the commit that commits it frees the older one, E4);
//   - the block is not cached and the cleaner (or metadata_only) is on: write to the
//     origin;
//   - no free entry: SSD mode sends an uncached block straight to the origin, trimmed
//     at the next cached block; otherwise (a cached block, or pmem mode) the write
//     waits for a free entry.
// SSD mode: a new entry gets the current (uncommitted) seq_count in RAM only; its
// metadata reaches the SSD at the next commit. The data goes to the cache block,
// extended over following blocks into one IO when they are contiguous (free blocks
// that follow, for sectors not cached yet, or entries of the following sectors in the
// following blocks).
// pmem mode: one block per piece; the entry and then the data are stored with flushing
// stores, under the lock. When the whole write is mapped, a FUA write, or one that
// brings the uncommitted blocks to autocommit_blocks, commits at once (in the write's
// fiber, as the kernel's map function does); otherwise the autocommit timer is armed.
//
// What is durable when: SSD mode, nothing until a flush (commit.cc); a FUA write keeps
// FUA on the way down, so its data block is durable on completion, but its entry is
// not. pmem mode: a FUA write is committed before it is acknowledged (the kernel skips
// that commit when part of the write went around the cache, to the origin with FUA;
// powercut commits the cached part anyway, so a pmem FUA write is always durable), and
// fails if the commit put the engine in its error state.
#include "absl/strings/str_cat.h"
#include "engine/mutant/mutant.h"
#include "engine/probe/probe.h"
#include "engine/writecache/writecache.h"

namespace powercut::writecache {

void WriteCache::RunWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                          Tracker tracker) {
  Admit(tracker);
  if ((flags & io::kPreflush) != 0) {
    // A preflush write is a flush followed by the write (as DM core splits it).
    auto result = std::make_shared<absl::Status>();
    runtime::Event flushed(scheduler_, "writecache preflush");
    Tracker flush = NewTracker([result, &flushed](absl::Status s) {
      *result = std::move(s);
      flushed.Set();
    });
    MapFlush(flush);
    flush->Finish(absl::OkStatus());
    flushed.Wait();
    if (!result->ok()) return tracker->Finish(*result);
    flags &= ~static_cast<uint32_t>(io::kPreflush);
  }
  const uint64_t total = data.size() / io::kSectorSize;
  if (!Aligned(sector, total)) {
    return tracker->Finish(absl::InvalidArgumentError(
        absl::StrCat("writecache: I/O is not aligned, sector ", sector, ", size ",
                     data.size(), ", block size ", geometry_.block_size)));
  }
  uint64_t done = 0;
  bool copied_to_pmem = false;
  while (done < total) {
    lock_.Lock();
    const Mapping m = MapWrite(sector + done, total - done);
    const auto piece = data.subspan(done * io::kSectorSize, m.sectors * io::kSectorSize);
    switch (m.op) {
      case MapOp::kRemapCache:
        if (PmemMode()) {
          PmemWriteBlock(m.cache_sector, piece);
          copied_to_pmem = true;
        } else {
          SubmitToCache(kWrite, m.cache_sector, {}, piece, flags & io::kFua, tracker);
        }
        break;
      case MapOp::kRemapOrigin:
        SubmitToOrigin(kWrite, sector + done, {}, piece, flags & io::kFua, tracker);
        break;
      case MapOp::kSubmitted:
        break;
      case MapOp::kError:
        lock_.Unlock();
        return tracker->Finish(m.status);
    }
    lock_.Unlock();
    done += m.sectors;
  }
  if (copied_to_pmem) {
    lock_.Lock();
    const bool fua = (flags & io::kFua) != 0 && !POWERCUT_MUTANT(kWcPmemFuaIgnored);
    if (fua || uncommitted_blocks_ >= params_.AutocommitBlocks()) {
      Commit();
    } else {
      ScheduleAutocommit();
    }
    const bool failed = fua && has_error();
    lock_.Unlock();
    if (failed) return tracker->Finish(ErrorStatus());
  }
  tracker->Finish(absl::OkStatus());
}

uint64_t WriteCache::TrimAtNextCached(uint64_t sector, uint64_t sectors) const {
  const uint32_t next = tree_.FindFollowing(sector, /*lowest=*/false);
  if (next == kNoEntry) return sectors;
  const uint64_t boundary = entries_[next].original_sector - sector;
  return boundary < sectors ? boundary : sectors;
}

WriteCache::Mapping WriteCache::MapWrite(uint64_t sector, uint64_t sectors) {
  const uint64_t bs = BlockSectors();
  for (;;) {
    if (has_error()) {
      stats_.writes += sectors / bs;
      return Mapping{MapOp::kError, sectors, 0, ErrorStatus()};
    }
    bool found_entry = false;
    bool search_used = false;
    uint32_t e = tree_.FindNewest(sector);
    bool direct = false;
    if (e != kNoEntry) {
      if (!IsCommitted(e)) {
        ++stats_.write_hits_uncommitted;
        search_used = true;
      } else {
        ++stats_.write_hits_committed;
        if (!PmemMode() && !entries_[e].write_in_progress) {
          POWERCUT_PROBE(kWcOverwriteCommittedInPlace);
          overwrote_committed_ = true;
          search_used = true;
        } else {
          if (entries_[e].write_in_progress) POWERCUT_PROBE(kWcDuplicateOfBlockUnderWriteback);
          found_entry = true;  // a newer duplicate is needed
        }
      }
    } else if (cleaner_ || params_.metadata_only) {
      direct = true;
    }
    if (!search_used && !direct) {
      e = PopFromFreelist();
      if (e == kNoEntry) {
        if (found_entry || PmemMode()) {
          // The block is cached (never write around it), or pmem mode: wait for a
          // free entry.
          ++stats_.writes_blocked_on_freelist;
          POWERCUT_PROBE(kWcWriterWaitsForFreeBlock);
          WaitOnFreelist();
          continue;
        }
        POWERCUT_PROBE(kWcWriteAroundFullCache);
        direct = true;
      } else {
        SetEntry(e, sector, seq_count_);
        InsertEntry(e);
        ++uncommitted_blocks_;
        ++stats_.writes_allocate;
      }
    }
    if (direct) {
      // Around the cache, up to the next cached block (the rest is mapped anew).
      const uint64_t piece = TrimAtNextCached(sector, sectors);
      stats_.writes_around += piece / bs;
      stats_.writes += piece / bs;
      return Mapping{MapOp::kRemapOrigin, piece, 0, {}};
    }
    if (PmemMode()) {
      ++stats_.writes;
      return Mapping{MapOp::kRemapCache, bs, CacheSector(e), {}};
    }
    const uint64_t piece = ExtendSsdWrite(sector, sectors, e, search_used);
    return Mapping{MapOp::kRemapCache, piece, CacheSector(e), {}};
  }
}

uint64_t WriteCache::ExtendSsdWrite(uint64_t sector, uint64_t sectors, uint32_t e,
                                    bool search_used) {
  const uint64_t bs = BlockSectors();
  uint64_t piece = bs;
  uint64_t next_cache_sector = CacheSector(e) + bs;
  while (piece < sectors) {
    if (!search_used) {
      // Following free blocks, if they are the next ones on the SSD, for sectors not
      // cached yet. (The kernel does not check the second condition: a write that
      // starts at an uncached block and runs over a cached, uncommitted one creates a
      // second entry of that sector with the same seq_count, which recovery treats as
      // an error ("two identical entries"), and whose older copy a forced commit in
      // writeback frees under the writeback's feet. powercut stops the extension
      // there; the rest of the write is mapped anew and overwrites in place.)
      if (tree_.FindNewest(sector + piece) != kNoEntry && !POWERCUT_MUTANT(kWcExtendOverCached)) {
        break;
      }
      const uint32_t f = PopFromFreelist(next_cache_sector);
      if (f == kNoEntry) break;
      SetEntry(f, sector + piece, seq_count_);
      InsertEntry(f);
      ++uncommitted_blocks_;
    } else {
      // The entries of the following sectors, if they sit in the following blocks.
      const uint32_t f = tree_.Next(e);
      if (f == kNoEntry || f != e + 1) break;
      if (entries_[f].original_sector != entries_[e].original_sector + bs) break;
      if (entries_[f].write_in_progress) break;
      if (IsCommitted(f)) overwrote_committed_ = true;
      e = f;
    }
    piece += bs;
    next_cache_sector += bs;
  }
  stats_.writes += piece / bs;
  stats_.writes_allocate += piece / bs - 1;

  if (uncommitted_blocks_ >= params_.AutocommitBlocks()) {
    uncommitted_blocks_ = 0;
    QueueFlushWork();
  } else {
    ScheduleAutocommit();
  }
  return piece;
}

}  // namespace powercut::writecache
