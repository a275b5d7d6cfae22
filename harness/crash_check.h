// RunCrashCheck: one crash-consistency check, start to verdict.
//
//   1. Build the stack in World(seed), Start() it, run the workload's clients.
//   2. Cut the power after a number of scheduling steps (given, or drawn from the seed;
//      if the workload finishes first, the cut comes after it).
//   3. Draw `images` crash images; for each, build a fresh stack from it in a new
//      World (seeded from the labelled fork "recovery-K" of the first), Start() it
//      (recovery) and read back the logical device: every sector a write or discard
//      touched, every sector the device's DataRanges say may hold data, and a seeded
//      sample of the rest (harness/judged_sectors.h: why that settles every sector).
//   4. Judge those sectors with the BlockOracle; reads during the run were judged live.
// The cost follows what the run wrote and the engine holds, not the device size.
// Any engine error (deadlock, hang, exception, a Start() failure) is a failure too;
// every failure is a typed record (harness/failure.h).
//
// The trace covers the whole check: the run, then (actor "check") a "power.cut" event,
// for each image a "crash.image" event followed by what its draw kept, dropped or tore
// on each device (SimSsd/SimPmem::SampleCrashImage), then for each recovered image a
// "recovery" event at the start of its world followed by every event of the recovery
// and the read-back. The trace hash folds in every world's hash.
//
// Deterministic: the same stack, workload and options give the same result and trace
// hash on every machine.
#ifndef POWERCUT_HARNESS_CRASH_CHECK_H_
#define POWERCUT_HARNESS_CRASH_CHECK_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "harness/failure.h"
#include "harness/stack.h"
#include "harness/workload.h"
#include "sim/trace.h"

namespace powercut::verifier {

// The virtual time a run, or one recovery with its read-back, may take before its
// fibers are reported stuck, unless the check is given another.
inline constexpr runtime::Nanos kDefaultTimeLimit = runtime::Seconds(3600);
// The scheduling steps a run, or one recovery with its read-back, may take before its
// fibers are reported stuck (a hang): the watchdog for a fiber that never blocks, which
// virtual time cannot catch. A few seconds of wall-clock; real phases take thousands.
inline constexpr uint64_t kDefaultStepBudget = 100'000'000;

struct CrashCheckOptions {
  uint64_t seed = 1;
  // Virtual time allowed to the run and to each recovery (scenario.cc derives it from
  // the scenario's latencies and the engine's longest idle wait).
  runtime::Nanos time_limit = kDefaultTimeLimit;
  uint64_t step_budget = kDefaultStepBudget;  // of the run and of each recovery
  std::optional<uint64_t> crash_after_steps;
  uint32_t images = 4;
  // Receives every trace event of the check, in order (timelines, traces); the
  // sections are marked by events of actor "check" (see above).
  std::function<void(const sim::TraceEvent&)> observer;
};

struct CrashCheckResult {
  bool passed = true;
  Failure failure;  // meaningful only when !passed
  bool crashed_mid_run = false;
  uint64_t crash_step = 0;
  runtime::Nanos crash_time{0};
  uint64_t trace_hash = 0;
  uint64_t images_checked = 0;
  uint64_t sectors_checked = 0;
};

CrashCheckResult RunCrashCheck(const StackFactory& factory, const Workload& workload,
                               const CrashCheckOptions& options);

// Step 4 for one recovered stack, from a fiber of `world`: reads back the judged
// sectors of its logical device and judges each against `oracle`; the first failure
// (as recovering crash image `image`) goes into `result`.
void JudgeRecovered(sim::World& world, Stack& stack, const BlockOracle& oracle, uint32_t image,
                    CrashCheckResult& result);

// Step 3 and 4 alone: each of `crashes` recovered by a stack `factory` builds in a new
// simulated World (seeded from `first`'s fork "recovery-K") and judged against
// `oracle`; the first failure goes into `result` (which must be passing), and
// images_checked, sectors_checked and trace_hash are updated. For crash images that
// come from elsewhere than a simulated run (harness/real_crash_check.h).
void JudgeCrashImages(const StackFactory& factory, const BlockOracle& oracle,
                      const std::vector<CrashImages>& crashes, const sim::World& first,
                      const std::function<void(const sim::TraceEvent&)>& observer,
                      runtime::Nanos time_limit, uint64_t step_budget,
                      CrashCheckResult& result);

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_CRASH_CHECK_H_
