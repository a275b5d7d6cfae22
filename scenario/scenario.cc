#include "scenario/scenario.h"

#include <algorithm>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/mutant/mutant.h"

namespace powercut::verifier {
namespace {

// The scenario's engine bound to its parameters, SSD settings and fault plan.
absl::StatusOr<BoundEngine> Bind(const Scenario& scenario) {
  return BindEngine(scenario.engine, scenario.params,
                    EngineEnvironment{.ssd = scenario.ssd, .faults = scenario.faults});
}

// Everything but the engine's parameters: the workload inside the bound engine's device
// (its control operations ones it takes), the image count, the cuts, the mutant.
absl::Status ValidateRun(const Scenario& scenario, const BoundEngine& bound) {
  const uint64_t sectors = bound.logical_sectors;
  if (scenario.workload.clients == 0 || scenario.workload.clients > 1024) {
    return absl::InvalidArgumentError("clients must be between 1 and 1024");
  }
  if (scenario.later_cuts.size() > kMaxLaterCuts) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxLaterCuts, " later power cuts, not ", scenario.later_cuts.size()));
  }
  size_t number = 0;  // ops are numbered across the runs, as in the replay file
  for (size_t run = 0; run <= scenario.later_cuts.size(); ++run) {
    for (const Op& op : OpsOfRun(scenario, run)) {
      ++number;
      if (op.client >= scenario.workload.clients) {
        return absl::InvalidArgumentError(absl::StrCat("op ", number, " (", ToString(op),
                                                       ") names a client beyond ",
                                                       scenario.workload.clients - 1));
      }
      if (op.kind == OpKind::kControl) {
        const absl::Status takes =
            bound.check_control
                ? bound.check_control(op.control)
                : absl::InvalidArgumentError(
                      absl::StrCat("engine ", scenario.engine, " takes no control operations"));
        if (!takes.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("op ", number, " (", ToString(op), "): ", takes.message()));
        }
        continue;
      }
      if (op.kind == OpKind::kFlush) continue;
      if (op.sectors == 0 || op.sector >= sectors || op.sectors > sectors - op.sector) {
        return absl::InvalidArgumentError(absl::StrCat("op ", number, " (", ToString(op),
                                                       ") is outside the ", sectors,
                                                       "-sector device"));
      }
    }
  }
  if (scenario.images == 0 || scenario.images > 100000) {
    return absl::InvalidArgumentError("images must be between 1 and 100000");
  }
  if (!scenario.mutant.empty()) {
    const mutant::Info* info = mutant::Find(scenario.mutant);
    if (info == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown mutant '", scenario.mutant, "'"));
    }
    if (!mutant::Available()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the scenario needs mutant '", scenario.mutant,
          "', and this build has none compiled in; use powercut_with_mutants"));
    }
  }
  return absl::OkStatus();
}

// The engine bound and the rest of the scenario checked: what a run needs.
absl::StatusOr<BoundEngine> BindAndValidate(const Scenario& scenario) {
  absl::StatusOr<BoundEngine> bound = Bind(scenario);
  if (!bound.ok()) return bound.status();
  if (absl::Status valid = ValidateRun(scenario, *bound); !valid.ok()) {
    return valid;
  }
  return bound;
}

// Restores the previously active mutant when a run ends.
class MutantScope {
 public:
  MutantScope() : previous_(mutant::Active()) {}
  ~MutantScope() { (void)mutant::SetActive(previous_); }

 private:
  mutant::Id previous_;
};

// Switches on the scenario's mutant (none: every mutant off), for a MutantScope of the
// caller's to switch back.
absl::Status ActivateMutant(const Scenario& scenario) {
  const mutant::Info* info = scenario.mutant.empty() ? nullptr : mutant::Find(scenario.mutant);
  return mutant::SetActive(info ? info->id : mutant::Id::kNone);
}

// The scenario's engine for devices that are real files (invariant checkers off).
absl::StatusOr<BoundEngine> BindOnFiles(const Scenario& scenario) {
  return BindEngine(scenario.engine, scenario.params,
                    EngineEnvironment{.ssd = scenario.ssd, .faults = scenario.faults, .simulated = false});
}

