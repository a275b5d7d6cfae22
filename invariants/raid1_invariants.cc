// The RAID1 invariant checkers (raid1_invariants.h).
#include "invariants/raid1_invariants.h"

#include <algorithm>
#include <cstring>

#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "engine/raid1/md_superblock.h"

namespace powercut::verifier {
namespace {

constexpr uint32_t kMagic = 0x6d746962;  // "bitm"
constexpr uint64_t kSuperBytes = 256;

uint64_t Le(std::span<const std::byte> bytes, size_t offset, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= uint64_t{std::to_integer<uint8_t>(bytes[offset + i])} << (8 * i);
  }
  return value;
}

std::vector<std::byte> Read(const sim::DiskImage& image, uint64_t sector, uint64_t sectors) {
  std::vector<std::byte> out(sectors * io::kSectorSize);
  image.Read(sector, out);
  return out;
}

// The checkers' own chunk arithmetic, from the geometry's plain numbers (the chunk
// size in bytes and the sectors the bitmap covers), never the engine's
// BitmapGeometry functions: a bug in the engine's arithmetic then shows as the chunk
// it breaks instead of being repeated here (mutant bm_chunk_of_sector_32bit).
uint64_t ChunkSectors(const raid1::Raid1Geometry& g) { return g.bitmap.chunk_bytes / io::kSectorSize; }
uint64_t ChunkCount(const raid1::Raid1Geometry& g) {
  return (g.bitmap.sync_sectors + ChunkSectors(g) - 1) / ChunkSectors(g);
}
uint64_t ChunkOf(const raid1::Raid1Geometry& g, uint64_t sector) { return sector / ChunkSectors(g); }
uint64_t FirstSectorOf(const raid1::Raid1Geometry& g, uint64_t chunk) { return chunk * ChunkSectors(g); }
uint64_t SectorsOf(const raid1::Raid1Geometry& g, uint64_t chunk) {
  return std::min(ChunkSectors(g), g.bitmap.sync_sectors - FirstSectorOf(g, chunk));
}

// The first chunk at or after `from` whose data differs between two member images;
// costs the sectors they store, not the array size.
std::optional<uint64_t> FirstDifferingChunk(const raid1::Raid1Geometry& g, const sim::DiskImage& a,
                                            const sim::DiskImage& b, uint64_t from) {
  if (from >= ChunkCount(g)) return std::nullopt;
  const uint64_t start = FirstSectorOf(g, from);
  const std::optional<uint64_t> sector =
      a.FirstDifference(b, g.data_offset + start, g.array_sectors - start);
  if (!sector) return std::nullopt;
  return ChunkOf(g, *sector - g.data_offset);
}

// One member's durable metadata.
struct MemberView {
  std::optional<raid1::MdSuperblock> md;
  std::vector<std::byte> bitmap;  // the bitmap area: the member's, or the file's
  RawBitmapSuper super;
};

// `file`: the bitmap device's image, for an external bitmap. Without `bitmap`, the md
// superblock alone (what Fresh needs; the bitmap area can be KiBs per member).
MemberView View(const raid1::Raid1Geometry& g, const sim::DiskImage& image,
                const sim::DiskImage* file, bool bitmap = true) {
  MemberView view;
  absl::StatusOr<raid1::MdSuperblock> md =
      raid1::DecodeMdSuperblock(Read(image, g.super_sector, 8), g.member_sectors);
  if (md.ok()) view.md = *md;
  if (!bitmap) return view;
  view.bitmap = Read(g.external_bitmap ? *file : image, g.bitmap_sector, g.bitmap_area_sectors);
  view.super = DecodeRawBitmapSuper(view.bitmap);
  return view;
}

// Every member's durable metadata in a traced array (`bitmaps`: with the bitmap areas).
std::vector<MemberView> DurableViews(const Raid1TraceState& state, bool bitmaps = true) {
  const sim::DiskImage* file = state.bitmap_file ? &state.bitmap_file->durable() : nullptr;
  std::vector<MemberView> views;
  for (const sim::SimSsd* m : state.members) {
    views.push_back(View(state.g, m->durable(), file, bitmaps));
  }
  return views;
}

// Which members assembly would trust (see the header).
std::vector<bool> Fresh(const std::vector<MemberView>& views) {
  std::optional<size_t> freshest;
  for (size_t i = 0; i < views.size(); ++i) {
    if (views[i].md && (!freshest || views[i].md->events > views[*freshest].md->events)) {
      freshest = i;
    }
  }
  std::vector<bool> fresh(views.size(), false);
  if (!freshest) return fresh;
  const raid1::MdSuperblock& top = *views[*freshest].md;
  for (size_t i = 0; i < views.size(); ++i) {
    fresh[i] = views[i].md && views[i].md->events == top.events &&
               (i >= top.dev_roles.size() || top.dev_roles[i] != raid1::kMdRoleFaulty);
  }
  return fresh;
}

bool Degraded(const raid1::MdSuperblock& md) {
  for (uint32_t i = 0; i < md.raid_disks && i < md.dev_roles.size(); ++i) {
    if (md.dev_roles[i] >= raid1::kMdRoleMax) return true;
  }
  return false;
}

}  // namespace

