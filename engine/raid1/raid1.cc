// Raid1Array (raid1.h): construction, destruction and the member-state accessors.
//
// The rest of the array is split by job:
//   geometry.cc     the layout (Raid1Geometry::For) and formatting (FormatMember,
//                   FormatBitmapFile, Create)
//   assembly.cc     Open, Assemble, ReAdd and the recovery of stale members (I11)
//   superblocks.cc  md_update_sb: superblock writes, member failure and its record (I5, I9)
//   resync.cc       copying NEEDED chunks and full recoveries (I13)
//   daemon.cc       bitmap page writes: unplug (I2), the daemon (I1, I3), Stop
//   write_path.cc   writes, discards and flushes (I1, I2, I7, I9)
//   read_path.cc    reads
#include "engine/raid1/raid1.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace powercut::raid1 {

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

}  // namespace powercut::raid1
