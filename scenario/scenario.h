// Scenario: everything that determines one crash check, as plain data.
//
// A scenario names the engine stack and its parameters, the simulated SSD's settings,
// an optional fault plan, an optional mutant (test builds only), the seed, the crash
// instant, how many crash images to check, the workload and the verdict expected. It
// is what a replay file holds (replay_file.h) and what `powercut replay` re-runs:
// the same scenario gives the same result and trace hash on every machine.
#ifndef POWERCUT_SCENARIO_SCENARIO_H_
#define POWERCUT_SCENARIO_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "bindings/engine_registry.h"
#include "faults/fault_plan.h"
#include "harness/crash_check.h"
#include "harness/crash_loop.h"
#include "harness/real_crash_check.h"
#include "harness/stack.h"
#include "harness/workload.h"
#include "sim/sim_ssd.h"
#include "sim/trace.h"

namespace powercut::verifier {

enum class Verdict { kPass, kFail };

struct Scenario {
  std::string engine = "linear";
  ParamList params;  // engine parameters, in order (bindings/engine_registry.h)
  sim::SimSsdOptions ssd;
  std::optional<faults::FaultPlan> faults;
  std::string mutant;  // empty: none
  uint64_t seed = 1;
  std::optional<uint64_t> crash_after_steps;  // empty: drawn from the seed
  uint32_t images = 4;
  Workload workload;
  // Power cuts after the first, each followed by recovery and more operations
  // (harness/crash_check.h); empty: one cut.
  std::vector<LaterCut> later_cuts;
  // Ask the stack's progress property after the first workload (a liveness check:
  // CrashCheckOptions::check_progress); a drawn first cut then falls after it.
  bool check_progress = false;
  Verdict expect = Verdict::kPass;
  std::string comment;
};

// The most later power cuts a scenario may hold.
inline constexpr size_t kMaxLaterCuts = 16;

// The operations of run `run` of the scenario: 0 the first workload's, k those after
// later cut k. REQUIRES: run <= later_cuts.size().
std::vector<Op>& OpsOfRun(Scenario& scenario, size_t run);
const std::vector<Op>& OpsOfRun(const Scenario& scenario, size_t run);

// The operations of all the scenario's runs (the first workload and each later cut's).
uint64_t OpCount(const Scenario& scenario);

// The logical device size the scenario's engine exposes (what workloads address).
absl::StatusOr<uint64_t> LogicalSectors(const Scenario& scenario);

// Checks everything a run needs (known engine and parameters, workload inside the
// device, a known mutant available in this build, a valid fault plan).
absl::Status Validate(const Scenario& scenario);

// InvalidArgument for a scenario with later power cuts, for the commands that make
// one (runs on real files, parity runs).
absl::Status RefuseLaterCuts(const Scenario& scenario);

// The memory a simulated check of the scenario needs at most, in bytes: a base for the
// runtime, what the engine keeps whatever is written (MemoryModel, per crash image
// too), and a few bytes for each byte the workload writes. An upper bound of the
// measured peaks (docs/cli.md, "Memory"); errors as Validate.
absl::StatusOr<uint64_t> MemoryEstimate(const Scenario& scenario);

// The memory limit runs use unless told otherwise (`--max-memory`): 16 GiB.
inline constexpr uint64_t kDefaultMaxMemoryBytes = uint64_t{16} << 30;

struct ScenarioRunOptions {
  // Receives every event of the run before the power cut.
  std::function<void(const sim::TraceEvent&)> observer;
  // A scenario whose MemoryEstimate is larger is refused before it runs (0: no limit).
  uint64_t max_memory_bytes = kDefaultMaxMemoryBytes;
};

// Runs the scenario (activating its mutant in test builds). Fails (status) on an
// invalid scenario, and with ResourceExhausted on one that needs more memory than
// options.max_memory_bytes or that ran out of memory anyway: resource exhaustion is
// never a verdict. A property failure is a result with passed == false.
absl::StatusOr<CrashCheckResult> RunScenario(const Scenario& scenario,
                                             const ScenarioRunOptions& options = {});

// The scenario's run on real files in `folder` instead of the simulator (one power cut:
// a scenario with later cuts is refused), crash images
// drawn from what its IO left, recovered and judged on the simulator
// (harness/real_crash_check.h); seed, power-cut step and image count come from the
// scenario. Status errors as RunScenario's (the memory limit included), and what
// RunRealCrashCheck refuses.
absl::StatusOr<RealCrashCheckResult> RunScenarioOnFiles(
    const Scenario& scenario, const std::string& folder, bool buffered = false,
    uint64_t max_memory_bytes = kDefaultMaxMemoryBytes);

// The scenario's workload in a crash loop of `kills` process kills on real files in
// `folder` (harness/crash_loop.h), kill instants drawn from the scenario's seed. A
// scenario with later power cuts is refused.
absl::StatusOr<CrashLoopResult> RunScenarioCrashLoop(const Scenario& scenario,
                                                     const std::string& folder, uint64_t kills,
                                                     bool buffered = false);

}  // namespace powercut::verifier

#endif  // POWERCUT_SCENARIO_SCENARIO_H_