RawBitmapSuper DecodeRawBitmapSuper(std::span<const std::byte> bytes) {
  RawBitmapSuper sb;
  if (bytes.size() < kSuperBytes) return sb;
  sb.magic = static_cast<uint32_t>(Le(bytes, 0, 4));
  sb.version = static_cast<uint32_t>(Le(bytes, 4, 4));
  sb.events = Le(bytes, 24, 8);
  sb.events_cleared = Le(bytes, 32, 8);
  sb.sync_size = Le(bytes, 40, 8);
  sb.state = static_cast<uint32_t>(Le(bytes, 48, 4));
  sb.chunksize = static_cast<uint32_t>(Le(bytes, 52, 4));
  sb.daemon_sleep = static_cast<uint32_t>(Le(bytes, 56, 4));
  sb.write_behind = static_cast<uint32_t>(Le(bytes, 60, 4));
  return sb;
}

bool RawChunkBit(std::span<const std::byte> bitmap, uint64_t chunk) {
  return ((std::to_integer<uint8_t>(bitmap[kSuperBytes + chunk / 8]) >> (chunk % 8)) & 1) != 0;
}

std::optional<Violation> CheckRaid1CrashImages(const raid1::Raid1Geometry& g,
                                                 const std::vector<const sim::DiskImage*>& disks,
                                                 const sim::DiskImage* bitmap_file,
                                                 bool file_may_be_old) {
  std::vector<MemberView> views;
  for (const sim::DiskImage* disk : disks) views.push_back(View(g, *disk, bitmap_file));
  for (size_t m = 0; m < views.size(); ++m) {
    const MemberView& v = views[m];
    const std::string who =
        g.external_bitmap ? absl::StrCat("member ", m, " (bitmap file): ") : absl::StrCat("member ", m, ": ");
    if (!v.md) return InvariantViolated("I14", ": ", who, "md superblock does not decode");
    const RawBitmapSuper& sb = v.super;
    if (sb.magic != kMagic || sb.version != 4) {
      return InvariantViolated("I14", ": ", who, "bitmap magic ", sb.magic, " version ", sb.version);
    }
    if (sb.sync_size != g.array_sectors || sb.chunksize != g.chunk_sectors * io::kSectorSize ||
        sb.daemon_sleep == 0 || sb.write_behind > 16383) {
      return InvariantViolated("I14", ": ", who, "bitmap fields sync_size ", sb.sync_size, " chunksize ",
                          sb.chunksize, " daemon_sleep ", sb.daemon_sleep, " write_behind ",
                          sb.write_behind, " do not describe the array");
    }
    if (sb.events_cleared > sb.events) {
      return InvariantViolated("I6", ": ", who, "events_cleared ", sb.events_cleared, " > events ",
                          sb.events);
    }
    if (sb.events < v.md->events && !sb.stale() && !(g.external_bitmap && file_may_be_old)) {
      return InvariantViolated("I5", ": ", who, "bitmap events ", sb.events, " < md events ",
                          v.md->events, " and the bitmap is not marked stale");
    }
  }
  const std::vector<bool> fresh = Fresh(views);
  std::optional<size_t> reference;
  for (size_t m = 0; m < views.size(); ++m) {
    if (fresh[m] && !reference) reference = m;
  }
  if (!reference) return std::nullopt;
  // I1 for a clean array: assembly trusts every chunk, set bits included.
  const raid1::MdSuperblock& top = *views[*reference].md;
  if (top.clean() && !Degraded(top)) {
    for (size_t other = 0; other < views.size(); ++other) {
      if (!fresh[other] || other == *reference) continue;
      if (std::optional<uint64_t> chunk = FirstDifferingChunk(g, *disks[other], *disks[*reference], 0)) {
        return InvariantViolated("I1", ": the array is marked clean, but fresh members ", *reference,
                                 " and ", other, " hold different data for chunk ", *chunk);
      }
    }
  }
  for (size_t m = 0; m < views.size(); ++m) {
    if (!fresh[m] || views[m].super.stale() || views[m].super.events < views[m].md->events) {
      continue;  // I1 speaks for bitmaps assembly would trust
    }
    for (size_t other = 0; other < views.size(); ++other) {
      if (!fresh[other] || other == *reference) continue;
      // Chunks where the two differ, in order; each must have its bit set.
      for (std::optional<uint64_t> chunk = FirstDifferingChunk(g, *disks[other], *disks[*reference], 0);
           chunk; chunk = FirstDifferingChunk(g, *disks[other], *disks[*reference], *chunk + 1)) {
        if (!RawChunkBit(views[m].bitmap, *chunk)) {
          return InvariantViolated("I1", ": member ", m, "'s durable bitmap says chunk ", *chunk,
                              " is clean, but fresh members ", *reference, " and ", other,
                              " hold different data for it");
        }
      }
    }
  }
  return std::nullopt;
}

