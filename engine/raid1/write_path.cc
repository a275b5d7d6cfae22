// Raid1Array's write path (raid1.h): SubmitWrite / SubmitDiscard / SubmitFlush accept a
// request and run it on a fiber (RunWrite, RunFlush); EndRequest accounts for its
// completion (Stop waits for every accepted request).
//
// What is durable when: a write waits for overlapping writes in flight (I1), records
// any pending member failure (I9, see below), counts its chunks in the bitmap and
// unplugs, so the intent is durable on every in-sync member before its data goes out
// (I2); the data goes to every in-sync mirror with the request's flags (FUA on the
// array is FUA on every mirror). A mirror whose write fails is failed and its failure
// recorded before the acknowledgement (I9); the request succeeds only if it ended well
// on a mirror still working at its end (md's R1BIO_Uptodate); a failed or degraded write leaves its
// chunks NEEDED (I7). A write-behind write is acknowledged once the other mirrors have
// it; its bitmap count ends when the write-mostly mirrors do. A flush waits for
// outstanding write-behind writes, then flushes every in-sync member.
//
// Why a failure must be durable before the next data write, not only before the ack:
// while member A is faulty in memory only, a new write's bitmap page goes to B alone.
// Were its data submitted, a power cut would leave A and B with equal events, A's
// bitmap (the one assembly may load) without the bit, and B's data differing from A's
// under it (I1). md blocks such writes on the Blocked rdev until md_update_sb ran.
#include <algorithm>
#include <utility>
#include <vector>

#include "engine/mutant/mutant.h"
#include "engine/probe/probe.h"
#include "engine/raid1/internal/per_member.h"
#include "engine/raid1/raid1.h"

namespace powercut::raid1 {

using internal::PerMember;

bool Raid1Array::EndedOnWorkingMember(const std::vector<size_t>& targets,
                                      const std::vector<size_t>& failed) const {
  return std::any_of(targets.begin(), targets.end(), [&](size_t i) {
    return state_[i] == MemberState::kInSync && std::find(failed.begin(), failed.end(), i) == failed.end();
  });
}

void Raid1Array::EndRequest() {
  if (--active_requests_ == 0) idle_wait_.NotifyAll();
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
  const bool could_go_behind = !data.empty() && (flags & io::kFua) == 0 && !fast.empty() &&
                               !behind.empty() && bitmap_->max_write_behind() > 0;
  const bool write_behind = could_go_behind && bitmap_->behind_writes() < bitmap_->max_write_behind();
  if (could_go_behind && !write_behind) POWERCUT_PROBE(kRaid1WriteBehindLimitReached);
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
  std::vector<size_t> failed = submitted ? mirrors.Wait(&error) : std::vector<size_t>{};
  for (size_t i : failed) MarkFaulty(i);
  // Only a mirror still working when its write ends makes the write a success. A
  // mirror failed meanwhile by another request (its superblock write failed) holds data
  // no assembly will read: were the write acknowledged on it alone, the last working
  // mirror, which failed the write and cannot be failed itself, would be assembled
  // without it.
  bool held = POWERCUT_MUTANT(kRaid1AckOnFailedMirror) ? failed.size() < fast.size()
                                                       : EndedOnWorkingMember(fast, failed);
  bool behind_waited = false;
  if (submitted && !held && !behind.empty()) {
    // Not acknowledged early: the write-mostly mirrors decide (md acknowledges a
    // write-behind write before them only when it is already up to date).
    for (size_t i : lagging.Wait(&error)) {
      MarkFaulty(i);
      failed.push_back(i);
    }
    held = EndedOnWorkingMember(behind, failed);
    behind_waited = true;
  }
  if (status.ok() && !fast.empty() && !held) {
    POWERCUT_PROBE(kRaid1WriteReachedNoWorkingMirror);
    status = error.ok() ? absl::UnavailableError("raid1: the write reached only mirrors that failed meanwhile")
                        : error;
  }
  if (!POWERCUT_MUTANT(kRaid1AckBeforeFaultRecorded) || failed.empty()) {
    if (absl::Status s = RecordFailures(); !s.ok() && status.ok()) status = s;
  }
  if (behind.empty() || behind_waited) {
    // failed or degraded: NEEDED (I7). A write counted as write-behind at StartWrite
    // ends as one even if its write-mostly mirrors failed before it went out (at the
    // unplug): the count must come down, or every later flush waits for it.
    bitmap_->EndWrite(sector, sectors, status.ok() && failed.empty(), write_behind);
    if (POWERCUT_MUTANT(kBmFailedWriteClears) && !failed.empty()) {
      // The bug: the failed write's chunks are taken as written everywhere.
      const uint64_t last = geometry_.bitmap.ChunkOfSector(end - 1);
      for (uint64_t c = geometry_.bitmap.ChunkOfSector(sector); c <= last; ++c) {
        if (bitmap_->StartSync(c, /*degraded=*/false)) bitmap_->EndSync(c, /*aborted=*/false);
      }
    }
    counter_wait_.NotifyAll();
    if (write_behind) behind_wait_.NotifyAll();
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
  for (size_t i : failed) MarkFaulty(i);
  // As for a write: a flush that ended well only on members failed meanwhile promises
  // nothing on the ones an assembly reads.
  absl::Status status = absl::OkStatus();
  if (!targets.empty() && !EndedOnWorkingMember(targets, failed)) {
    status = error.ok() ? absl::UnavailableError("raid1: the flush reached only mirrors that failed meanwhile")
                        : error;
  }
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
