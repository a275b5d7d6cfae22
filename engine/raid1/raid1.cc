// Raid1Array: assembly, resync and re-add, the write path, member failure and the
// bitmap daemon (raid1.h).
//
// Why the daemon flushes every member before writing cleared bits: each member carries
// its own copy of the bitmap, and a page write's PREFLUSH only makes *that* member's
// earlier writes durable. Writing the cleared page to member A (PREFLUSH|FUA) while
// member B's copy of the chunk's data still sits in B's volatile cache would let a
// power cut leave A saying "clean" over data that differs from B's (an I1 violation
// the moment A's bitmap is the one loaded). So the daemon first flushes all members
// and waits, then writes the pages: every mirror's data is durable before any copy of
// the bitmap says the chunk is clean (I1, I3).
//
// Why a failure must be durable before the next data write, not only before the ack:
// while member A is faulty in memory only, a new write's bitmap page goes to B alone.
// Were its data submitted, a power cut would leave A and B with equal events, A's
// bitmap (the one assembly may load) without the bit, and B's data differing from A's
// under it (I1). md blocks such writes on the Blocked rdev until md_update_sb ran.
#include "engine/raid1/raid1.h"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/runtime/time.h"

namespace powercut::raid1 {
namespace {

constexpr uint32_t kMetadataWrite = io::kPreflush | io::kFua;
// How often an IO the last in-sync member failed is retried before the request fails
// (md rewrites a superblock that failed: MD_SB_NEED_REWRITE).
constexpr int kLastMemberRetries = 8;
constexpr uint64_t kSectorsPerPage = kBitmapPageSize / io::kSectorSize;

uint64_t RoundUp(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

BitmapSuper NewBitmapSuper(const Raid1Geometry& geometry, const Raid1Options& options) {
  return BitmapSuper{.uuid = options.uuid,
                     .sync_size = geometry.array_sectors,
                     .chunksize = static_cast<uint32_t>(geometry.chunk_sectors * io::kSectorSize),
                     .daemon_sleep = options.daemon_sleep_s,
                     .write_behind = options.write_behind,
                     .sectors_reserved = static_cast<uint32_t>(geometry.bitmap_area_sectors)};
}

MdSuperblock NewMdSuperblock(const Raid1Geometry& geometry, const Raid1Options& options,
                             uint32_t mirrors, uint32_t index) {
  MdSuperblock sb;
  // A file bitmap leaves no trace in the md superblock (super_1_sync): no feature bit,
  // no offset.
  sb.feature_map = geometry.external_bitmap ? 0 : kMdFeatureBitmapOffset;
  sb.set_uuid = options.uuid;
  sb.set_name_from(options.name);
  sb.level = kMdLevelRaid1;
  sb.size = geometry.array_sectors;
  sb.raid_disks = mirrors;
  sb.bitmap_offset = geometry.external_bitmap ? 0 : kRaid1BitmapOffset;
  sb.data_offset = geometry.data_offset;
  sb.data_size = geometry.member_sectors - geometry.data_offset;
  sb.super_offset = geometry.super_sector;
  sb.dev_number = index;
  if ((options.write_mostly_mask >> index) & 1) sb.devflags = kMdDevFlagWriteMostly;
  sb.device_uuid = options.uuid;
  sb.device_uuid[15] ^= static_cast<uint8_t>(0x80 | index);
  sb.events = 0;
  sb.resync_offset = kMdResyncDone;
  sb.dev_roles.assign(kMdDefaultMaxDev, kMdRoleSpare);
  for (uint32_t i = 0; i < mirrors; ++i) sb.dev_roles[i] = static_cast<uint16_t>(i);
  return sb;
}

// One IO batch per member, so each member's outcome is known. In place (no allocation
// per request); `what` should be short enough for std::string's inline buffer.
struct PerMember {
  PerMember(runtime::Scheduler& scheduler, const std::vector<size_t>& targets, const char* what)
      : targets(targets) {
    for (size_t k = 0; k < targets.size(); ++k) batches[k].emplace(scheduler, what);
  }
  io::IoBatch& operator[](size_t k) { return *batches[k]; }
  // Waits for every batch; the members whose IO failed, and the first error.
  std::vector<size_t> Wait(absl::Status* first_error = nullptr) {
    std::vector<size_t> failed;
    for (size_t k = 0; k < targets.size(); ++k) {
      if (absl::Status s = batches[k]->Wait(); !s.ok()) {
        failed.push_back(targets[k]);
        if (first_error != nullptr && first_error->ok()) *first_error = s;
      }
    }
    return failed;
  }
  const std::vector<size_t>& targets;
  std::array<std::optional<io::IoBatch>, kRaid1MaxMirrors> batches;
};

}  // namespace

absl::StatusOr<Raid1Geometry> Raid1Geometry::For(uint64_t member_sectors,
                                                 const Raid1Options& options) {
  return For(member_sectors, options, options.bitmap_file != nullptr);
}

absl::StatusOr<Raid1Geometry> Raid1Geometry::For(uint64_t member_sectors,
                                                 const Raid1Options& options,
                                                 bool external_bitmap) {
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
  g.external_bitmap = external_bitmap;
  if (external_bitmap) g.bitmap_sector = 0;  // on the bitmap device
  // What the members hold before their data: the md superblock, and an internal bitmap.
  const uint64_t metadata_end = external_bitmap ? g.super_sector + 1 : g.bitmap_sector;
  if (member_sectors <= metadata_end + kSectorsPerPage) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: a member of ", member_sectors,
                                                   " sectors has no room for metadata and data"));
  }
  // The bitmap is sized for the array, which (when not given) is what the bitmap leaves:
  // size it for the largest possible array, then fix the array size.
  const uint64_t wanted =
      options.array_sectors != 0 ? options.array_sectors : member_sectors - metadata_end;
  absl::StatusOr<BitmapGeometry> sizing =
      BitmapGeometry::For(wanted, static_cast<uint32_t>(options.chunk_sectors * io::kSectorSize));
  if (!sizing.ok()) return sizing.status();
  const uint64_t needed = sizing->pages * kSectorsPerPage;
  g.bitmap_area_sectors = options.bitmap_area_sectors != 0 ? options.bitmap_area_sectors : needed;
  const uint64_t member_metadata_end =
      external_bitmap ? metadata_end : g.bitmap_sector + g.bitmap_area_sectors;
  g.data_offset = options.data_offset != 0 ? options.data_offset
                                           : RoundUp(member_metadata_end, kSectorsPerPage);
  if (g.data_offset < member_metadata_end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raid1: data_offset ", g.data_offset, " overlaps the ",
        external_bitmap ? "md superblock" : "bitmap area", " (sectors up to ", member_metadata_end,
        ")"));
  }
  if (options.write_behind > kBitmapMaxWriteBehind) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: write_behind ", options.write_behind,
                                                   " is above ", kBitmapMaxWriteBehind));
  }
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
  for (const io::BlockDevice* m : members) {
    if (m == options.bitmap_file) {
      return absl::InvalidArgumentError(
          absl::StrCat("raid1: ", m->name(), " is both a member and the bitmap file"));
    }
  }
  if ((options.write_mostly_mask >> members.size()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: write_mostly_mask ",
                                                   options.write_mostly_mask, " names members beyond ",
                                                   members.size() - 1));
  }
  absl::StatusOr<Raid1Geometry> geometry = Raid1Geometry::For(sectors, options);
  if (!geometry.ok()) return geometry.status();
  if (options.bitmap_file != nullptr &&
      options.bitmap_file->sector_count() < geometry->bitmap_area_sectors) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raid1: the bitmap file ", options.bitmap_file->name(), " has ",
        options.bitmap_file->sector_count(), " sectors; the bitmap needs ",
        geometry->bitmap_area_sectors));
  }
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
      state_(members_.size(), MemberState::kInSync),
      readd_(members_.size(), ReAddRecovery::kNone),
      sb_update_(scheduler, "raid1 md_update_sb"),
      bitmap_io_(scheduler, "raid1 bitmap io"),
      counter_wait_(scheduler, "raid1 bitmap counter"),
      behind_wait_(scheduler, "r1 behind"),
      serialize_wait_(scheduler, "raid1 overlapping write"),
      idle_wait_(scheduler, "raid1 stop"),
      daemon_wait_(scheduler, "raid1 daemon sleep"),
      daemon_done_(scheduler, "raid1 daemon exit") {}