Raid1AssemblyDemand DemandOfAssembly(const raid1::Raid1Geometry& g,
                                     const std::vector<const sim::DiskImage*>& disks,
                                     const sim::DiskImage* bitmap_file,
                                     const std::vector<bool>& readable) {
  std::vector<MemberView> views;
  for (size_t m = 0; m < disks.size(); ++m) {
    views.push_back(View(g, *disks[m], bitmap_file));
    if (!readable[m]) views.back().md.reset();
  }
  const std::vector<bool> fresh = Fresh(views);
  Raid1AssemblyDemand demand;
  demand.readd.resize(disks.size());
  const auto top = std::find(fresh.begin(), fresh.end(), true);
  if (top == fresh.end()) return demand;  // nothing to assemble from
  const uint64_t events = views[top - fresh.begin()].md->events;
  // The copies assembly may load: the file, or any fresh member's.
  bool all_stale = true;
  uint64_t cleared_min = ~uint64_t{0};
  uint64_t cleared_max = 0;
  for (size_t m = 0; m < views.size(); ++m) {
    if (!fresh[m]) continue;
    const RawBitmapSuper& sb = views[m].super;
    if (sb.stale() || sb.events < events) {
      if (!demand.stale_bitmap) {
        demand.stale_bitmap = sb.stale() ? std::string("marked stale")
                                         : absl::StrCat("bitmap events ", sb.events,
                                                        " < md events ", events);
      }
    } else {
      all_stale = false;
      cleared_min = std::min(cleared_min, sb.events_cleared);
      cleared_max = std::max(cleared_max, sb.events_cleared);
    }
    if (g.external_bitmap) break;  // one copy
  }
  if (!all_stale) demand.stale_bitmap.reset();
  demand.stale_needed_from = views[top - fresh.begin()].md->resync_offset;
  for (size_t m = 0; m < views.size(); ++m) {
    if (fresh[m] || !views[m].md) continue;
    // A stale bitmap forgot what was cleared: every re-add is a full one (I10).
    demand.readd[m] = Raid1AssemblyDemand::ReAdd{
        .events = views[m].md->events,
        .events_cleared_min = all_stale ? events : cleared_min,
        .events_cleared_max = all_stale ? events : cleared_max};
  }
  return demand;
}