// The virtual time a run (and each recovery) of the scenario may take: an hour, plus
// room for every operation to meet the slowest latency the scenario allows many times
// over (an op is several device IOs in a row, a recovery reads back and resyncs), plus
// many of the engine's longest idle waits. A valid scenario, however slow its devices
// or long its daemon period, never fails for the harness's own limit.
runtime::Nanos TimeLimit(const Scenario& scenario, const BoundEngine& bound) {
  const sim::SimSsdOptions& ssd = scenario.ssd;
  runtime::Nanos slowest =
      std::max({ssd.read_latency.max, ssd.write_latency.max, ssd.flush_latency.max});
  if (scenario.faults) slowest += scenario.faults->fault_latency;
  const int64_t ops = static_cast<int64_t>(OpCount(scenario)) + 64;
  return kDefaultTimeLimit + 64 * ops * slowest + 16 * bound.longest_wait;
}

// The runtime, the oracle's tables and the fiber stacks, whatever the scenario.
constexpr uint64_t kBaseMemoryBytes = uint64_t{64} << 20;

uint64_t Estimate(const Scenario& scenario, const BoundEngine& bound) {
  uint64_t written = 0;
  for (size_t run = 0; run <= scenario.later_cuts.size(); ++run) {
    for (const Op& op : OpsOfRun(scenario, run)) {
      if (op.kind == OpKind::kWrite) written += uint64_t{op.sectors} * io::kSectorSize;
    }
  }
  return kBaseMemoryBytes + bound.memory.fixed_bytes +
         uint64_t{scenario.images} * bound.memory.per_image_bytes +
         bound.memory.per_written_byte * written;
}

std::string Gibibytes(uint64_t bytes) {
  return absl::StrFormat("%.2f GiB", static_cast<double>(bytes) / (uint64_t{1} << 30));
}

// ResourceExhausted when the scenario needs more than `max_bytes` (0: no limit).
absl::Status CheckMemory(const Scenario& scenario, const BoundEngine& bound,
                         uint64_t max_bytes) {
  const uint64_t needed = Estimate(scenario, bound);
  if (max_bytes == 0 || needed <= max_bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the scenario needs an estimated ", Gibibytes(needed), " of memory, more than the ",
      Gibibytes(max_bytes), " allowed; give a larger --max-memory (0: no limit) on a machine "
      "that has it"));
}

// What a run that ran out of memory (in a fiber or in the harness) returns instead of a
// verdict.
absl::Status OutOfMemory(const Scenario& scenario, const BoundEngine& bound) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "the run ran out of memory (the scenario's estimate was ", Gibibytes(Estimate(scenario, bound)),
      "): this is a limit of the machine, not a verdict"));
}

// The scheduling steps a run (and each recovery) of the scenario may take: the default
// budget plus ten thousand per operation, far above what any operation takes.
uint64_t StepBudget(const Scenario& scenario) {
  return kDefaultStepBudget + 10'000 * (OpCount(scenario) + 64);
}

// The workload addressing a device of `sectors`.
Workload Sized(Workload workload, uint64_t sectors) {
  workload.device_sectors = sectors;
  return workload;
}

}  // namespace

absl::StatusOr<uint64_t> LogicalSectors(const Scenario& scenario) {
  absl::StatusOr<BoundEngine> bound = Bind(scenario);
  if (!bound.ok()) return bound.status();
  return bound->logical_sectors;
}

std::vector<Op>& OpsOfRun(Scenario& scenario, size_t run) {
  return run == 0 ? scenario.workload.ops : scenario.later_cuts.at(run - 1).ops;
}

const std::vector<Op>& OpsOfRun(const Scenario& scenario, size_t run) {
  return run == 0 ? scenario.workload.ops : scenario.later_cuts.at(run - 1).ops;
}

uint64_t OpCount(const Scenario& scenario) {
  uint64_t ops = scenario.workload.ops.size();
  for (const LaterCut& cut : scenario.later_cuts) ops += cut.ops.size();
  return ops;
}