Raid1Array::~Raid1Array() = default;

MetadataBlock Raid1Array::FormatBitmapFile(const Raid1Geometry& geometry,
                                           const Raid1Options& options) {
  std::vector<std::byte> bitmap = *NewBitmapImage(NewBitmapSuper(geometry, options), false);
  bitmap.resize(RoundUp(bitmap.size(), io::kSectorSize));
  return {geometry.bitmap_sector, std::move(bitmap)};
}

std::vector<MetadataBlock> Raid1Array::FormatMember(const Raid1Geometry& geometry,
                                                    const Raid1Options& options, uint32_t mirrors,
                                                    uint32_t index) {
  std::vector<MetadataBlock> blocks;
  if (!geometry.external_bitmap) blocks.push_back(FormatBitmapFile(geometry, options));
  // The bitmap superblock before the md superblock (I5).
  blocks.push_back(
      {geometry.super_sector, EncodeMdSuperblock(NewMdSuperblock(
                                  geometry, options, static_cast<uint32_t>(mirrors), index))});
  return blocks;
}

absl::Status Raid1Array::Create() {
  const uint32_t mirrors = static_cast<uint32_t>(members_.size());
  std::vector<std::vector<MetadataBlock>> blocks;
  for (uint32_t i = 0; i < mirrors; ++i) blocks.push_back(FormatMember(geometry_, options_, mirrors, i));
  if (external()) {  // the bitmap file before any md superblock (I5)
    const MetadataBlock file = FormatBitmapFile(geometry_, options_);
    if (absl::Status s =
            io::WriteSync(scheduler_, *options_.bitmap_file, file.sector, file.bytes, io::kFua);
        !s.ok()) {
      return s;
    }
  }
  // Internal: the bitmaps, then the md superblocks (I5).
  for (size_t phase = 0; phase < blocks[0].size(); ++phase) {
    io::IoBatch batch(scheduler_, "raid1 format");
    for (uint32_t i = 0; i < mirrors; ++i) {
      const MetadataBlock& block = blocks[i][phase];
      batch.Write(*members_[i], block.sector, block.bytes, kMetadataWrite);
    }
    if (absl::Status s = batch.Wait(); !s.ok()) return s;
  }
  return Assemble();
}

