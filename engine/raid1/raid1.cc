// Raid1Array: assembly, resync, the write path and the bitmap daemon (raid1.h).
//
// Why the daemon flushes every member before writing cleared bits: each member carries
// its own copy of the bitmap, and a page write's PREFLUSH only makes *that* member's
// earlier writes durable. Writing the cleared page to member A (PREFLUSH|FUA) while
// member B's copy of the chunk's data still sits in B's volatile cache would let a
// power cut leave A saying "clean" over data that differs from B's (an I1 violation
// the moment A's bitmap is the one loaded). So the daemon first flushes all members
// and waits, then writes the pages: every mirror's data is durable before any copy of
// the bitmap says the chunk is clean (I1, I3).
#include "engine/raid1/raid1.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/runtime/time.h"

namespace powercut::raid1 {
namespace {

constexpr uint32_t kMetadataWrite = io::kPreflush | io::kFua;
constexpr uint64_t kSectorsPerPage = kBitmapPageSize / io::kSectorSize;

uint64_t RoundUp(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

BitmapSuper NewBitmapSuper(const Raid1Geometry& geometry, const Raid1Options& options) {
  return BitmapSuper{.uuid = options.uuid,
                     .sync_size = geometry.array_sectors,
                     .chunksize = static_cast<uint32_t>(geometry.chunk_sectors * io::kSectorSize),
                     .daemon_sleep = options.daemon_sleep_s,
                     .sectors_reserved = static_cast<uint32_t>(geometry.bitmap_area_sectors)};
}

MdSuperblock NewMdSuperblock(const Raid1Geometry& geometry, const Raid1Options& options,
                             uint32_t mirrors, uint32_t index) {
  MdSuperblock sb;
  sb.feature_map = kMdFeatureBitmapOffset;
  sb.set_uuid = options.uuid;
  sb.set_name_from(options.name);
  sb.level = kMdLevelRaid1;
  sb.size = geometry.array_sectors;
  sb.raid_disks = mirrors;
  sb.bitmap_offset = kRaid1BitmapOffset;
  sb.data_offset = geometry.data_offset;
  sb.data_size = geometry.member_sectors - geometry.data_offset;
  sb.super_offset = geometry.super_sector;
  sb.dev_number = index;
  sb.device_uuid = options.uuid;
  sb.device_uuid[15] ^= static_cast<uint8_t>(0x80 | index);
  sb.events = 0;
  sb.resync_offset = kMdResyncDone;
  sb.dev_roles.assign(kMdDefaultMaxDev, kMdRoleSpare);
  for (uint32_t i = 0; i < mirrors; ++i) sb.dev_roles[i] = static_cast<uint16_t>(i);
  return sb;
}

// Completes `done` once, after `count` member IOs, with the first error.
struct FanOut {
  size_t pending = 0;
  absl::Status status;
  io::IoCallback done;
  void Finish(const absl::Status& s) {
    if (!s.ok() && status.ok()) status = s;
    if (--pending == 0) done(std::move(status));
  }
};

}  // namespace

absl::StatusOr<Raid1Geometry> Raid1Geometry::For(uint64_t member_sectors,
                                                 const Raid1Options& options) {
  if (options.chunk_sectors == 0 || (options.chunk_sectors & (options.chunk_sectors - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: bitmap chunk of ", options.chunk_sectors,
                                                   " sectors is not a power of two"));
  }
  if (options.chunk_sectors * io::kSectorSize > (uint64_t{1} << 31)) {
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: bitmap chunk of ", options.chunk_sectors, " sectors is too large"));
  }
  if (options.daemon_sleep_s == 0) {
    return absl::InvalidArgumentError("raid1: daemon_sleep must be at least 1 second");
  }
  Raid1Geometry g;
  g.member_sectors = member_sectors;
  g.chunk_sectors = options.chunk_sectors;
  if (member_sectors <= g.bitmap_sector + kSectorsPerPage) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: a member of ", member_sectors,
                                                   " sectors has no room for metadata and data"));
  }
  // The bitmap is sized for the array, which (when not given) is what the bitmap leaves:
  // size it for the largest possible array, then fix the array size.
  const uint64_t wanted =
      options.array_sectors != 0 ? options.array_sectors : member_sectors - g.bitmap_sector;
  absl::StatusOr<BitmapGeometry> sizing =
      BitmapGeometry::For(wanted, static_cast<uint32_t>(options.chunk_sectors * io::kSectorSize));
  if (!sizing.ok()) return sizing.status();
  const uint64_t needed = sizing->pages * kSectorsPerPage;
  g.bitmap_area_sectors = options.bitmap_area_sectors != 0 ? options.bitmap_area_sectors : needed;
  g.data_offset = RoundUp(g.bitmap_sector + g.bitmap_area_sectors, kSectorsPerPage);
  if (g.data_offset >= member_sectors) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: members of ", member_sectors,
                                                   " sectors leave no room for data after a ",
                                                   g.bitmap_area_sectors, "-sector bitmap"));
  }
  g.array_sectors =
      options.array_sectors != 0 ? options.array_sectors : member_sectors - g.data_offset;
  if (g.array_sectors > member_sectors - g.data_offset) {
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: ", g.array_sectors, " array sectors do not fit after data_offset ",
                     g.data_offset, " on members of ", member_sectors, " sectors"));
  }
  absl::StatusOr<BitmapGeometry> bitmap = BitmapGeometry::For(
      g.array_sectors, static_cast<uint32_t>(options.chunk_sectors * io::kSectorSize));
  if (!bitmap.ok()) return bitmap.status();
  g.bitmap = *bitmap;
  // I14: the last page's write must stay inside the area.
  absl::StatusOr<ByteRange> last =
      g.bitmap.PageWriteRange(g.bitmap.pages - 1, io::kSectorSize, g.bitmap_area_bytes());
  if (!last.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: bitmap area of ", g.bitmap_area_sectors,
                                                   " sectors is too small for a ", g.bitmap.bytes,
                                                   "-byte bitmap (", g.bitmap.chunks, " chunks)"));
  }
  return g;
}