std::optional<Violation> CheckAssembly(const Raid1AssemblyDemand& demand,
                                         const raid1::Raid1Array& array,
                                         const Raid1TraceState& trace) {
  const raid1::Raid1Geometry& g = trace.g;
  std::vector<size_t> in_sync;
  for (size_t m = 0; m < demand.readd.size(); ++m) {
    if (array.member_state(m) == raid1::MemberState::kInSync) in_sync.push_back(m);
  }
  std::vector<std::vector<io::SectorRange>> written(trace.members.size());
  for (size_t m = 0; m < trace.sectors_written.size() && m < written.size(); ++m) {
    written[m] = io::Unite(trace.sectors_written[m]);
  }
  // A chunk copied to member m: written whole, or written wherever an in-sync member
  // holds data now (the engine copies only where members hold data; nowhere, for a
  // chunk they hold none in: raid1::kWholeCopySectors).
  const auto copied = [&](size_t m, uint64_t chunk) {
    if (m < trace.whole_chunks_written.size() && trace.whole_chunks_written[m].contains(chunk)) {
      return true;
    }
    const uint64_t first = FirstSectorOf(g, chunk);
    const uint64_t n = SectorsOf(g, chunk);
    std::vector<io::SectorRange> held;
    for (size_t k : in_sync) {
      for (const io::SectorRange& r : trace.members[k]->visible().StoredRanges(g.data_offset + first, n)) {
        held.push_back({r.first - g.data_offset, r.count});
      }
    }
    for (const io::SectorRange& need : io::Unite(std::move(held))) {
      const std::vector<io::SectorRange> have = io::Clip(written[m], need.first, need.count);
      if (io::CountSectors(have) != need.count) return false;
    }
    return true;
  };
  // Only chunks where an in-sync member holds data can miss a copy (`copied` is true
  // for the others): found from the members' stored ranges, so the check costs the data
  // written, not the array size.
  absl::btree_set<uint64_t> held_chunks;
  for (size_t k : in_sync) {
    for (const io::SectorRange& r :
         trace.members[k]->visible().StoredRanges(g.data_offset, g.bitmap.sync_sectors)) {
      const uint64_t last = ChunkOf(g, r.end() - 1 - g.data_offset);
      for (uint64_t chunk = ChunkOf(g, r.first - g.data_offset); chunk <= last; ++chunk) {
        held_chunks.insert(chunk);
      }
    }
  }
  if (demand.stale_bitmap) {
    for (uint64_t chunk : held_chunks) {
      if (FirstSectorOf(g, chunk) + SectorsOf(g, chunk) < demand.stale_needed_from) continue;
      std::vector<size_t> missed;
      for (size_t m : in_sync) {
        if (!copied(m, chunk)) missed.push_back(m);
      }
      if (missed.size() > 1) {
        return InvariantViolated("I10", ": the bitmap was stale at assembly (", *demand.stale_bitmap,
                            "), but chunk ", chunk, " was copied to neither member ", missed[0],
                            " nor member ", missed[1],
                            " (a full resync copies every chunk to all but its source)");
      }
    }
  }
  for (size_t m : in_sync) {
    if (!demand.readd[m]) continue;
    const Raid1AssemblyDemand::ReAdd& r = *demand.readd[m];
    const bool full = array.readd_recovery(m) == raid1::ReAddRecovery::kFull;
    const std::string who =
        absl::StrCat("re-added member ", m, " (events ", r.events, ", events_cleared ",
                     r.events_cleared_min == r.events_cleared_max
                         ? absl::StrCat(r.events_cleared_min)
                         : absl::StrCat(r.events_cleared_min, "..", r.events_cleared_max),
                     ")");
    if (r.events < r.events_cleared_min && !full) {
      return InvariantViolated("I11", ": ", who, " needs a full recovery, but was recovered from the bitmap");
    }
    if (r.events >= r.events_cleared_max && full) {
      return InvariantViolated("I11", ": ", who,
                          " may be recovered from the bitmap, but was recovered fully");
    }
    if (!full) continue;
    for (uint64_t chunk : held_chunks) {
      if (!copied(m, chunk)) {
        return InvariantViolated("I11", ": ", who, " was recovered fully, but chunk ", chunk,
                            " was never copied to it");
      }
    }
  }
  return std::nullopt;
}

std::optional<Violation> CheckMirrorsIdentical(const raid1::Raid1Geometry& g,
                                                 const std::vector<const sim::DiskImage*>& disks) {
  for (size_t m = 1; m < disks.size(); ++m) {
    if (std::optional<uint64_t> chunk = FirstDifferingChunk(g, *disks[m], *disks[0], 0)) {
      return InvariantViolated("I8", ": after recovery and resync, in-sync mirrors ", 0, " and ", m,
                               " differ in chunk ", *chunk);
    }
  }
  return std::nullopt;
}