bool Raid1Array::degraded() const {
  return std::any_of(state_.begin(), state_.end(),
                     [](MemberState s) { return s != MemberState::kInSync; });
}

std::vector<size_t> Raid1Array::Members(MemberState state) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < state_.size(); ++i) {
    if (state_[i] == state) out.push_back(i);
  }
  return out;
}

bool Raid1Array::MarkFaulty(size_t index) {
  if (state_[index] == MemberState::kFaulty) return true;
  if (state_[index] == MemberState::kInSync && Members(MemberState::kInSync).size() == 1) {
    return false;  // md never fails the last working mirror
  }
  state_[index] = MemberState::kFaulty;
  if (bitmap_ != nullptr) bitmap_->MemberFailed();
  ++failures_marked_;
  return true;
}

std::optional<size_t> Raid1Array::PickSource() {
  std::optional<size_t> any;
  for (size_t i : Members(MemberState::kInSync)) {
    if (!WriteMostly(i)) return i;
    if (!any) any = i;
  }
  return any;
}

absl::Status Raid1Array::Assemble() {
  const size_t n = members_.size();
  const uint32_t mirrors = static_cast<uint32_t>(n);
  supers_.clear();
  std::vector<bool> readable(n, false);
  for (size_t i = 0; i < n; ++i) {
    absl::StatusOr<MdSuperblock> sb = ReadMemberSuperblock(i);
    if (absl::IsUnavailable(sb.status())) {
      // A member that cannot be read is missing; the array runs without it.
      supers_.push_back(NewMdSuperblock(geometry_, options_, mirrors, static_cast<uint32_t>(i)));
      continue;
    }
    if (!sb.ok()) return sb.status();
    supers_.push_back(*sb);
    readable[i] = true;
  }
  uint64_t max_events = 0;
  std::optional<size_t> freshest;
  for (size_t i = 0; i < n; ++i) {
    if (readable[i] && (!freshest || supers_[i].events > max_events)) {
      freshest = i;
      max_events = supers_[i].events;
    }
  }
  if (!freshest) return absl::UnavailableError("raid1: no member can be read");
  // Fresh: the freshest events and not failed in the freshest member's view (I9 made
  // every recorded failure visible there). Stale members are re-added below.
  const std::vector<uint16_t>& roles = supers_[*freshest].dev_roles;
  for (size_t i = 0; i < n; ++i) {
    if (!readable[i]) {
      state_[i] = MemberState::kFaulty;
    } else if (POWERCUT_MUTANT(kRaid1ResyncFromStale)) {
      state_[i] = MemberState::kInSync;
    } else if (supers_[i].events == max_events && roles[i] != kMdRoleFaulty) {
      state_[i] = MemberState::kInSync;
    } else {
      state_[i] = MemberState::kRecovering;
    }
  }
  // The bitmap: the file, or a fresh member's copy (read_sb_page reads an in-sync
  // rdev; one that cannot be read is missing).
  std::vector<std::byte> image(geometry_.bitmap_area_bytes());
  for (;;) {
    std::optional<size_t> source = PickSource();
    if (!source) return absl::UnavailableError("raid1: no fresh member can be read");
    source_ = *source;
    if (external()) break;
    if (io::ReadSync(scheduler_, *members_[source_], geometry_.bitmap_sector, image).ok()) break;
    state_[source_] = MemberState::kFaulty;
  }
  if (external()) {
    if (absl::Status s = io::ReadSync(scheduler_, *options_.bitmap_file, 0, image); !s.ok()) {
      return absl::UnavailableError(absl::StrCat("raid1: the bitmap file ",
                                                 options_.bitmap_file->name(),
                                                 " cannot be read: ", s.message()));
    }
  }
  const bool unclean = !POWERCUT_MUTANT(kBmLoadIgnoresUnclean);
  const LoadContext context{
      .array_uuid = options_.uuid,
      .array_events = max_events,
      .resync_offset = unclean ? supers_[source_].resync_offset : kMdResyncDone,
      .degraded = degraded()};
  absl::StatusOr<WriteIntentBitmap> loaded =
      WriteIntentBitmap::Load(image, context,
                              {.logical_block_size = io::kSectorSize,
                               .area_bytes = geometry_.bitmap_area_bytes(),
                               .file = external()});
  if (!loaded.ok()) {
    const io::BlockDevice& from = external() ? *options_.bitmap_file : *members_[source_];
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: ", from.name(), ": bitmap: ", loaded.status().message()));
  }
  bitmap_ = std::make_unique<WriteIntentBitmap>(std::move(*loaded));
  bitmap_->set_degraded(degraded());
  // super_1_validate with a bitmap (I11): a stale member not older than events_cleared
  // misses at most the bitmap's set chunks; an older one needs everything.
  for (size_t i = 0; i < n; ++i) {
    readd_[i] = state_[i] == MemberState::kRecovering
                    ? (bitmap_->ReAddRecoveryFor(supers_[i].events) == ReAddRecovery::kFull
                           ? ReAddRecovery::kFull
                           : ReAddRecovery::kBitmap)
                    : ReAddRecovery::kNone;
  }

  // The loaded bitmap (a stale one filled with ones) goes to every in-sync member
  // first: their copies may differ where page writes were cut, and a resync copy must
  // not land under a member's clear bit (I2, I1). A bitmap file has one copy: only the
  // pages a stale load filled with ones are written back.
  {
    runtime::MutexLock lock(bitmap_io_);
    std::vector<PageWrite> pages = bitmap_->TakeLoadWrites();
    bitmap_->WriteAll();
    if (!external()) pages = bitmap_->TakeUnplugWrites();
    if (absl::Status s = WritePages(pages); !s.ok()) return s;
  }
  // The array becomes active: new events, the bitmap superblock first, then the md
  // superblock, marked active (resync_offset 0: the next assembly is unclean). (I5)
  events_ = max_events;
  if (absl::Status s = UpdateSuperblocks(); !s.ok()) return s;
  if (absl::Status s = Resync(/*keep_needed=*/false); !s.ok()) return s;
  if (absl::Status s = FinishRecovery(); !s.ok()) return s;
  if (absl::Status s = RecordFailures(); !s.ok()) return s;
  daemon_started_ = true;
  scheduler_.Spawn(
      "raid1-bitmap-daemon", [this] { RunDaemon(); }, runtime::FiberKind::kDaemon);
  return absl::OkStatus();
}

