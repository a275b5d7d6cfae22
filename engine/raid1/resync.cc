// Raid1Array's resync (raid1.h): Resync copies every NEEDED chunk from a fresh
// (preferably not write-mostly) member to the others, then every other chunk to members
// re-added with a full recovery (I11); CopyChunk copies one chunk.
//
// A chunk where no member that is not faulty may hold data (DataRanges, asked once per
// resync: it reads as zeroes on all of them) is not copied at all. Otherwise a chunk of up to
// kWholeCopySectors is copied whole, one read and one write per target (as md's resync
// copies a chunk); a larger one (bitmap chunks reach 2 GiB) only where members may hold
// data (ranges less than kCopyGapSectors apart copied as one), in pieces of at most
// kWholeCopySectors. So a resync, full recoveries included, costs what was written,
// not the device or chunk size.
//
// Contract: a chunk goes NEEDED -> RESYNC while copied -> decays after; its bit stays
// set on disk until the daemon clears it, after flushing the copies (I13, I1). A copy
// that fails leaves the chunk NEEDED and fails the target member (I13); a source that
// fails is replaced by another in-sync member. Missing or failed members keep their
// bits for their re-add. Resync ends by recording the failures it caused (I9).
#include <algorithm>
#include <optional>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/probe/probe.h"
#include "engine/raid1/internal/per_member.h"
#include "engine/raid1/raid1.h"

namespace powercut::raid1 {

using internal::PerMember;

namespace {

// Data ranges closer than this are copied as one piece (the zeroes between them too).
constexpr uint64_t kCopyGapSectors = 64;

// The pieces of a chunk [first, first + sectors) a resync copies (see above).
std::vector<io::SectorRange> CopyPieces(const Raid1Array& array, uint64_t first, uint64_t sectors) {
  const std::vector<io::SectorRange> data = array.DataRanges(first, sectors);
  if (data.empty()) return {};
  if (sectors <= kWholeCopySectors) return {{first, sectors}};
  std::vector<io::SectorRange> spans;
  for (const io::SectorRange& r : data) {
    if (!spans.empty() && r.first - spans.back().end() < kCopyGapSectors) {
      spans.back().count = r.end() - spans.back().first;
    } else {
      spans.push_back(r);
    }
  }
  std::vector<io::SectorRange> pieces;
  for (const io::SectorRange& r : spans) {
    for (uint64_t at = r.first; at < r.end(); at += kWholeCopySectors) {
      pieces.push_back({at, std::min(kWholeCopySectors, r.end() - at)});
    }
  }
  return pieces;
}

}  // namespace

absl::StatusOr<bool> Raid1Array::CopyChunk(uint64_t chunk, const std::vector<size_t>& to) {
  bool copied = true;
  std::vector<std::byte> buffer;
  for (const io::SectorRange& piece : CopyPieces(*this, geometry_.bitmap.FirstSectorOfChunk(chunk),
                                                 geometry_.bitmap.SectorsInChunk(chunk))) {
    const uint64_t at = geometry_.data_offset + piece.first;
    buffer.resize(piece.count * io::kSectorSize);
    for (;;) {
      if (io::ReadSync(scheduler_, *members_[source_], at, buffer).ok()) break;
      // The source failed: another in-sync member takes over (none left: give up).
      if (!MarkFaulty(source_)) {
        return absl::UnavailableError("raid1: resync: the last in-sync member cannot be read");
      }
      source_ = *PickSource();
    }
    std::vector<size_t> targets;
    for (size_t i : to) {
      if (state_[i] != MemberState::kFaulty && i != source_) targets.push_back(i);
    }
    PerMember batch(scheduler_, targets, "r1 resync");
    for (size_t k = 0; k < targets.size(); ++k) {
      batch[k].Write(*members_[targets[k]], at, buffer, io::kNoFlags);
    }
    const std::vector<size_t> failed = batch.Wait();
    for (size_t i : failed) MarkFaulty(i);
    copied = copied && failed.empty();
  }
  return copied;
}

absl::Status Raid1Array::Resync(bool keep_needed, std::vector<uint64_t>* copied) {
  // Copies come from an in-sync member (the one assembly read the bitmap from, unless it
  // failed since).
  const std::optional<size_t> source = PickSource();
  if (!source) return absl::UnavailableError("raid1: resync: no in-sync member left");
  source_ = *source;
  std::vector<size_t> everyone;
  for (size_t i = 0; i < members_.size(); ++i) everyone.push_back(i);
  std::vector<bool> in_plan(geometry_.bitmap.chunks, false);
  // Where members may hold data, found once: nothing writes while a resync runs (writes
  // wait for it), so no chunk gains data meanwhile, and a chunk outside these ranges
  // has nothing to copy (CopyChunk would find no piece, and does no IO).
  const std::vector<io::SectorRange> data = DataRanges(0, geometry_.bitmap.sync_sectors);
  auto may_hold_data = [&](uint64_t chunk) {
    const uint64_t first = geometry_.bitmap.FirstSectorOfChunk(chunk);
    const auto after = std::partition_point(
        data.begin(), data.end(), [first](const io::SectorRange& r) { return r.end() <= first; });
    return after != data.end() && after->first < first + geometry_.bitmap.SectorsInChunk(chunk);
  };
  // NEEDED -> RESYNC while copying -> decays after; the bits stay set on disk until
  // the daemon clears them, after flushing the copies (I13, I1).
  for (const ChunkRange& range : bitmap_->ResyncPlan()) {
    for (uint64_t chunk = range.first; chunk < range.first + range.count; ++chunk) {
      in_plan[chunk] = true;
      // Missing or failed members keep the bits (StartSync with degraded keeps NEEDED)
      // for their re-add; the ones being re-added now are in sync when this finishes.
      const bool stays_degraded = keep_needed || !Members(MemberState::kFaulty).empty();
      if (!bitmap_->StartSync(chunk, stays_degraded)) continue;
      absl::StatusOr<bool> done = may_hold_data(chunk) ? CopyChunk(chunk, everyone) : true;
      if (!done.ok() || !*done) POWERCUT_PROBE(kRaid1ResyncChunkAborted);
      bitmap_->EndSync(chunk, /*aborted=*/!done.ok() || !*done);
      if (!done.ok()) return done.status();
      if (*done && copied != nullptr) copied->push_back(chunk);
      ++resynced_chunks_;
    }
  }
  // Full recovery (I11): the chunks the bitmap says are clean, too.
  std::vector<size_t> full;
  for (size_t i : Members(MemberState::kRecovering)) {
    if (readd_[i] == ReAddRecovery::kFull) full.push_back(i);
  }
  for (uint64_t chunk = 0; chunk < geometry_.bitmap.chunks && !full.empty(); ++chunk) {
    if (in_plan[chunk]) continue;
    if (may_hold_data(chunk)) {
      absl::StatusOr<bool> done = CopyChunk(chunk, full);
      if (!done.ok()) return done.status();
    }
    ++recovered_chunks_;
  }
  return RecordFailures();
}

}  // namespace powercut::raid1