absl::StatusOr<std::unique_ptr<Raid1Array>> Raid1Array::Open(runtime::Scheduler& scheduler,
                                                             std::vector<io::BlockDevice*> members,
                                                             Raid1Options options) {
  if (members.size() < 2 || members.size() > kRaid1MaxMirrors) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raid1: ", members.size(), " members; a mirror set needs 2 to ", kRaid1MaxMirrors));
  }
  const uint64_t sectors = members[0]->sector_count();
  for (const io::BlockDevice* m : members) {
    if (m->sector_count() != sectors) {
      return absl::InvalidArgumentError(
          absl::StrCat("raid1: member sizes differ: ", members[0]->name(), " has ", sectors,
                       " sectors, ", m->name(), " has ", m->sector_count()));
    }
  }
  absl::StatusOr<Raid1Geometry> geometry = Raid1Geometry::For(sectors, options);
  if (!geometry.ok()) return geometry.status();
  return std::unique_ptr<Raid1Array>(
      new Raid1Array(scheduler, std::move(members), std::move(options), *geometry));
}

Raid1Array::Raid1Array(runtime::Scheduler& scheduler, std::vector<io::BlockDevice*> members,
                       Raid1Options options, Raid1Geometry geometry)
    : scheduler_(scheduler),
      members_(std::move(members)),
      options_(std::move(options)),
      geometry_(geometry),
      name_("raid1"),
      bitmap_io_(scheduler, "raid1 bitmap io"),
      counter_wait_(scheduler, "raid1 bitmap counter"),
      serialize_wait_(scheduler, "raid1 overlapping write") {}

Raid1Array::~Raid1Array() = default;