absl::StatusOr<MdSuperblock> Raid1Array::ReadMemberSuperblock(size_t index) {
  io::BlockDevice& member = *members_[index];
  std::vector<std::byte> bytes(kBitmapPageSize);
  if (absl::Status s = io::ReadSync(scheduler_, member, geometry_.super_sector, bytes); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("raid1: ", member.name(), ": cannot read the md superblock: ", s.message()));
  }
  absl::StatusOr<MdSuperblock> sb = DecodeMdSuperblock(bytes, geometry_.member_sectors);
  if (!sb.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: ", member.name(), ": md superblock: ", sb.status().message()));
  }
  const bool bitmap_matches = external() ? !sb->has_internal_bitmap()
                                         : sb->has_internal_bitmap() &&
                                               sb->bitmap_offset == kRaid1BitmapOffset;
  if (sb->set_uuid != options_.uuid || sb->size != geometry_.array_sectors ||
      sb->data_offset != geometry_.data_offset || !bitmap_matches ||
      sb->raid_disks != members_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: ", member.name(), " does not belong to this array's layout"));
  }
  return sb;
}

absl::Status Raid1Array::FinishRecovery() {
  // Re-added members: their copies durable, then the whole bitmap on them, then recorded
  // in sync (so a power cut before that leaves them stale, to be re-added again).
  std::vector<size_t> readded = Members(MemberState::kRecovering);
  if (readded.empty()) return absl::OkStatus();
  // (The md superblock write below carries PREFLUSH too; a member failing this flush
  // stays out instead of failing that write.)
  {
    PerMember flush(scheduler_, readded, "r1 flush");
    for (size_t k = 0; k < readded.size(); ++k) flush[k].Flush(*members_[readded[k]]);
    for (size_t i : flush.Wait()) state_[i] = MemberState::kFaulty;
  }
  for (size_t i : Members(MemberState::kRecovering)) state_[i] = MemberState::kInSync;
  bitmap_->set_degraded(degraded());
  bitmap_->WriteAll();
  {
    runtime::MutexLock lock(bitmap_io_);
    if (absl::Status s = WritePages(bitmap_->TakeUnplugWrites()); !s.ok()) return s;
  }
  if (absl::Status s = RecordFailures(); !s.ok()) return s;
  runtime::MutexLock lock(sb_update_);
  return UpdateSuperblocks();
}

