// The RAID1 stack: a Raid1Array (engine/raid1) over `mirrors` SimSsd members, each
// with its internal write-intent bitmap, or with external_bitmap one more SimSsd that
// holds the bitmap file. Crash images: disks[0..mirrors) are the members, then the
// bitmap file's device if external.
//
// A fresh stack starts from members that already hold what Raid1Array::Create writes
// (Raid1Array::FormatMember, put into the initial images without IO), as after
// `mdadm --create` ran before the power-on (Raid1Array::FormatBitmapFile for the file);
// so a power cut never lands inside the format, which no md tool claims to survive.
// Start() assembles the array (fresh or from crash images: read the superblocks and the
// freshest bitmap, resync the set chunks, re-add stale members, start the bitmap
// daemon). A power cut hits every device at the same instant; SampleCrash draws each
// device's image independently.
//
// Member faults, before the power cut only (the member is back after it), unless
// vanish_persists or faults_at_recovery (the plan then strikes the recoveries, not the
// run): a FaultPlan (faults/fault_plan.h) on member `fault_member`, and
// member `vanish_member - 1` vanishing after `vanish_after_ios` of its IOs (every later
// IO fails, unforwarded). With vanish_persists the vanished member stays gone at the
// recovery too, so the array assembles degraded.
//
// With restart_at_flush = k, the k-th flush through the array (if it is whole) stops it
// cleanly and assembles a new one on the same devices before the flush runs; requests
// meanwhile wait. The members must then agree (I1: a clean array is in sync) and the
// assembly must resync nothing; a violation fails the crash check.
//
// Old devices at the recovery (an operator putting back a disk taken out long ago, or
// an old copy of the bitmap file): with old_member = k, member k - 1 holds at the
// recovery what it held when the array was created (events 0, zeroes), so assembly must
// re-add it with a full recovery (I11); with old_bitmap_file the bitmap file does, so
// assembly must find the bitmap stale and resync everything (I10). The crash-image
// checks look at the images the power cut left; the assembly at the old ones.
//
// With readd_at_flush = k, an operator re-adds faulty members while the array runs
// (`mdadm --re-add`): from the k-th flush on, the first flush that finds a member faulty
// brings the vanished member back (if one vanished) and re-adds every faulty member
// before it runs.
//
// With check_invariants (the default), every crash check also checks the RAID1
// invariants (raid1_invariants.h): the members' (and the bitmap file's) IO streams
// before the power cut and during recovery (I2, I3, I4, I6, I7, I14), each set of crash
// images before recovery (the bitmap read from the file's image when external)
// (I1, I5, I6, I14), what the assembly copied and how it re-added stale members
// (I10, I11), and after recovery the mirrors (I8) and, when the array is whole,
// that three idle daemon periods leave every bit and counter clear (I12). The stack
// reports them through its check hooks (harness/stack.h): CheckRun for the run,
// CheckCrashImage for each image, CheckStarted after a recovery.
#ifndef POWERCUT_BINDINGS_RAID1_RAID1_BINDING_H_
#define POWERCUT_BINDINGS_RAID1_RAID1_BINDING_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "bindings/engine_registry.h"
#include "engine/raid1/raid1.h"
#include "faults/fault_plan.h"
#include "harness/stack.h"
#include "sim/sim_ssd.h"

namespace powercut::verifier {

struct Raid1StackOptions {
  uint32_t mirrors = 2;
  uint64_t logical_sectors = 4096;
  uint64_t chunk_sectors = 64;
  uint32_t daemon_sleep_s = 1;
  uint32_t write_mostly_mask = 0;  // bit i: member i is write-mostly
  uint32_t write_behind = 0;
  // The bitmap area is exactly the bitmap's sectors and the data follows at once (no
  // 4 KiB rounding), so a page write past the area lands on data.
  bool tight_layout = false;
  // The bitmap is a file on its own SimSsd ("bitmap", exactly the bitmap area long;
  // `ssd` settings apply), not a copy on every member.
  bool external_bitmap = false;
  // 0: never. k: the k-th flush stops the array cleanly (Raid1Array::Stop) and
  // assembles it again before it runs; after a clean stop of a whole array the members
  // must agree and the assembly must resync nothing (a violation otherwise).
  uint32_t restart_at_flush = 0;
  // 0: never. k: from the k-th flush on, the first flush that finds a member faulty
  // brings a vanished member back and re-adds every faulty member while the array runs
  // (Raid1Array::ReAdd) before it runs; each re-add must follow I11.
  uint32_t readd_at_flush = 0;
  sim::SimSsdOptions ssd;  // `sectors` and `name` are derived per member
  std::optional<faults::FaultPlan> faults;
  uint32_t fault_member = 0;
  // The fault plan strikes the stacks rebuilt after a power cut (the assembly, its
  // resync and re-adds, and any run after it) instead of the first run.
  bool faults_at_recovery = false;
  uint32_t vanish_member = 0;  // 0: none; k: member k - 1
  uint64_t vanish_after_ios = 0;
  bool vanish_persists = false;
  uint32_t old_member = 0;  // 0: none; k: member k - 1 is put back old at the first recovery
  bool old_bitmap_file = false;  // the external bitmap file is put back old (idem)
  bool check_invariants = true;
};

// The array options the stack uses (uuid and name fixed).
raid1::Raid1Options Raid1ArrayOptions(const Raid1StackOptions& options);
// The member geometry, or why the options are invalid.
absl::StatusOr<raid1::Raid1Geometry> Raid1StackGeometry(const Raid1StackOptions& options);

StackFactory Raid1StackFactory(Raid1StackOptions options = {});

// A bitmap chunk for an array of `sectors`: `usual`, doubled until the bitmap has at
// most 2^16 chunks (a small bitmap, as mdadm picks for big arrays) or the chunk is md's
// largest, 2 GiB (2^18 chunks at 2^40 sectors).
uint64_t Raid1ChunkFor(uint64_t sectors, uint64_t usual);

// The registry entry of engine "raid1" (bindings/engine_registry.h).
const EngineEntry& Raid1Engine();

}  // namespace powercut::verifier

#endif  // POWERCUT_BINDINGS_RAID1_RAID1_BINDING_H_
