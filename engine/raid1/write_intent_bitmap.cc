#include "engine/raid1/write_intent_bitmap.h"

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/mutant/mutant.h"
#include "engine/probe/probe.h"
#include "engine/runtime/assertion.h"

namespace powercut::raid1 {
namespace {

absl::Status LoadError(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("bitmap load: ", why));
}

std::string HexUuid(const std::array<uint8_t, 16>& uuid) {
  std::string out;
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ':';
    absl::StrAppendFormat(&out, "%02x", uuid[i]);
  }
  return out;
}

uint16_t Count(uint16_t counter) { return counter & kCounterMax; }

}  // namespace

absl::StatusOr<WriteIntentBitmap> WriteIntentBitmap::Load(std::span<const std::byte> image,
                                                          const LoadContext& context,
                                                          const BitmapOptions& options) {
  absl::StatusOr<BitmapSuper> sb = DecodeBitmapSuper(image);
  if (!sb.ok()) return sb.status();
  absl::StatusOr<BitmapGeometry> geometry = BitmapGeometry::For(*sb);
  if (!geometry.ok()) return geometry.status();
  if (options.area_bytes != 0 && geometry->bytes > options.area_bytes) {
    return LoadError(absl::StrCat("the ", geometry->bytes, "-byte bitmap (", geometry->chunks,
                                  " chunks) does not fit the ", options.area_bytes,
                                  "-byte bitmap area"));
  }
  // Every page write must stay inside the area (I14); find out now, not mid-write.
  absl::StatusOr<ByteRange> last =
      geometry->PageWriteRange(geometry->pages - 1, options.logical_block_size, options.area_bytes);
  if (!last.ok()) return last.status();
  if (image.size() < geometry->bytes) {
    return LoadError(
        absl::StrCat("image too short: ", image.size(), " of ", geometry->bytes, " bytes"));
  }
  if (sb->uuid != context.array_uuid) {
    return LoadError(absl::StrCat("uuid: the bitmap belongs to array ", HexUuid(sb->uuid), ", not ",
                                  HexUuid(context.array_uuid)));
  }
  // WRITE_ERROR is never written (update_sb masks it), so on disk it means corruption;
  // md_bitmap_create fails with -EIO when it is set.
  if ((sb->state & kBitmapStateWriteError) != 0) {
    return LoadError("state: WRITE_ERROR is set on disk");
  }

  WriteIntentBitmap b;
  b.sb_ = *sb;
  b.geometry_ = *geometry;
  b.options_ = options;
  b.array_events_ = context.array_events;
  b.degraded_ = context.degraded;
  b.max_write_behind_ = sb->write_behind;
  b.storage_.assign(geometry->pages * kBitmapPageSize, std::byte{0});
  // Read what the kernel reads: whole pages, the last one up to its rounded write end.
  const size_t copy = std::min<uint64_t>(image.size(), last->end());
  std::copy_n(image.begin(), copy, b.storage_.begin());
  b.page_attrs_.assign(geometry->pages, 0);
  b.counters_.assign(geometry->chunks, 0);
  b.counter_page_pending_.assign((geometry->chunks + kCountersPerPage - 1) / kCountersPerPage, 0);

  // md_bitmap_read_sb: an event count older than the array's means the bitmap missed
  // updates (I5): stale. A stale bitmap cannot say which chunks are clean.
  b.flags_ = sb->state;
  if (sb->events < context.array_events && !POWERCUT_MUTANT(kBmLoadTrustsStale)) {
    b.flags_ |= kBitmapStateStale;
  }
  b.events_cleared_ = sb->events_cleared;
  if (b.stale()) {
    POWERCUT_PROBE(kRaid1StaleBitmapLoaded);
    b.events_cleared_ = context.array_events;
  }

  // md_bitmap_load: bits only need a resync past recovery_cp (all of them after an
  // unclean shutdown, none after a clean one), except that a degraded array whose bits
  // were kept for a re-add (events_cleared behind) resyncs every set bit.
  const uint64_t start =
      (!context.degraded || b.events_cleared_ == context.array_events) ? context.resync_offset : 0;

  // md_bitmap_init_from_disk: a stale bitmap gets every bit set, page by page, and each
  // page rewritten so the ones are durable before anything trusts the bitmap (I10).
  if (b.stale()) {
    for (uint64_t page = 0; page < geometry->pages; ++page) {
      const size_t from = page == 0 ? kBitmapSuperSize : 0;
      std::fill(b.storage_.begin() + page * kBitmapPageSize + from,
                b.storage_.begin() + (page + 1) * kBitmapPageSize, std::byte{0xff});
      b.load_writes_.push_back(page);
    }
  }
  const std::byte* bits = b.storage_.data() + kBitmapSuperSize;
  const uint64_t bit_bytes = (geometry->chunks + 7) / 8;
  for (uint64_t i = 0; i < bit_bytes; ++i) {
    for (unsigned byte = std::to_integer<unsigned>(bits[i]); byte != 0; byte &= byte - 1) {
      const uint64_t chunk = i * 8 + static_cast<uint64_t>(std::countr_zero(byte));
      if (chunk >= geometry->chunks) break;  // don't-care bits past the last chunk
      // Overflow-free: chunk < 2^31 and chunk_shift <= 22.
      const bool needed = ((chunk + 1) << geometry->chunk_shift) >= start;
      b.SetMemoryBits(chunk, needed);
    }
  }
  b.flags_ &= ~kBitmapStateStale;
  return b;
}

