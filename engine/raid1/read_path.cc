// Raid1Array's read path (raid1.h): SubmitRead reads from one in-sync member,
// round-robin over those that are not write-mostly (read_balance); RunRead reads on a
// fiber when only write-mostly members are left (waiting for their write-behind writes
// first) or after a member failed a read.
//
// A member whose read fails is failed (md's fix_read_error is not modelled) and its
// failure recorded (I9) before the read is retried on another member; the last in-sync
// member is never failed: its error fails the read. Nothing here changes what is
// durable.
//
// DataRanges is the union of what every member that is not faulty may hold in the
// range: a read may be served by any in-sync one, and a resync copies between them.
#include <optional>
#include <utility>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/raid1/raid1.h"

namespace powercut::raid1 {

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

std::vector<io::SectorRange> Raid1Array::DataRanges(uint64_t first, uint64_t count) const {
  std::vector<io::SectorRange> ranges;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (state_[i] == MemberState::kFaulty) continue;
    for (const io::SectorRange& r : members_[i]->DataRanges(geometry_.data_offset + first, count)) {
      ranges.push_back({r.first - geometry_.data_offset, r.count});
    }
  }
  return io::Unite(std::move(ranges));
}

}  // namespace powercut::raid1