absl::Status Raid1Array::ReAdd(size_t index) {
  if (!running()) return absl::FailedPreconditionError("raid1: array not running");
  if (index >= members_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: re-add: no member ", index, " in ", members_.size()));
  }
  if (state_[index] != MemberState::kFaulty || write_barrier_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "raid1: re-add: ", members_[index]->name(),
        write_barrier_ ? " must wait for the re-add under way" : " is not faulty"));
  }
  // md's barrier: writes accepted from now wait, and those in flight (write-behind
  // included) complete, so every copy below is of data no write changes meanwhile.
  write_barrier_ = true;
  absl::Status status = Recover(index);
  if (state_[index] == MemberState::kRecovering) state_[index] = MemberState::kFaulty;
  write_barrier_ = false;
  serialize_wait_.NotifyAll();
  if (status.ok() && state_[index] != MemberState::kInSync) {
    return absl::UnavailableError(
        absl::StrCat("raid1: re-add: ", members_[index]->name(), " failed during its recovery"));
  }
  return status;
}

absl::Status Raid1Array::Recover(size_t index) {
  if (!POWERCUT_MUTANT(kRaid1ReAddNoQuiesce)) {
    serialize_wait_.Await([&] { return writes_in_flight_.empty(); });
  }
  // Its failure durable everywhere before it is looked at again.
  if (absl::Status s = RecordFailures(); !s.ok()) return s;
  absl::StatusOr<MdSuperblock> sb = ReadMemberSuperblock(index);
  if (!sb.ok()) return sb.status();
  supers_[index] = *sb;
  state_[index] = MemberState::kRecovering;
  readd_[index] = bitmap_->ReAddRecoveryFor(sb->events) == ReAddRecovery::kFull
                      ? ReAddRecovery::kFull
                      : ReAddRecovery::kBitmap;
  // The bits stay NEEDED while the member is not recorded in sync: a bit the daemon
  // cleared before that would hide the chunk from the next re-add.
  std::vector<uint64_t> copied;
  if (absl::Status s = Resync(/*keep_needed=*/true, &copied); !s.ok()) return s;
  if (absl::Status s = FinishRecovery(); !s.ok()) return s;
  if (state_[index] == MemberState::kInSync && !degraded()) {
    for (uint64_t chunk : copied) {
      if (bitmap_->StartSync(chunk, /*degraded=*/false)) bitmap_->EndSync(chunk, /*aborted=*/false);
    }
  }
  return absl::OkStatus();
}

absl::Status Raid1Array::OnMembers(std::vector<size_t> targets, const char* what,
                                   const std::function<void(io::IoBatch&, size_t)>& submit) {
  for (int attempt = 0;; ++attempt) {
    PerMember batch(scheduler_, targets, what);
    for (size_t k = 0; k < targets.size(); ++k) submit(batch[k], targets[k]);
    absl::Status error;
    std::vector<size_t> stuck;
    for (size_t i : batch.Wait(&error)) {
      if (!MarkFaulty(i)) stuck.push_back(i);
    }
    if (stuck.empty()) return absl::OkStatus();
    if (attempt == kLastMemberRetries) return error;
    targets = std::move(stuck);
  }
}

