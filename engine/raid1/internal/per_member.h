// PerMember: one IoBatch per member of a set, so that each member's outcome is known
// (a member whose IO failed is then marked faulty by the caller). Used by the write,
// flush, resync, recovery and superblock paths of Raid1Array.
#ifndef POWERCUT_ENGINE_RAID1_INTERNAL_PER_MEMBER_H_
#define POWERCUT_ENGINE_RAID1_INTERNAL_PER_MEMBER_H_

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "engine/io/io_batch.h"
#include "engine/raid1/raid1.h"
#include "engine/runtime/scheduler.h"

namespace powercut::raid1::internal {

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

}  // namespace powercut::raid1::internal

#endif  // POWERCUT_ENGINE_RAID1_INTERNAL_PER_MEMBER_H_