std::optional<Violation> CheckBitmapsClear(const raid1::Raid1Geometry& g,
                                             const std::vector<const sim::DiskImage*>& disks,
                                             const sim::DiskImage* bitmap_file) {
  std::vector<std::pair<std::string, const sim::DiskImage*>> bitmaps;
  if (g.external_bitmap) {
    bitmaps.emplace_back("the bitmap file", bitmap_file);
  } else {
    for (size_t m = 0; m < disks.size(); ++m) bitmaps.emplace_back(absl::StrCat("member ", m), disks[m]);
  }
  for (const auto& [who, image] : bitmaps) {
    const std::vector<std::byte> bitmap = Read(*image, g.bitmap_sector, g.bitmap_area_sectors);
    for (uint64_t chunk = 0; chunk < ChunkCount(g); ++chunk) {
      if (chunk % 8 == 0 && bitmap[kSuperBytes + chunk / 8] == std::byte{0}) {
        chunk += 7;  // a byte with no bit set
        continue;
      }
      if (RawChunkBit(bitmap, chunk)) {
        return InvariantViolated("I12", ": after resync and three idle daemon periods, ", who,
                            "'s durable bitmap still has chunk ", chunk, " set");
      }
    }
  }
  return std::nullopt;
}

Raid1TraceChecker::Raid1TraceChecker(sim::SimSsd& ssd, size_t index,
                                     std::shared_ptr<Raid1TraceState> state)
    : io::BlockDeviceWrapper(ssd), ssd_(ssd), index_(index), state_(std::move(state)) {
  if (index == kTraceBitmapFile) {
    state_->bitmap_file = &ssd;
    return;
  }
  if (state_->members.size() <= index) {
    state_->members.resize(index + 1, nullptr);
    state_->md_events.resize(index + 1);
    state_->bitmap_events.resize(index + 1);
  }
  state_->members[index] = &ssd;
}

void Raid1TraceChecker::Report(Violation violation) {
  violation.text = absl::StrCat(violation.text, " (", ssd_.name(), ")");
  state_->violations.push_back(std::move(violation));
}

void Raid1TraceChecker::SubmitWrite(uint64_t sector, std::span<const std::byte> data,
                                    uint32_t flags, io::IoCallback done) {
  const uint64_t sectors = data.size() / io::kSectorSize;
  if (!CheckWrite(sector, sectors, data, flags)) {
    return wrapped().SubmitWrite(sector, data, flags, std::move(done));
  }
  wrapped().SubmitWrite(sector, data, flags,
                       [this, sector, sectors, done = std::move(done)](absl::Status s) mutable {
                         EndData(sector, sectors);
                         done(std::move(s));
                       });
}

void Raid1TraceChecker::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  if (!CheckWrite(sector, sectors, {}, io::kNoFlags)) {
    return wrapped().SubmitDiscard(sector, sectors, std::move(done));
  }
  wrapped().SubmitDiscard(sector, sectors,
                         [this, sector, sectors, done = std::move(done)](absl::Status s) mutable {
                           EndData(sector, sectors);
                           done(std::move(s));
                         });
}