ChunkRange WriteIntentBitmap::ChunksOf(uint64_t sector, uint64_t sectors, const char* what) const {
  if (sectors == 0) return {};
  POWERCUT_ASSERT(sector < geometry_.sync_sectors && sectors <= geometry_.sync_sectors - sector,
                  "WriteIntentBitmap::", what, ": sectors [", sector, ", +", sectors,
                  ") are past the ", geometry_.sync_sectors, "-sector sync range");
  const uint64_t first = geometry_.ChunkOfSector(sector);
  const uint64_t last = geometry_.ChunkOfSector(sector + sectors - 1);
  return {.first = first, .count = last - first + 1};
}

void WriteIntentBitmap::SetBit(uint64_t chunk) {
  SetChunkBit(geometry_, storage_, chunk, true);
  if (POWERCUT_MUTANT(kBmStartWriteNotDirty)) return;
  page_attrs_[geometry_.PageOfChunk(chunk)] |= kPageDirty;
}

void WriteIntentBitmap::ClearBit(uint64_t chunk) {
  SetChunkBit(geometry_, storage_, chunk, false);
  uint8_t& attrs = page_attrs_[geometry_.PageOfChunk(chunk)];
  // Already due for writing in this sweep: the clear rides along. Otherwise it waits a
  // full daemon period as PENDING.
  if ((attrs & kPageNeedWrite) == 0) {
    attrs |= kPagePending;
    all_clean_ = false;
  }
}

void WriteIntentBitmap::SetCounterPagePending(uint64_t chunk) {
  counter_page_pending_[chunk / kCountersPerPage] = 1;
}

void WriteIntentBitmap::SetMemoryBits(uint64_t chunk, bool needed) {
  uint16_t& c = counters_[chunk];
  if (c == 0) {
    c = 2;
    SetCounterPagePending(chunk);
    all_clean_ = false;
  }
  if (needed) c |= kCounterNeeded;
}

bool WriteIntentBitmap::StartWrite(uint64_t sector, uint64_t sectors, bool behind) {
  const ChunkRange range = ChunksOf(sector, sectors, "StartWrite");
  for (uint64_t chunk = range.first; chunk < range.first + range.count; ++chunk) {
    if (Count(counters_[chunk]) == kCounterMax) return false;
  }
  if (behind) {
    ++behind_writes_;
    behind_writes_used_ = std::max(behind_writes_used_, behind_writes_);
  }
  for (uint64_t chunk = range.first; chunk < range.first + range.count; ++chunk) {
    uint16_t& c = counters_[chunk];
    // The whole counter is compared, flags included, as md does: a NEEDED chunk keeps
    // its flag and only gains a write.
    if (c == 0) SetBit(chunk);  // I2: the bit is in its page before Unplug writes it
    if (c <= 1) c = 2;
    ++c;
  }
  return true;
}