absl::Status Raid1Array::WriteMdSuperblocks() {
  const std::vector<size_t> targets = Members(MemberState::kInSync);
  std::vector<std::vector<std::byte>> bytes(members_.size());
  for (size_t i : targets) {
    MdSuperblock& sb = supers_[i];
    sb.events = events_;
    sb.resync_offset = clean_ ? kMdResyncDone : 0;  // clean after Stop, else active
    for (size_t j = 0; j < members_.size(); ++j) {
      sb.dev_roles[j] = state_[j] == MemberState::kInSync ? static_cast<uint16_t>(j) : kMdRoleFaulty;
    }
    bytes[i] = EncodeMdSuperblock(sb);
  }
  return OnMembers(targets, "r1 md sb", [&](io::IoBatch& batch, size_t i) {
    batch.Write(*members_[i], geometry_.super_sector, bytes[i], kMetadataWrite);
  });
}

absl::Status Raid1Array::UpdateSuperblocks() {
  ++events_;
  bitmap_->set_array_events(events_);
  {
    runtime::MutexLock lock(bitmap_io_);
    // I5: before the md superblock
    if (absl::Status s = WritePages({bitmap_->UpdateSuper()}); !s.ok()) return s;
  }
  return WriteMdSuperblocks();
}

absl::Status Raid1Array::RecordFailures() {
  if (!FailuresPending()) return absl::OkStatus();  // nothing marked since the last record
  runtime::MutexLock lock(sb_update_);
  while (FailuresPending()) {
    const uint64_t marked = failures_marked_;
    if (absl::Status s = UpdateSuperblocks(); !s.ok()) return s;
    failures_recorded_ = std::max(failures_recorded_, marked);
  }
  return absl::OkStatus();
}

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

absl::StatusOr<bool> Raid1Array::CopyChunk(uint64_t chunk, const std::vector<size_t>& to) {
  const uint64_t first = geometry_.bitmap.FirstSectorOfChunk(chunk);
  std::vector<std::byte> buffer(geometry_.bitmap.SectorsInChunk(chunk) * io::kSectorSize);
  for (;;) {
    if (io::ReadSync(scheduler_, *members_[source_], geometry_.data_offset + first, buffer).ok()) {
      break;
    }
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
    batch[k].Write(*members_[targets[k]], geometry_.data_offset + first, buffer, io::kNoFlags);
  }
  const std::vector<size_t> failed = batch.Wait();
  for (size_t i : failed) MarkFaulty(i);
  return failed.empty();
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
  // NEEDED -> RESYNC while copying -> decays after; the bits stay set on disk until
  // the daemon clears them, after flushing the copies (I13, I1).
  for (const ChunkRange& range : bitmap_->ResyncPlan()) {
    for (uint64_t chunk = range.first; chunk < range.first + range.count; ++chunk) {
      in_plan[chunk] = true;
      // Missing or failed members keep the bits (StartSync with degraded keeps NEEDED)
      // for their re-add; the ones being re-added now are in sync when this finishes.
      const bool stays_degraded = keep_needed || !Members(MemberState::kFaulty).empty();
      if (!bitmap_->StartSync(chunk, stays_degraded)) continue;
      absl::StatusOr<bool> done = CopyChunk(chunk, everyone);
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
    absl::StatusOr<bool> done = CopyChunk(chunk, full);
    if (!done.ok()) return done.status();
    ++recovered_chunks_;
  }
  return RecordFailures();
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
    while (!stopping_ && scheduler_.Now() < wake) daemon_wait_.WaitUntil(wake);
    if (stopping_ || !DaemonWork().ok()) break;
  }
  daemon_done_.Set();
}