bool Raid1TraceChecker::CheckWrite(uint64_t sector, uint64_t sectors,
                                   std::span<const std::byte> data, uint32_t flags) {
  const raid1::Raid1Geometry& g = state_->g;
  const uint64_t end = sector + sectors;
  const uint64_t bitmap_end = g.bitmap_sector + g.bitmap_area_sectors;
  const uint64_t data_end = g.data_offset + g.array_sectors;
  if (index_ == kTraceBitmapFile) {
    if (end > bitmap_end) {
      Report(InvariantViolated("I14", ": a write of sectors [", sector, ", ", end,
                             ") runs past the bitmap file's area of ", bitmap_end, " sectors"));
    } else if (!data.empty()) {
      CheckBitmapWrite(sector * io::kSectorSize, data, flags);
    }
    return false;
  }
  if (!g.external_bitmap && sector < bitmap_end && g.bitmap_sector < end) {
    if (sector < g.bitmap_sector || end > bitmap_end) {
      Report(InvariantViolated("I14", ": a write of sectors [", sector, ", ", end,
                             ") runs outside the bitmap area [", g.bitmap_sector, ", ", bitmap_end,
                             ")"));
      return false;
    }
    if (!data.empty()) {
      CheckBitmapWrite((sector - g.bitmap_sector) * io::kSectorSize, data, flags);
    }
    return false;
  }
  if (sector == g.super_sector) {
    if (end > (g.external_bitmap ? g.data_offset : g.bitmap_sector)) {
      Report(InvariantViolated("I14", ": an md superblock write runs into the bitmap or data"));
    }
    if (!data.empty()) CheckMdWrite(data);
    return false;
  }
  if (sector < g.data_offset || end > data_end) {
    Report(InvariantViolated("I14", ": a write of sectors [", sector, ", ", end,
                           ") is neither metadata nor inside the data area [", g.data_offset, ", ",
                           data_end, ")"));
    return false;
  }
  const uint64_t first = ChunkOf(g, sector - g.data_offset);
  const uint64_t last = ChunkOf(g, end - 1 - g.data_offset);
  const bool fresh = CheckDataWrite(first, last);
  for (uint64_t c = first; c <= last; ++c) {
    ++state_->in_flight[c];
    // A member being recovered is recovered by the re-add rule (I11), not by these bits.
    if (state_->degraded_since && fresh) state_->written_while_degraded.insert(c);
  }
  if (state_->record_copies && !data.empty()) {
    if (state_->whole_chunks_written.size() <= index_) state_->whole_chunks_written.resize(index_ + 1);
    if (state_->sectors_written.size() <= index_) state_->sectors_written.resize(index_ + 1);
    state_->sectors_written[index_].push_back({sector - g.data_offset, end - sector});
    for (uint64_t c = first; c <= last; ++c) {
      const uint64_t chunk_first = g.data_offset + FirstSectorOf(g, c);
      if (sector <= chunk_first && chunk_first + SectorsOf(g, c) <= end) {
        state_->whole_chunks_written[index_].insert(c);
      }
    }
  }
  return true;
}

void Raid1TraceChecker::EndData(uint64_t sector, uint64_t sectors) {
  const raid1::Raid1Geometry& g = state_->g;
  const uint64_t first = ChunkOf(g, sector - g.data_offset);
  const uint64_t last = ChunkOf(g, sector + sectors - 1 - g.data_offset);
  for (uint64_t c = first; c <= last; ++c) {
    if (--state_->in_flight[c] == 0) state_->in_flight.erase(c);
  }
}

void Raid1TraceChecker::CheckMdWrite(std::span<const std::byte> data) {
  absl::StatusOr<raid1::MdSuperblock> md = raid1::DecodeMdSuperblock(data);
  if (!md.ok()) {
    Report(InvariantViolated("I14", ": an md superblock write does not decode: ", md.status().message()));
    return;
  }
  std::optional<uint64_t>& last = state_->md_events[index_];
  if (last && md->events < *last) {
    Report(InvariantViolated("I4", ": md events go back from ", *last, " to ", md->events));
  }
  last = md->events;
  // A clean array is trusted to be in sync everywhere (the next assembly resyncs
  // nothing), so it is marked clean only with no data write in flight (I1).
  if (md->clean() && !state_->in_flight.empty()) {
    Report(InvariantViolated("I1", ": an md superblock marked clean is written while a data write to chunk ",
                           state_->in_flight.begin()->first, " is in flight"));
  }
  if (Degraded(*md)) {
    if (!state_->degraded_since) state_->degraded_since = md->events;
  } else {
    state_->degraded_since.reset();
    state_->written_while_degraded.clear();
  }
}

