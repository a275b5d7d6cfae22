// Shrink: delta-debugging minimisation of a failing scenario.
//
// Starting from a scenario that fails, it repeatedly tries smaller variants and keeps
// each one that still fails *the same way* (same failure category: a lost durable
// write, foreign data, garbage, a bad read, a failed run or recovery):
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
#include "properties/scenario.h"

namespace powercut::tools {

struct ShrinkResult {
  props::Scenario scenario;  // the smallest failing scenario found
  std::string category;
  std::string failure;       // its failure paragraph
  uint64_t runs = 0;
};

// The failure's category, from its explanation: the first invariant it names
// ("invariant I12", "invariant E5/W2"), else the kind of data it found wrong.
std::string FailureCategory(const std::string& failure);

// Fails with InvalidArgument if `scenario` does not fail to begin with.
absl::StatusOr<ShrinkResult> Shrink(const props::Scenario& scenario, uint64_t max_runs,
                                    const std::function<void(const std::string&)>& progress);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_SHRINK_H_
