// Shrink: delta-debugging minimisation of a failing scenario.
//
// Starting from a scenario that fails, it repeatedly tries smaller variants and keeps
// each one that still fails *the same way* (the same Failure::Group(): the failure's
// kind and, for an invariant violation, the invariant; harness/failure.h):
//   - the crash instant is pinned to an explicit step first, then moved earlier;
//   - operations are removed (ddmin: halves, quarters, ... single operations);
//   - clients are merged, FUA flags dropped, IO sizes and sectors reduced;
//   - crash images and fault-plan entries are dropped.
// Deterministic: the same input gives the same output. Bounded by `max_runs` runs.
#ifndef POWERCUT_TOOLS_POWERCUT_SHRINK_H_
#define POWERCUT_TOOLS_POWERCUT_SHRINK_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "scenario/scenario.h"

namespace powercut::tools {

struct ShrinkResult {
  verifier::Scenario scenario;  // the smallest failing scenario found
  std::string category;       // Failure::Group() of the failure it keeps
  std::string failure;       // its failure paragraph
  uint64_t runs = 0;
};

// Fails with InvalidArgument if `scenario` does not fail to begin with, with
// ResourceExhausted if it needs more memory than `max_memory_bytes` (0: no limit;
// verifier::RunScenario).
absl::StatusOr<ShrinkResult> Shrink(const verifier::Scenario& scenario, uint64_t max_runs,
                                    uint64_t max_memory_bytes,
                                    const std::function<void(const std::string&)>& progress);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_SHRINK_H_