void Raid1TraceChecker::CheckBitmapWrite(uint64_t offset, std::span<const std::byte> data,
                                         uint32_t flags) {
  const raid1::Raid1Geometry& g = state_->g;
  if (offset == 0 && data.size() >= kSuperBytes) {
    const RawBitmapSuper sb = DecodeRawBitmapSuper(data);
    if (sb.magic != kMagic || sb.version != 4) {
      Report(InvariantViolated("I14", ": a bitmap superblock with magic ", sb.magic, " version ",
                             sb.version, " is written"));
    }
    if (sb.events_cleared > sb.events) {
      Report(InvariantViolated("I6", ": a bitmap superblock with events_cleared ", sb.events_cleared,
                             " > events ", sb.events, " is written"));
    }
    std::optional<uint64_t>& last =
        index_ == kTraceBitmapFile ? state_->file_bitmap_events : state_->bitmap_events[index_];
    if (last && sb.events < *last) {
      Report(InvariantViolated("I4", ": bitmap events go back from ", *last, " to ", sb.events));
    }
    last = sb.events;
    if (state_->degraded_since && sb.events_cleared >= *state_->degraded_since) {
      Report(InvariantViolated("I7", ": events_cleared rises to ", sb.events_cleared,
                             " while the array is degraded (since events ",
                             *state_->degraded_since, ")"));
    }
  }
  // Bits this write clears durably (1 -> 0), in chunk order.
  const std::vector<std::byte> before = Read(ssd_.durable(), g.bitmap_sector, g.bitmap_area_sectors);
  const uint64_t events_cleared = DecodeRawBitmapSuper(before).events_cleared;
  std::vector<uint64_t> cleared;
  // The chunks whose bits this write covers.
  const uint64_t first_byte = std::max<uint64_t>(offset, kSuperBytes) - kSuperBytes;
  const uint64_t end_byte = std::max<uint64_t>(offset + data.size(), kSuperBytes) - kSuperBytes;
  for (uint64_t chunk = first_byte * 8; chunk < std::min(ChunkCount(g), end_byte * 8); ++chunk) {
    const uint64_t byte = kSuperBytes + chunk / 8;
    // A byte that clears no bit: on to the next one (bitmaps are mostly zeroes).
    if (chunk % 8 == 0 && (std::to_integer<uint8_t>(before[byte]) &
                           ~std::to_integer<uint8_t>(data[byte - offset])) == 0) {
      chunk += 7;
      continue;
    }
    const bool now = ((std::to_integer<uint8_t>(data[byte - offset]) >> (chunk % 8)) & 1) != 0;
    if (!now && RawChunkBit(before, chunk)) cleared.push_back(chunk);
  }
  if (cleared.empty()) return;
  const std::vector<MemberView> views = DurableViews(*state_, /*bitmaps=*/false);
  const std::vector<bool> fresh = Fresh(views);

  // The images each cleared chunk's contents are compared between, and where they
  // differ among the cleared chunks (found over each run of consecutive ones: a write
  // that clears many bits costs what the members store, not a comparison per chunk).
  struct Comparison {
    const sim::DiskImage* a;
    const sim::DiskImage* b;
    size_t member;  // the member the violation names
    std::vector<uint64_t> differing;
    bool Differs(uint64_t chunk) const {
      return std::binary_search(differing.begin(), differing.end(), chunk);
    }
  };
  auto compare = [&](const sim::DiskImage& a, const sim::DiskImage& b, size_t member) {
    Comparison c{&a, &b, member, {}};
    for (size_t i = 0; i < cleared.size();) {
      size_t j = i;
      while (j + 1 < cleared.size() && cleared[j + 1] == cleared[j] + 1) ++j;
      const uint64_t end = g.data_offset + FirstSectorOf(g, cleared[j]) + SectorsOf(g, cleared[j]);
      uint64_t at = g.data_offset + FirstSectorOf(g, cleared[i]);
      while (at < end) {
        const std::optional<uint64_t> sector = a.FirstDifference(b, at, end - at);
        if (!sector) break;
        const uint64_t chunk = ChunkOf(g, *sector - g.data_offset);
        c.differing.push_back(chunk);
        at = g.data_offset + FirstSectorOf(g, chunk + 1);
      }
      i = j + 1;
    }
    return c;
  };
  // While degraded, a failed member a re-add would recover from the bitmap alone must
  // not differ under a clear bit from what the array holds (this member's copy, or
  // with a file, the first fresh member's); without such a holder nothing is compared.
  std::vector<Comparison> unrecoverable;
  bool compared = true;
  if (state_->degraded_since) {
    const auto holder = index_ == kTraceBitmapFile
                            ? std::find(fresh.begin(), fresh.end(), true) - fresh.begin()
                            : static_cast<std::ptrdiff_t>(index_);
    if (static_cast<size_t>(holder) >= state_->members.size()) {
      compared = false;
    } else {
      const sim::DiskImage& mine = state_->members[holder]->visible();
      for (size_t k = 0; k < state_->members.size(); ++k) {
        if (fresh[k] || !views[k].md || views[k].md->events < events_cleared) continue;
        unrecoverable.push_back(compare(state_->members[k]->durable(), mine, k));
      }
    }
  }
  // I13: fresh members agree with the first fresh one (a chunk that needs a resync
  // keeps its bit until then); I3: each fresh member other than this one made its data
  // durable.
  std::vector<Comparison> disagreeing;
  std::vector<Comparison> not_durable;
  if (compared) {
    const sim::DiskImage* agreed = nullptr;
    for (size_t k = 0; k < state_->members.size(); ++k) {
      if (!fresh[k]) continue;
      const sim::DiskImage& held = state_->members[k]->visible();
      if (agreed == nullptr) {
        agreed = &held;
      } else {
        disagreeing.push_back(compare(held, *agreed, k));
      }
      if (k != index_) not_durable.push_back(compare(state_->members[k]->durable(), held, k));
    }
  }

  for (const uint64_t chunk : cleared) {
    const auto what = [chunk] { return absl::StrCat("chunk ", chunk, "'s bit is cleared"); };
    // An internal bitmap's PREFLUSH makes its member's data durable first (checked for
    // the other members below); a file's write flushes no member.
    if (!g.external_bitmap && (flags & io::kPreflush) == 0) {
      Report(InvariantViolated("I3", ": ", what(), " without PREFLUSH"));
    }
    if (state_->in_flight.contains(chunk)) {
      Report(InvariantViolated("I3", ": ", what(), " while a write to it is in flight"));
    }
    if (state_->written_while_degraded.contains(chunk)) {
      Report(InvariantViolated("I7", ": ", what(), " although it was written while degraded"));
    }
    for (const Comparison& c : unrecoverable) {
      if (c.Differs(chunk)) {
        Report(InvariantViolated("I7", ": ", what(), " while degraded, but failed member ", c.member,
                                 " (which a re-add recovers from the bitmap) holds other data"));
      }
    }
    // In member order, as the members are compared.
    size_t d = 0;
    size_t n = 0;
    for (size_t k = 0; k < state_->members.size(); ++k) {
      if (d < disagreeing.size() && disagreeing[d].member == k) {
        if (disagreeing[d++].Differs(chunk)) {
          Report(InvariantViolated("I13", ": ", what(), " while fresh members hold different data for it"));
        }
      }
      if (n < not_durable.size() && not_durable[n].member == k) {
        if (not_durable[n++].Differs(chunk)) {
          Report(InvariantViolated("I3", ": ", what(), " while member ", k,
                                   " has not made its data durable"));
        }
      }
    }
  }
}