void Raid1Array::EndRequest() {
  if (--active_requests_ == 0) idle_wait_.NotifyAll();
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
  // durable holds every completed write.
  clean_ = true;
  return UpdateSuperblocks();
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

void Raid1Array::RunWrite(uint64_t sector, uint64_t sectors, std::span<const std::byte> data,
                          uint32_t flags, io::IoCallback done) {
  // md's wait_for_serialization: no other write to these sectors in flight (I1).
  const uint64_t end = sector + sectors;
  if (POWERCUT_MUTANT(kRaid1OverlapUnserialized)) {
    serialize_wait_.Await([&] { return !write_barrier_; });
  } else {
    serialize_wait_.Await([&] {
      return !write_barrier_ &&
             std::none_of(writes_in_flight_.begin(), writes_in_flight_.end(),
                          [&](const auto& w) { return w.first < end && sector < w.second; });
    });
  }
  writes_in_flight_.emplace_back(sector, end);
  const auto finish = [&] {
    writes_in_flight_.erase(
        std::find(writes_in_flight_.begin(), writes_in_flight_.end(), std::make_pair(sector, end)));
    serialize_wait_.NotifyAll();
  };
  // A blocked (failed, unrecorded) member holds new writes back (see top).
  if (absl::Status s = RecordFailures(); !s.ok()) {
    finish();
    return done(s);
  }
  // Write-behind: write-mostly mirrors may lag if another mirror is in sync and the
  // write_behind budget allows (md's R1BIO_BehindIO).
  std::vector<size_t> fast, behind;
  for (size_t i : Members(MemberState::kInSync)) (WriteMostly(i) ? behind : fast).push_back(i);
  // A FUA write is durable on every mirror before it is acknowledged, so it never lags.
  const bool write_behind = !data.empty() && (flags & io::kFua) == 0 && !fast.empty() &&
                            !behind.empty() &&
                            bitmap_->behind_writes() < bitmap_->max_write_behind();
  while (!bitmap_->StartWrite(sector, sectors, write_behind)) counter_wait_.Wait();
  absl::Status status = Unplug();  // I2: intent durable on every member before data
  fast.clear();
  behind.clear();
  for (size_t i : Members(MemberState::kInSync)) {
    (write_behind && WriteMostly(i) ? behind : fast).push_back(i);
  }
  if (fast.empty()) {  // the non-write-mostly mirrors failed meanwhile
    fast.swap(behind);
  }
  std::vector<std::byte> behind_copy;
  if (!behind.empty()) behind_copy.assign(data.begin(), data.end());
  PerMember mirrors(scheduler_, fast, "r1 data");
  PerMember lagging(scheduler_, behind, "r1 behind");
  if (status.ok()) {
    for (size_t k = 0; k < fast.size(); ++k) {
      io::BlockDevice& member = *members_[fast[k]];
      if (data.empty()) {
        mirrors[k].Discard(member, geometry_.data_offset + sector, sectors);
      } else {
        mirrors[k].Write(member, geometry_.data_offset + sector, data, flags);
      }
    }
    for (size_t k = 0; k < behind.size(); ++k) {
      lagging[k].Write(*members_[behind[k]], geometry_.data_offset + sector, behind_copy, flags);
    }
  }
  // Whatever was submitted is waited for, even once the request has failed: the
  // batches live on this fiber's stack.
  const bool submitted = status.ok();
  absl::Status error;
  const std::vector<size_t> failed = submitted ? mirrors.Wait(&error) : std::vector<size_t>{};
  if (status.ok() && failed.size() == fast.size() && !fast.empty()) status = error;
  for (size_t i : failed) MarkFaulty(i);
  if (!POWERCUT_MUTANT(kRaid1AckBeforeFaultRecorded) || failed.empty()) {
    if (absl::Status s = RecordFailures(); !s.ok() && status.ok()) status = s;
  }
  if (behind.empty()) {
    // failed or degraded: NEEDED (I7)
    bitmap_->EndWrite(sector, sectors, status.ok() && failed.empty(), false);
    if (POWERCUT_MUTANT(kBmFailedWriteClears) && !failed.empty()) {
      // The bug: the failed write's chunks are taken as written everywhere.
      const uint64_t last = geometry_.bitmap.ChunkOfSector(end - 1);
      for (uint64_t c = geometry_.bitmap.ChunkOfSector(sector); c <= last; ++c) {
        if (bitmap_->StartSync(c, /*degraded=*/false)) bitmap_->EndSync(c, /*aborted=*/false);
      }
    }
    counter_wait_.NotifyAll();
    finish();
    done(std::move(status));
    if (POWERCUT_MUTANT(kRaid1AckBeforeFaultRecorded) && !failed.empty()) (void)RecordFailures();
    return;
  }
  // Acknowledged now; the bit stays counted until the write-mostly mirrors have it.
  const bool fast_ok = status.ok() && failed.empty();
  done(status);
  std::vector<size_t> behind_failed = submitted ? lagging.Wait() : std::vector<size_t>{};
  for (size_t i : behind_failed) MarkFaulty(i);
  (void)RecordFailures();
  bitmap_->EndWrite(sector, sectors, fast_ok && behind_failed.empty(), /*behind=*/true);
  counter_wait_.NotifyAll();
  behind_wait_.NotifyAll();
  finish();
}

void Raid1Array::RunRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) {
  for (;;) {
    std::optional<size_t> from = PickSource();
    if (!from) return done(absl::UnavailableError("raid1: no working mirror left"));
    // A write-mostly member is current only once its write-behind writes are done.
    if (WriteMostly(*from) && !POWERCUT_MUTANT(kRaid1ReadWriteMostlyBehind)) {
      behind_wait_.Await([&] { return bitmap_->behind_writes() == 0; });
    }
    absl::Status s = io::ReadSync(scheduler_, *members_[*from], geometry_.data_offset + sector, buffer);
    if (s.ok() || !MarkFaulty(*from)) return done(std::move(s));
    if (absl::Status r = RecordFailures(); !r.ok()) return done(std::move(r));
  }
}