absl::Status Validate(const Scenario& scenario) { return BindAndValidate(scenario).status(); }

absl::Status RefuseLaterCuts(const Scenario& scenario) {
  if (scenario.later_cuts.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "the scenario has ", scenario.later_cuts.size() + 1,
      " power cuts; this command makes one (the simulator runs all: powercut replay)"));
}

absl::StatusOr<uint64_t> MemoryEstimate(const Scenario& scenario) {
  absl::StatusOr<BoundEngine> bound = BindAndValidate(scenario);
  if (!bound.ok()) return bound.status();
  return Estimate(scenario, *bound);
}

absl::StatusOr<CrashCheckResult> RunScenario(const Scenario& scenario,
                                             const ScenarioRunOptions& options) {
  absl::StatusOr<BoundEngine> bound = BindAndValidate(scenario);
  if (!bound.ok()) return bound.status();
  if (absl::Status memory = CheckMemory(scenario, *bound, options.max_memory_bytes);
      !memory.ok()) {
    return memory;
  }
  MutantScope restore;
  if (absl::Status set = ActivateMutant(scenario); !set.ok()) return set;
  const Workload workload = Sized(scenario.workload, bound->logical_sectors);
  CrashCheckOptions check{.seed = scenario.seed,
                          .time_limit = TimeLimit(scenario, *bound),
                          .step_budget = StepBudget(scenario),
                          .crash_after_steps = scenario.crash_after_steps,
                          .images = scenario.images,
                          .later_cuts = scenario.later_cuts,
                          .check_progress = scenario.check_progress,
                          .observer = options.observer};
  try {
    CrashCheckResult result = RunCrashCheck(bound->factory, workload, check);
    if (result.failure.kind == FailureKind::kOutOfMemory && !result.passed) {
      return OutOfMemory(scenario, *bound);
    }
    return result;
  } catch (const std::bad_alloc&) {
    return OutOfMemory(scenario, *bound);
  }
}

absl::StatusOr<RealCrashCheckResult> RunScenarioOnFiles(const Scenario& scenario,
                                                        const std::string& folder,
                                                        bool buffered,
                                                        uint64_t max_memory_bytes) {
  absl::StatusOr<BoundEngine> recover = BindAndValidate(scenario);
  if (!recover.ok()) return recover.status();
  if (absl::Status one = RefuseLaterCuts(scenario); !one.ok()) return one;
  if (absl::Status memory = CheckMemory(scenario, *recover, max_memory_bytes); !memory.ok()) {
    return memory;
  }
  absl::StatusOr<BoundEngine> on_files = BindOnFiles(scenario);
  if (!on_files.ok()) return on_files.status();
  MutantScope restore;
  if (absl::Status set = ActivateMutant(scenario); !set.ok()) return set;
  const Workload workload = Sized(scenario.workload, recover->logical_sectors);
  return RunRealCrashCheck(on_files->factory, recover->factory, workload,
                           {.folder = folder,
                            .seed = scenario.seed,
                            .crash_after_steps = scenario.crash_after_steps,
                            .images = scenario.images,
                            .buffered = buffered,
                            .time_limit = TimeLimit(scenario, *recover),
                            .step_budget = StepBudget(scenario)});
}

absl::StatusOr<CrashLoopResult> RunScenarioCrashLoop(const Scenario& scenario,
                                                     const std::string& folder, uint64_t kills,
                                                     bool buffered) {
  if (absl::Status valid = Validate(scenario); !valid.ok()) return valid;
  if (absl::Status one = RefuseLaterCuts(scenario); !one.ok()) return one;
  absl::StatusOr<BoundEngine> on_files = BindOnFiles(scenario);
  if (!on_files.ok()) return on_files.status();
  MutantScope restore;
  if (absl::Status set = ActivateMutant(scenario); !set.ok()) return set;
  return RunCrashLoop(on_files->factory, Sized(scenario.workload, on_files->logical_sectors),
                      {.folder = folder, .seed = scenario.seed, .kills = kills, .buffered = buffered});
}

}  // namespace powercut::verifier
