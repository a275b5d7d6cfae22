// Scenario: everything that determines one crash check, as plain data.
//
// A scenario names the engine stack and its parameters, the simulated SSD's settings,
// an optional fault plan, an optional mutant (test builds only), the seed, the crash
// instant, how many crash images to check, the workload and the verdict expected. It
// is what a replay file holds (replay_file.h) and what `powercut replay` re-runs:
// the same scenario gives the same result and trace hash on every machine.
#ifndef POWERCUT_PROPERTIES_SCENARIO_H_
#define POWERCUT_PROPERTIES_SCENARIO_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "faults/fault_plan.h"
#include "properties/crash_check.h"
#include "properties/stack.h"
#include "properties/workload.h"
#include "sim/sim_ssd.h"
#include "sim/trace.h"

namespace powercut::props {

enum class Verdict { kPass, kFail };

struct Scenario {
  std::string engine = "linear";
  std::vector<std::pair<std::string, uint64_t>> params;  // engine parameters, in order
  sim::SimSsdOptions ssd;
  std::optional<faults::FaultPlan> faults;
  std::string mutant;  // empty: none
  uint64_t seed = 1;
  std::optional<uint64_t> crash_after_steps;  // empty: drawn from the seed
  uint32_t images = 4;
  Workload workload;
  Verdict expect = Verdict::kPass;
  std::string comment;
};

// The engine stacks a scenario may name, with their parameters and defaults.
struct EngineParam {
  std::string name;
  uint64_t default_value;
  uint64_t min;
  uint64_t max;
  std::string meaning;
};
std::vector<std::string> EngineNames();
absl::StatusOr<std::vector<EngineParam>> EngineParams(const std::string& engine);

// The logical device size the scenario's engine exposes (what workloads address).
absl::StatusOr<uint64_t> LogicalSectors(const Scenario& scenario);

// Checks everything a run needs (known engine and parameters, workload inside the
// device, a known mutant available in this build, a valid fault plan).
absl::Status Validate(const Scenario& scenario);

struct ScenarioRunOptions {
  // Receives every event of the run before the power cut.
  std::function<void(const sim::TraceEvent&)> observer;
};

// Runs the scenario (activating its mutant in test builds). Fails (status) only on an
// invalid scenario; a property failure is a result with passed == false.
absl::StatusOr<CrashCheckResult> RunScenario(const Scenario& scenario,
                                             const ScenarioRunOptions& options = {});

}  // namespace powercut::props

#endif  // POWERCUT_PROPERTIES_SCENARIO_H_