void Raid1Array::SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(buffer.size());
  if (valid.ok())
    valid = io::ValidateRange(sector_count(), sector, buffer.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  if (!running()) return done(absl::FailedPreconditionError("raid1: array not running"));
  ++active_requests_;
  // read_balance: round-robin over in-sync members that are not write-mostly.
  std::vector<size_t> readers;
  for (size_t i : Members(MemberState::kInSync)) {
    if (!WriteMostly(i) || POWERCUT_MUTANT(kRaid1ReadWriteMostlyBehind)) readers.push_back(i);
  }
  if (readers.empty()) {
    scheduler_.Spawn(
        "raid1-read",
        [this, sector, buffer, done = std::move(done)]() mutable {
          RunRead(sector, buffer, std::move(done));
          EndRequest();
        },
        runtime::FiberKind::kDaemon);
    return;
  }
  const size_t member = readers[next_reader_++ % readers.size()];
  members_[member]->SubmitRead(
      geometry_.data_offset + sector, buffer,
      [this, member, sector, buffer, done = std::move(done)](absl::Status s) mutable {
        if (s.ok()) {
          done(std::move(s));
          return EndRequest();
        }
        // Fail the member and read from another one (md's fix_read_error is not modelled).
        scheduler_.Spawn(
            "raid1-read-retry",
            [this, member, sector, buffer, s, done = std::move(done)]() mutable {
              if (!MarkFaulty(member)) {
                done(std::move(s));
              } else if (absl::Status r = RecordFailures(); !r.ok()) {
                done(std::move(r));
              } else {
                RunRead(sector, buffer, std::move(done));
              }
              EndRequest();
            },
            runtime::FiberKind::kDaemon);
      });
}

void Raid1Array::SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                             io::IoCallback done) {
  absl::Status valid = io::ValidateBuffer(data.size());
  if (valid.ok()) valid = io::ValidateRange(sector_count(), sector, data.size() / io::kSectorSize);
  if (!valid.ok()) return done(valid);
  if (!running()) return done(absl::FailedPreconditionError("raid1: array not running"));
  ++active_requests_;
  scheduler_.Spawn(
      "raid1-write",
      [this, sector, data, flags, done = std::move(done)]() mutable {
        RunWrite(sector, data.size() / io::kSectorSize, data, flags, std::move(done));
        EndRequest();
      },
      runtime::FiberKind::kDaemon);
}

void Raid1Array::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  absl::Status valid = io::ValidateRange(sector_count(), sector, sectors);
  if (!valid.ok()) return done(valid);
  if (!running()) return done(absl::FailedPreconditionError("raid1: array not running"));
  ++active_requests_;
  // raid1 sends discards down the write path: counted in the bitmap like a write.
  scheduler_.Spawn(
      "raid1-discard",
      [this, sector, sectors, done = std::move(done)]() mutable {
        RunWrite(sector, sectors, {}, io::kNoFlags, std::move(done));
        EndRequest();
      },
      runtime::FiberKind::kDaemon);
}

void Raid1Array::RunFlush(io::IoCallback done) {
  // Acknowledged write-behind writes reach the write-mostly mirrors first: a flush makes
  // them durable on every mirror, so losing the other mirrors later loses nothing.
  behind_wait_.Await([&] { return bitmap_->behind_writes() == 0; });
  const std::vector<size_t> targets = Members(MemberState::kInSync);
  PerMember batch(scheduler_, targets, "r1 flush");
  for (size_t k = 0; k < targets.size(); ++k) batch[k].Flush(*members_[targets[k]]);
  absl::Status error;
  const std::vector<size_t> failed = batch.Wait(&error);
  absl::Status status = failed.size() == targets.size() ? error : absl::OkStatus();
  for (size_t i : failed) MarkFaulty(i);
  if (absl::Status s = RecordFailures(); !s.ok() && status.ok()) status = s;
  done(std::move(status));
}

void Raid1Array::SubmitFlush(io::IoCallback done) {
  if (!running()) return done(absl::FailedPreconditionError("raid1: array not running"));
  ++active_requests_;
  scheduler_.Spawn(
      "raid1-flush",
      [this, done = std::move(done)]() mutable {
        RunFlush(std::move(done));
        EndRequest();
      },
      runtime::FiberKind::kDaemon);
}

}  // namespace powercut::raid1
