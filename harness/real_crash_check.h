// RunRealCrashCheck: a crash check whose run happens on real files, so the engine meets
// the real kernel's and device's timing, and whose crash images come from what that
// run's IO left, under the simulator's own crash model.
//
//   1. Build the stack (`on_files`, invariant checkers off) on image files in a folder
//      (FileDevices), every disk watched by a RecordedDevice and every persistent memory
//      (a mapped file) by a RecordedPmem; Start() it and run the workload's clients, the
//      oracle recording every operation.
//   2. Cut the power after a number of scheduling steps (given, or drawn from the seed):
//      the scheduler stops; IO still in flight is waited for but nobody hears of it.
//   3. Draw `images` crash images from the recorded devices (flushed and FUA writes
//      kept, the rest kept, dropped or torn per the model: sim/volatile_cache.h; for
//      persistent memory, fenced flushes kept, other stores per line as SimPmem draws).
//   4. Recover and judge each as RunCrashCheck does, on simulated devices built from
//      the image (`recover`: the same engine with its invariant checkers on).
// Not deterministic (real timing), but every verdict is sound: the images are states
// the block-layer contract allows after that run's IO. Each device's IO log is kept.

#ifndef POWERCUT_HARNESS_REAL_CRASH_CHECK_H_
#define POWERCUT_HARNESS_REAL_CRASH_CHECK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/crash_check.h"
#include "harness/stack.h"
#include "harness/workload.h"

namespace powercut::verifier {

struct RealCrashCheckOptions {
  std::string folder;  // where the image files go
  uint64_t seed = 1;
  std::optional<uint64_t> crash_after_steps;
  uint32_t images = 4;
  bool buffered = false;
  runtime::Nanos time_limit = kDefaultTimeLimit;  // of each recovery (virtual time)
  uint64_t step_budget = kDefaultStepBudget;      // of each recovery (scheduling steps)
};

struct RealCrashCheckResult {
  CrashCheckResult check;
  std::vector<CrashImages> crashes;         // the images drawn (for a failure's record)
  std::vector<std::string> io_logs;         // per recorded disk: RecordedDevice::LogText
  std::vector<std::string> device_names;    // in the same order
  std::vector<std::string> pmem_names;      // per persistent memory, as in crashes[].pmems
};

// Fails (status) only when the run cannot be set up (io_uring, the folder, files the
// file system cannot hold); an engine or oracle failure is a result
// with check.passed == false.
absl::StatusOr<RealCrashCheckResult> RunRealCrashCheck(const StackFactory& on_files,
                                                       const StackFactory& recover,
                                                       const Workload& workload,
                                                       const RealCrashCheckOptions& options);

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_REAL_CRASH_CHECK_H_