std::vector<MetadataBlock> Raid1Array::FormatMember(const Raid1Geometry& geometry,
                                                    const Raid1Options& options, uint32_t mirrors,
                                                    uint32_t index) {
  std::vector<MetadataBlock> blocks;
  std::vector<std::byte> bitmap = *NewBitmapImage(NewBitmapSuper(geometry, options), false);
  bitmap.resize(RoundUp(bitmap.size(), io::kSectorSize));
  blocks.push_back({geometry.bitmap_sector, std::move(bitmap)});
  // The bitmap superblock before the md superblock (I5).
  blocks.push_back(
      {geometry.super_sector, EncodeMdSuperblock(NewMdSuperblock(
                                  geometry, options, static_cast<uint32_t>(mirrors), index))});
  return blocks;
}

absl::Status Raid1Array::Create() {
  const uint32_t mirrors = static_cast<uint32_t>(members_.size());
  for (size_t phase = 0; phase < 2; ++phase) {  // bitmaps, then md superblocks (I5)
    std::vector<std::vector<MetadataBlock>> blocks;
    io::IoBatch batch(scheduler_, "raid1 format");
    for (uint32_t i = 0; i < mirrors; ++i) {
      blocks.push_back(FormatMember(geometry_, options_, mirrors, i));
      const MetadataBlock& block = blocks.back()[phase];
      batch.Write(*members_[i], block.sector, block.bytes, kMetadataWrite);
    }
    if (absl::Status s = batch.Wait(); !s.ok()) return s;
  }
  return Assemble();
}

absl::Status Raid1Array::Assemble() {
  const size_t n = members_.size();
  supers_.clear();
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::byte> bytes(kBitmapPageSize);
    if (absl::Status s = io::ReadSync(scheduler_, *members_[i], geometry_.super_sector, bytes);
        !s.ok()) {
      return s;
    }
    absl::StatusOr<MdSuperblock> sb = DecodeMdSuperblock(bytes, geometry_.member_sectors);
    if (!sb.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("raid1: ", members_[i]->name(), ": md superblock: ", sb.status().message()));
    }
    if (sb->set_uuid != options_.uuid || sb->size != geometry_.array_sectors ||
        sb->data_offset != geometry_.data_offset || sb->bitmap_offset != kRaid1BitmapOffset ||
        !sb->has_internal_bitmap() || sb->raid_disks != n) {
      return absl::InvalidArgumentError(
          absl::StrCat("raid1: ", members_[i]->name(), " does not belong to this array's layout"));
    }
    supers_.push_back(*sb);
  }
  uint64_t max_events = 0;
  for (const MdSuperblock& sb : supers_) max_events = std::max(max_events, sb.events);
  source_ = 0;
  while (supers_[source_].events != max_events) ++source_;

  // The bitmap of the freshest member (read_sb_page reads the first in-sync rdev).
  std::vector<std::byte> image(geometry_.bitmap_area_bytes());
  if (absl::Status s = io::ReadSync(scheduler_, *members_[source_], geometry_.bitmap_sector, image);
      !s.ok()) {
    return s;
  }
  const LoadContext context{.array_uuid = options_.uuid,
                            .array_events = max_events,
                            .resync_offset = supers_[source_].resync_offset,
                            .degraded = false};
  absl::StatusOr<WriteIntentBitmap> loaded = WriteIntentBitmap::Load(
      image, context,
      {.logical_block_size = io::kSectorSize, .area_bytes = geometry_.bitmap_area_bytes()});
  if (!loaded.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: ", members_[source_]->name(),
                                                   ": bitmap: ", loaded.status().message()));
  }
  bitmap_ = std::make_unique<WriteIntentBitmap>(std::move(*loaded));
  // super_1_validate with a bitmap: an older member is accepted only if it is not older
  // than events_cleared; then the bitmap's set chunks are what it may miss (and, after
  // an unclean start, they are all NEEDED and resynced below).
  for (size_t i = 0; i < n; ++i) {
    if (supers_[i].events < bitmap_->events_cleared()) {
      return absl::UnimplementedError(
          absl::StrCat("raid1: ", members_[i]->name(), " (events ", supers_[i].events,
                       ") is older than the bitmap's events_cleared ", bitmap_->events_cleared(),
                       " and needs a full recovery, which is not implemented yet"));
    }
  }

  // A stale bitmap was filled with ones: write it everywhere first.
  {
    runtime::MutexLock lock(bitmap_io_);
    if (absl::Status s = WritePages(bitmap_->TakeLoadWrites()); !s.ok()) return s;
    // The array becomes active: new events, the bitmap superblock first, then the md
    // superblock, marked active (resync_offset 0: the next assembly is unclean). (I5)
    events_ = max_events + 1;
    bitmap_->set_array_events(events_);
    if (absl::Status s = WritePages({bitmap_->UpdateSuper()}); !s.ok()) return s;
  }
  if (absl::Status s = WriteMdSuperblocks(); !s.ok()) return s;
  if (absl::Status s = Resync(); !s.ok()) return s;
  scheduler_.Spawn(
      "raid1-bitmap-daemon", [this] { RunDaemon(); }, runtime::FiberKind::kDaemon);
  return absl::OkStatus();
}