bool Raid1TraceChecker::CheckDataWrite(uint64_t first_chunk, uint64_t last_chunk) {
  std::vector<MemberView> views = DurableViews(*state_);
  const std::vector<bool> fresh = Fresh(views);
  if (!fresh[index_]) return false;  // a member being recovered gets copies of any chunk
  for (size_t k = 0; k < views.size(); ++k) {
    if (!fresh[k]) continue;
    for (uint64_t c = first_chunk; c <= last_chunk; ++c) {
      if (!RawChunkBit(views[k].bitmap, c)) {
        Report(InvariantViolated("I2", ": a data write to chunk ", c,
                               " is submitted while member ", k,
                               "'s durable bitmap does not have its bit set"));
        return true;
      }
    }
  }
  return true;
}

Raid1AckChecker::Raid1AckChecker(io::BlockDevice& array, uint32_t lagging_mask,
                                 std::shared_ptr<Raid1TraceState> state)
    : io::BlockDeviceWrapper(array), lagging_mask_(lagging_mask), state_(std::move(state)) {}

void Raid1AckChecker::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                                  io::IoCallback done) {
  wrapped().SubmitWrite(sector, data, flags,
                       [this, sector, data, done = std::move(done)](absl::Status s) mutable {
                         if (s.ok()) {
                           const raid1::Raid1Geometry& g = state_->g;
                           const std::vector<MemberView> views =
                               DurableViews(*state_, /*bitmaps=*/false);
                           const std::vector<bool> fresh = Fresh(views);
                           const uint64_t sectors = data.size() / io::kSectorSize;
                           for (size_t k = 0; k < views.size(); ++k) {
                             if (!fresh[k] || ((lagging_mask_ >> k) & 1) != 0) continue;
                             const std::vector<std::byte> held =
                                 Read(state_->members[k]->visible(), g.data_offset + sector, sectors);
                             if (std::memcmp(held.data(), data.data(), held.size()) != 0) {
                               state_->violations.push_back(InvariantViolated(
                                   "I9", ": a write to sectors ", sector, "+", sectors,
                                   " is acknowledged while member ", k,
                                   " does not hold it and is not recorded faulty"));
                               break;
                             }
                           }
                         }
                         done(std::move(s));
                       });
}

}  // namespace powercut::verifier