void WriteIntentBitmap::EndWrite(uint64_t sector, uint64_t sectors, bool success, bool behind) {
  const ChunkRange range = ChunksOf(sector, sectors, "EndWrite");
  for (uint64_t chunk = range.first; chunk < range.first + range.count; ++chunk) {
    POWERCUT_ASSERT(Count(counters_[chunk]) != 0, "WriteIntentBitmap::EndWrite: chunk ", chunk,
                    " has no write in flight");
  }
  if (behind) {
    POWERCUT_ASSERT(behind_writes_ != 0, "WriteIntentBitmap::EndWrite: no write-behind in flight");
    --behind_writes_;
  }
  for (uint64_t chunk = range.first; chunk < range.first + range.count; ++chunk) {
    uint16_t& c = counters_[chunk];
    // I7: only a write that reached every mirror of a whole array may move
    // events_cleared; a degraded array keeps every bit for the missing member's re-add.
    const bool degraded = degraded_ && !POWERCUT_MUTANT(kBmClearWhileDegraded);
    if (success && !degraded && events_cleared_ < array_events_) {
      events_cleared_ = array_events_;
      need_sync_ = true;
    }
    if (!success || degraded) c |= kCounterNeeded;
    --c;
    if (c <= 2) {
      SetCounterPagePending(chunk);
      all_clean_ = false;
    }
  }
}

std::vector<PageWrite> WriteIntentBitmap::TakeUnplugWrites() {
  std::vector<PageWrite> writes;
  if (stale()) return writes;
  for (uint64_t page = 0; page < geometry_.pages; ++page) {
    uint8_t& attrs = page_attrs_[page];
    if ((attrs & (kPageDirty | kPageNeedWrite)) == 0) continue;
    attrs = 0;  // DIRTY and NEEDWRITE taken; a PENDING clear is written with them
    writes.push_back(MakePageWrite(page));
  }
  return writes;
}

bool WriteIntentBitmap::DaemonSweep() {
  if (all_clean_) return false;
  all_clean_ = true;
  // Clears made a sweep ago have waited a full period: write them now.
  for (uint8_t& attrs : page_attrs_) {
    if ((attrs & kPagePending) != 0) {
      attrs = static_cast<uint8_t>((attrs & ~kPagePending) | kPageNeedWrite);
    }
  }
  if (need_sync_) {
    need_sync_ = false;
    sb_.events_cleared = events_cleared_;
    EncodeSuper();
    page_attrs_[0] |= kPageNeedWrite;
  }
  for (uint64_t page = 0; page < counter_page_pending_.size(); ++page) {
    if (counter_page_pending_[page] == 0) continue;
    counter_page_pending_[page] = 0;
    const uint64_t end = std::min(geometry_.chunks, (page + 1) * kCountersPerPage);
    for (uint64_t chunk = page * kCountersPerPage; chunk < end; ++chunk) {
      uint16_t& c = counters_[chunk];
      if (POWERCUT_MUTANT(kBmNeededDecays) && (c & kCounterResync) == 0 && Count(c) <= 2) {
        c = Count(c);
      }
      // The whole counter is compared: NEEDED or RESYNC makes it > 2, so such chunks
      // never decay (I13), and neither do chunks with writes in flight (I3).
      if (c == 1) {
        c = 0;
        ClearBit(chunk);
      } else if (c == 2) {
        c = 1;
        SetCounterPagePending(chunk);
        all_clean_ = false;
      }
    }
  }
  return true;
}

std::vector<PageWrite> WriteIntentBitmap::TakeDaemonWrites() {
  std::vector<PageWrite> writes;
  for (uint64_t page = 0; page < geometry_.pages && !stale(); ++page) {
    uint8_t& attrs = page_attrs_[page];
    // A DIRTY page holds a set bit whose write is waiting for Unplug; Unplug writes it
    // and everything after it, so the superblock page is never overtaken.
    if ((attrs & kPageDirty) != 0) break;
    if ((attrs & kPageNeedWrite) == 0) continue;
    attrs &= static_cast<uint8_t>(~kPageNeedWrite);
    writes.push_back(MakePageWrite(page));
  }
  return writes;
}

PageWrite WriteIntentBitmap::UpdateSuper() {
  sb_.events = array_events_;
  // An array that rolled back its events (md's clean-rollback) takes events_cleared
  // with it, so a written superblock never has events_cleared > events (I6).
  if (array_events_ < events_cleared_) events_cleared_ = array_events_;
  sb_.events_cleared = events_cleared_;
  sb_.state = flags_ & ~kBitmapStateWriteError;
  EncodeSuper();
  return MakePageWrite(0);
}