absl::Status Raid1Array::WriteMdSuperblocks() {
  std::vector<std::vector<std::byte>> bytes;
  io::IoBatch batch(scheduler_, "raid1 md superblock");
  for (size_t i = 0; i < members_.size(); ++i) {
    supers_[i].events = events_;
    supers_[i].resync_offset = 0;  // active
    bytes.push_back(EncodeMdSuperblock(supers_[i]));
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    batch.Write(*members_[i], geometry_.super_sector, bytes[i], kMetadataWrite);
  }
  return batch.Wait();
}

absl::Status Raid1Array::WritePages(const std::vector<PageWrite>& pages) {
  if (pages.empty()) return absl::OkStatus();
  io::IoBatch batch(scheduler_, "raid1 bitmap pages");
  for (const PageWrite& page : pages) {
    for (io::BlockDevice* member : members_) {
      batch.Write(*member, geometry_.bitmap_sector + page.range.offset / io::kSectorSize, page.data,
                  kMetadataWrite);
    }
  }
  return batch.Wait();
}

absl::Status Raid1Array::FlushAll() {
  io::IoBatch batch(scheduler_, "raid1 flush members");
  for (io::BlockDevice* member : members_) batch.Flush(*member);
  return batch.Wait();
}

absl::Status Raid1Array::CopyChunk(uint64_t chunk, const std::vector<size_t>& to) {
  const uint64_t first = geometry_.bitmap.FirstSectorOfChunk(chunk);
  std::vector<std::byte> buffer(geometry_.bitmap.SectorsInChunk(chunk) * io::kSectorSize);
  if (absl::Status s =
          io::ReadSync(scheduler_, *members_[source_], geometry_.data_offset + first, buffer);
      !s.ok()) {
    return s;
  }
  io::IoBatch batch(scheduler_, "raid1 resync");
  for (size_t i : to)
    batch.Write(*members_[i], geometry_.data_offset + first, buffer, io::kNoFlags);
  return batch.Wait();
}

absl::Status Raid1Array::Resync() {
  std::vector<size_t> others;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (i != source_) others.push_back(i);
  }
  // NEEDED -> RESYNC while copying -> decays after; the bits stay set on disk until
  // the daemon clears them, after flushing the copies (I13, I1).
  for (const ChunkRange& range : bitmap_->ResyncPlan()) {
    for (uint64_t chunk = range.first; chunk < range.first + range.count; ++chunk) {
      if (!bitmap_->StartSync(chunk, /*degraded=*/false)) continue;
      absl::Status copied = CopyChunk(chunk, others);
      bitmap_->EndSync(chunk, /*aborted=*/!copied.ok());
      if (!copied.ok()) return copied;
      ++resynced_chunks_;
    }
  }
  return absl::OkStatus();
}

