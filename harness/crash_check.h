// RunCrashCheck: one crash-consistency check, start to verdict.
//
//   1. Build the stack in World(seed), Start() it, run the workload's clients.
//   2. Cut the power after a number of scheduling steps (given, or drawn from the seed;
//      if the workload finishes first, the cut comes after it). With check_progress,
//      once the clients ended the stack's progress property is asked
//      (Stack::CheckProgress: its background work reaches its goal in bounded virtual
//      time), and a drawn cut falls after that check.
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
// Several power cuts (options.later_cuts): after a cut, crash image 0 alone is drawn; a
// stack rebuilt from it in a new World (seeded from the labelled fork "cut-K" of the
// world before) recovers, reads back and judges its whole logical device as in step 4,
// the oracle settles what it read (BlockOracle::SettleRecovered, unless the stack says
// recovered contents may change), the cut's own operations run, and the power is cut
// again; the cut may fall during the recovery or the read-back too. The crash images
// of the last cut are checked as in steps 3 and 4. The oracle carries the whole history
// across the cuts.
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
#include <span>
#include <string>
#include <vector>

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

// The steps within which a drawn later cut falls during its recovery (1 run in 4).
inline constexpr uint64_t kRecoveryCutSteps = 48;

// A power cut after the first.
struct LaterCut {
  // Scheduling steps from the start of the rebuilt world, its recovery included, to the
  // cut. Empty: drawn from the seed: in 1 run of 4 within the first kRecoveryCutSteps
  // steps (usually during the recovery), else after the read-back, within 8 steps per
  // operation + 16 (as the first cut within the first workload).
  std::optional<uint64_t> after_steps;
  // What the clients do after the recovery (the first workload's clients and device).
  std::vector<Op> ops;
  bool operator==(const LaterCut&) const = default;
};

struct CrashCheckOptions {
  uint64_t seed = 1;
  // Virtual time allowed to the run and to each recovery (scenario.cc derives it from
  // the scenario's latencies and the engine's longest idle wait).
  runtime::Nanos time_limit = kDefaultTimeLimit;
  uint64_t step_budget = kDefaultStepBudget;  // of the run and of each recovery
  std::optional<uint64_t> crash_after_steps;
  uint32_t images = 4;
  std::vector<LaterCut> later_cuts;
  // Ask the stack's progress property after the first workload (Stack::CheckProgress);
  // a drawn first cut then falls within 8 steps per operation + 16 after that check.
  bool check_progress = false;
  // Receives every trace event of the check, in order (timelines, traces); the
  // sections are marked by events of actor "check" (see above).
  std::function<void(const sim::TraceEvent&)> observer;
};

struct CrashCheckResult {
  bool passed = true;
  Failure failure;  // meaningful only when !passed
  bool crashed_mid_run = false;
  uint64_t crash_step = 0;  // of the first cut
  runtime::Nanos crash_time{0};
  uint32_t power_cuts = 0;  // made (a failure ends the check early)
  std::vector<uint64_t> later_cut_steps;  // the steps of the later cuts made, in order
  uint64_t trace_hash = 0;
  uint64_t images_checked = 0;
  uint64_t sectors_checked = 0;
};

CrashCheckResult RunCrashCheck(const StackFactory& factory, const Workload& workload,
                               const CrashCheckOptions& options);

// Step 4 for one recovered stack, from a fiber of `world`: reads back the judged
// sectors of its logical device and judges each against `oracle`; the first failure
// (as recovering crash image `image`) goes into `result`. `judged`, if given, receives
// each sector found allowed and its bytes.
void JudgeRecovered(
    sim::World& world, Stack& stack, const BlockOracle& oracle, uint32_t image,
    CrashCheckResult& result,
    const std::function<void(uint64_t sector, std::span<const std::byte> bytes)>& judged = {});

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