std::vector<PageWrite> WriteIntentBitmap::TakeLoadWrites() {
  std::vector<PageWrite> writes;
  for (uint64_t page : load_writes_) writes.push_back(MakePageWrite(page));
  load_writes_.clear();
  return writes;
}

void WriteIntentBitmap::WriteAll() {
  if (options_.file) return;  // one copy, nothing to copy to
  for (uint8_t& attrs : page_attrs_) attrs |= kPageNeedWrite;
  all_clean_ = false;
}

std::optional<PageWrite> WriteIntentBitmap::Kick() {
  if (stale()) return std::nullopt;
  flags_ |= kBitmapStateStale;
  return UpdateSuper();
}

void WriteIntentBitmap::MemberFailed() {
  degraded_ = true;
  for (uint16_t& c : counters_) {
    if (c != 0) c |= kCounterNeeded;
  }
}

bool WriteIntentBitmap::StartSync(uint64_t chunk, bool degraded) {
  uint16_t& c = counters_.at(chunk);
  if ((c & kCounterResync) != 0) return true;
  if ((c & kCounterNeeded) == 0) return false;
  if (!degraded) c = static_cast<uint16_t>((c | kCounterResync) & ~kCounterNeeded);
  return true;
}

void WriteIntentBitmap::EndSync(uint64_t chunk, bool aborted) {
  uint16_t& c = counters_.at(chunk);
  if ((c & kCounterResync) == 0) return;
  c &= static_cast<uint16_t>(~kCounterResync);
  if ((c & kCounterNeeded) == 0 && aborted) {
    c |= kCounterNeeded;  // I13: the chunk still needs a resync
    return;
  }
  // The chunk is now on every member (RESYNC is only taken on a whole array), as after
  // a write that reached them all: events_cleared moves up before its bit can clear, so
  // a member older than this copy is never recovered from the bitmap alone (I11). md
  // moves it only in bitmap_endwrite, which leaves a member as old as the last write
  // on a whole array bitmap-recoverable after writes made only while degraded.
  if ((c & kCounterNeeded) == 0 && events_cleared_ < array_events_ &&
      !POWERCUT_MUTANT(kBmSyncKeepsEventsCleared)) {
    events_cleared_ = array_events_;
    need_sync_ = true;
  }
  if (c <= 2) {
    SetCounterPagePending(chunk);
    all_clean_ = false;
  }
}

void WriteIntentBitmap::CloseSync() {
  for (uint64_t chunk = 0; chunk < geometry_.chunks; ++chunk) {
    if ((counters_[chunk] & kCounterResync) != 0) EndSync(chunk, /*aborted=*/false);
  }
}

std::vector<ChunkRange> WriteIntentBitmap::ResyncPlan() const {
  std::vector<ChunkRange> plan;
  for (uint64_t chunk = 0; chunk < geometry_.chunks; ++chunk) {
    if ((counters_[chunk] & (kCounterNeeded | kCounterResync)) == 0) continue;
    if (!plan.empty() && plan.back().first + plan.back().count == chunk) {
      ++plan.back().count;
    } else {
      plan.push_back({.first = chunk, .count = 1});
    }
  }
  return plan;
}

ReAddRecovery WriteIntentBitmap::ReAddRecoveryFor(uint64_t member_events) const {
  if (member_events < events_cleared_ && !POWERCUT_MUTANT(kRaid1ReAddIgnoresEventsCleared)) {
    return ReAddRecovery::kFull;
  }
  if (member_events < array_events_) return ReAddRecovery::kBitmap;
  return ReAddRecovery::kNone;
}

void WriteIntentBitmap::EncodeSuper() {
  const auto bytes = EncodeBitmapSuper(sb_);
  std::copy(bytes.begin(), bytes.end(), storage_.begin());
}

PageWrite WriteIntentBitmap::MakePageWrite(uint64_t page) const {
  // Checked at Load for the last (the only short) page, so this cannot fail.
  absl::StatusOr<ByteRange> range =
      geometry_.PageWriteRange(page, options_.logical_block_size, options_.area_bytes);
  POWERCUT_ASSERT(range.ok(), range.status().message());
  PageWrite write{.page = page, .range = *range};
  write.data.assign(storage_.begin() + range->offset,
                    storage_.begin() + range->offset + range->length);
  return write;
}

}  // namespace powercut::raid1