void Raid1Array::RunDaemon() {
  for (;;) {
    scheduler_.SleepFor(runtime::Seconds(options_.daemon_sleep_s));
    runtime::MutexLock lock(bitmap_io_);
    if (!bitmap_->DaemonSweep()) continue;
    std::vector<PageWrite> pages = bitmap_->TakeDaemonWrites();
    if (pages.empty()) continue;
    // Every mirror's data durable before any member's copy says "clean" (see top).
    if (!FlushAll().ok()) return;  // member failure handling is not implemented
    if (!WritePages(pages).ok()) return;
  }
}

absl::Status Raid1Array::Unplug() {
  // Holding bitmap_io_ is "after earlier bitmap writes"; a page another request's
  // unplug took is written before that unplug releases the lock (I2).
  runtime::MutexLock lock(bitmap_io_);
  return WritePages(bitmap_->TakeUnplugWrites());
}

void Raid1Array::RunWrite(uint64_t sector, uint64_t sectors, std::span<const std::byte> data,
                          uint32_t flags, io::IoCallback done) {
  // md's wait_for_serialization: no other write to these sectors in flight (I1).
  const uint64_t end = sector + sectors;
  serialize_wait_.Await([&] {
    return std::none_of(writes_in_flight_.begin(), writes_in_flight_.end(),
                        [&](const auto& w) { return w.first < end && sector < w.second; });
  });
  writes_in_flight_.emplace_back(sector, end);
  while (!bitmap_->StartWrite(sector, sectors, /*behind=*/false)) counter_wait_.Wait();
  absl::Status status = Unplug();  // I2: intent durable on every member before data
  if (status.ok()) {
    io::IoBatch batch(scheduler_, "raid1 mirror writes");
    for (io::BlockDevice* member : members_) {
      if (data.empty()) {
        batch.Discard(*member, geometry_.data_offset + sector, sectors);
      } else {
        batch.Write(*member, geometry_.data_offset + sector, data, flags);
      }
    }
    status = batch.Wait();
  }
  bitmap_->EndWrite(sector, sectors, status.ok(), /*behind=*/false);  // failed: NEEDED (I7)
  counter_wait_.NotifyAll();
  writes_in_flight_.erase(
      std::find(writes_in_flight_.begin(), writes_in_flight_.end(), std::make_pair(sector, end)));
  serialize_wait_.NotifyAll();
  done(std::move(status));
}

void Raid1Array::SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(buffer.size());
  if (valid.ok())
    valid = io::ValidateRange(sector_count(), sector, buffer.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  if (!running()) return done(absl::FailedPreconditionError("raid1: array not assembled"));
  io::BlockDevice* member = members_[next_reader_];
  next_reader_ = (next_reader_ + 1) % members_.size();
  member->SubmitRead(geometry_.data_offset + sector, buffer, std::move(done));
}

void Raid1Array::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                             io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(data.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, data.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  if (!running()) return done(absl::FailedPreconditionError("raid1: array not assembled"));
  scheduler_.Spawn(
      "raid1-write",
      [this, sector, data, flags, done = std::move(done)]() mutable {
        RunWrite(sector, data.size() / io::kSectorSize, data, flags, std::move(done));
      },
      runtime::FiberKind::kDaemon);
}

void Raid1Array::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  absl::Status valid = io::ValidateRange(sector_count(), sector, sectors);
  if (!valid.ok()) return done(valid);
  if (!running()) return done(absl::FailedPreconditionError("raid1: array not assembled"));
  // raid1 sends discards down the write path: counted in the bitmap like a write.
  scheduler_.Spawn(
      "raid1-discard",
      [this, sector, sectors, done = std::move(done)]() mutable {
        RunWrite(sector, sectors, {}, io::kNoFlags, std::move(done));
      },
      runtime::FiberKind::kDaemon);
}

void Raid1Array::SubmitFlush(io::IoCallback done) {
  auto fan = std::make_shared<FanOut>();
  fan->pending = members_.size();
  fan->done = std::move(done);
  for (io::BlockDevice* member : members_) {
    member->SubmitFlush([fan](absl::Status s) { fan->Finish(s); });
  }
}

}  // namespace powercut::raid1
