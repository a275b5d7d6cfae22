// The RAID1 stack: a Raid1Array (engine/raid1) over `mirrors` SimSsd members, each
// with its internal write-intent bitmap.
//
// A fresh stack starts from members that already hold what Raid1Array::Create writes
// (Raid1Array::FormatMember, put into the initial images without IO), as after
// `mdadm --create` ran before the power-on; so a power cut never lands inside the
// format, which no md tool claims to survive. Start() assembles the array (fresh or
// from crash images: read the superblocks and the freshest bitmap, resync the set
// chunks, start the bitmap daemon). A power cut hits every member at the same instant;
// SampleCrash draws each member's image independently.
#ifndef POWERCUT_PROPERTIES_RAID1_STACK_H_
#define POWERCUT_PROPERTIES_RAID1_STACK_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "engine/raid1/raid1.h"
#include "properties/stack.h"
#include "sim/sim_ssd.h"

namespace powercut::props {

struct Raid1StackOptions {
  uint32_t mirrors = 2;
  uint64_t logical_sectors = 4096;
  uint64_t chunk_sectors = 64;
  uint32_t daemon_sleep_s = 1;
  sim::SimSsdOptions ssd;  // `sectors` and `name` are derived per member
};

// The array options the stack uses (uuid and name fixed).
raid1::Raid1Options Raid1ArrayOptions(const Raid1StackOptions& options);
// The member geometry, or why the options are invalid.
absl::StatusOr<raid1::Raid1Geometry> Raid1StackGeometry(const Raid1StackOptions& options);

StackFactory Raid1StackFactory(Raid1StackOptions options = {});

}  // namespace powercut::props

#endif  // POWERCUT_PROPERTIES_RAID1_STACK_H_
