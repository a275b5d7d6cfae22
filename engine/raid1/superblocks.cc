// Raid1Array's superblock writes and member failure (raid1.h): md_update_sb
// (UpdateSuperblocks, WriteMdSuperblocks), raid1_error (MarkFaulty), recording the
// failures marked so far (RecordFailures), and OnMembers, which runs metadata IO on a
// set of members and fails the ones whose IO fails.
//
// What is durable when: UpdateSuperblocks bumps events and writes the bitmap superblock
// before the md superblocks (I5), each waited for and durable on completion (PREFLUSH|FUA
// on the members, FUA to a bitmap file). A member
// failure is only marked in memory by MarkFaulty; RecordFailures returns once an
// md_update_sb that lists it faulty is durable on the remaining members (I9). Callers
// record before acknowledging a request that saw the failure and before submitting any
// further data write (why: write_path.cc). The last in-sync member is never failed: its
// IO is retried (kLastMemberRetries) and then the error returned.
#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/probe/probe.h"
#include "engine/raid1/internal/metadata.h"
#include "engine/raid1/internal/per_member.h"
#include "engine/raid1/raid1.h"

namespace powercut::raid1 {
namespace {

// How often an IO the last in-sync member failed is retried before the request fails
// (md rewrites a superblock that failed: MD_SB_NEED_REWRITE).
constexpr int kLastMemberRetries = 8;

}  // namespace

using internal::kMetadataWrite;
using internal::PerMember;

bool Raid1Array::MarkFaulty(size_t index) {
  if (state_[index] == MemberState::kFaulty) return true;
  if (state_[index] == MemberState::kInSync && Members(MemberState::kInSync).size() == 1) {
    POWERCUT_PROBE(kRaid1LastMirrorKept);
    return false;  // md never fails the last working mirror
  }
  POWERCUT_PROBE(kRaid1MemberFailed);
  state_[index] = MemberState::kFaulty;
  if (bitmap_ != nullptr) bitmap_->MemberFailed();
  ++failures_marked_;
  return true;
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

absl::Status Raid1Array::Fail(size_t index) {
  if (!running()) return absl::FailedPreconditionError("raid1: array not running");
  if (index >= members_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: fail: no member ", index, " in ", members_.size()));
  }
  if (POWERCUT_MUTANT(kRaid1FailBitmapUnaware) && state_[index] == MemberState::kInSync &&
      Members(MemberState::kInSync).size() > 1) {
    // The bug: faulty, but the bitmap still thinks every member is there.
    state_[index] = MemberState::kFaulty;
    ++failures_marked_;
    return RecordFailures();
  }
  if (!MarkFaulty(index)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "raid1: fail: ", members_[index]->name(), " is the last working mirror"));
  }
  return RecordFailures();
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

}  // namespace powercut::raid1
