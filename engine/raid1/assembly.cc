// Raid1Array's assembly and re-add (raid1.h): Open (checks, no IO), Assemble (read
// every md superblock, pick the fresh members, load the bitmap, resync, start the
// daemon), ReAdd / Recover (mdadm --re-add on a running array) and FinishRecovery.
//
// Contract: a member is fresh when it has the freshest events and the freshest md
// superblock does not list it faulty (I9 made every recorded failure visible there);
// the others are re-added, by bitmap-based recovery if their events are at least
// events_cleared, else by a full recovery (I11). The loaded bitmap is written to every
// in-sync member before any resync copy (I2, I1), and the array is recorded active
// (bitmap superblock, then md superblocks: I5) before it resyncs. A re-added member is
// recorded in sync only after its copies are flushed and the whole bitmap is on it;
// until then a power cut leaves it stale, to be re-added again.
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/probe/probe.h"
#include "engine/raid1/internal/metadata.h"
#include "engine/raid1/internal/per_member.h"
#include "engine/raid1/raid1.h"

namespace powercut::raid1 {

using internal::NewMdSuperblock;
using internal::PerMember;

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
  // Like mdadm without --run: no start while a member the newest superblock present
  // records working is missing. It may be the one that holds the newest data (the
  // present ones failed before it vanished), and starting without it would roll the
  // array back, its bitmap events included.
  if (!options_.run_degraded && !POWERCUT_MUTANT(kRaid1AssembleWithoutFreshMember)) {
    for (size_t i = 0; i < n; ++i) {
      if (readable[i] || roles[i] == kMdRoleFaulty || roles[i] == kMdRoleSpare) continue;
      for (size_t j = 0; j < n; ++j) state_[j] = MemberState::kFaulty;
      return absl::FailedPreconditionError(absl::StrCat(
          "raid1: ", members_[i]->name(), ", which the newest superblock present (events ",
          max_events, ") records working, cannot be read: not started, it may hold newer "
          "data than the members present (mdadm --run starts the array anyway)"));
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
  const bool shut_down_uncleanly = supers_[source_].resync_offset != kMdResyncDone;
  if (absl::Status s = UpdateSuperblocks(); !s.ok()) return s;
  if (absl::Status s = ResyncAndFinishRecovery(); !s.ok()) return s;
  if (absl::Status s = RecordFailures(); !s.ok()) return s;
  if (POWERCUT_MUTANT(kRaid1ResyncLeavesClean) && shut_down_uncleanly) {
    // The bug: the superblocks say clean while the array goes on taking writes.
    clean_ = true;
    const absl::Status recorded = UpdateSuperblocks();
    clean_ = false;
    if (!recorded.ok()) return recorded;
  }
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
  return ResyncAndFinishRecovery();
}

absl::Status Raid1Array::ResyncAndFinishRecovery() {
  const bool readding = !Members(MemberState::kRecovering).empty();
  for (size_t i : Members(MemberState::kRecovering)) {
    if (readd_[i] == ReAddRecovery::kFull) POWERCUT_PROBE(kRaid1FullRecovery);
  }
  std::vector<uint64_t> copied;
  const bool keep_needed = readding && !POWERCUT_MUTANT(kRaid1ReAddCopiedDecay);
  if (absl::Status s = Resync(keep_needed, &copied); !s.ok()) return s;
  if (absl::Status s = FinishRecovery(); !s.ok()) return s;
  if (readding && !degraded()) {
    for (uint64_t chunk : copied) {
      if (bitmap_->StartSync(chunk, /*degraded=*/false)) bitmap_->EndSync(chunk, /*aborted=*/false);
    }
  }
  return absl::OkStatus();
}

}  // namespace powercut::raid1
