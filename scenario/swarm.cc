#include "scenario/swarm.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "sim/prng.h"

namespace powercut::verifier {

SwarmChoice DrawSwarm(uint64_t seed) {
  sim::Prng prng = sim::Prng(seed).Fork("swarm");
  SwarmChoice choice;
  choice.reads = prng.Chance(1, 2);
  choice.flushes = prng.Chance(1, 2);
  choice.discards = prng.Chance(1, 2);
  choice.fua = prng.Chance(1, 2);
  sim::Prng faults = sim::Prng(seed).Fork("swarm-faults");
  choice.fault_ops = 0;
  for (uint32_t kind : {faults::kFaultRead, faults::kFaultWrite, faults::kFaultFlush, faults::kFaultDiscard}) {
    if (faults.Chance(1, 2)) choice.fault_ops |= kind;
  }
  sim::Prng features = sim::Prng(seed).Fork("swarm-features");
  choice.features = 0;
  for (size_t i = 0; i < std::size(kSwarmFeatures); ++i) {
    if (features.Chance(1, 2)) choice.features |= 1u << i;
  }
  return choice;
}

namespace {

std::string FaultKindsName(uint32_t ops) {
  std::string name;
  const std::pair<uint32_t, const char*> kinds[] = {{faults::kFaultRead, "reads"},
                                                     {faults::kFaultWrite, "writes"},
                                                     {faults::kFaultFlush, "flushes"},
                                                     {faults::kFaultDiscard, "discards"}};
  for (const auto& [kind, word] : kinds) {
    if ((ops & kind) != 0) absl::StrAppend(&name, name.empty() ? "" : "+", word);
  }
  return name;
}

}  // namespace

std::string SwarmName(const SwarmChoice& choice) {
  return absl::StrCat("writes", choice.reads ? "+reads" : "", choice.flushes ? "+flushes" : "",
                      choice.discards ? "+discards" : "", choice.fua ? "+fua" : "");
}

SwarmApplied ApplySwarm(const SwarmChoice& choice, Scenario& scenario) {
  SwarmApplied applied{.ops = SwarmName(choice)};
  const auto keep = [&choice](std::vector<Op>& ops) {
    ops.erase(std::remove_if(ops.begin(), ops.end(),
                             [&](const Op& op) {
                               return (op.kind == OpKind::kRead && !choice.reads) ||
                                      (op.kind == OpKind::kFlush && !choice.flushes) ||
                                      (op.kind == OpKind::kDiscard && !choice.discards);
                             }),
              ops.end());
    if (!choice.fua) {
      for (Op& op : ops) op.fua = false;
    }
  };
  keep(scenario.workload.ops);
  for (LaterCut& cut : scenario.later_cuts) keep(cut.ops);
  std::string line = absl::StrCat("swarm: ", applied.ops);
  if (scenario.faults && scenario.faults->io_error_ppm != 0) {
    const uint32_t kept = scenario.faults->io_error_ops & choice.fault_ops;
    if (kept != 0) scenario.faults->io_error_ops = kept;
    applied.faults = absl::StrCat("faults: ", FaultKindsName(scenario.faults->io_error_ops));
    absl::StrAppend(&line, "; ", applied.faults);
  }
  std::string without;
  bool any = false;
  for (auto& [name, value] : scenario.params) {
    for (size_t i = 0; i < std::size(kSwarmFeatures); ++i) {
      if (name != kSwarmFeatures[i] || value == 0) continue;
      any = true;
      if ((choice.features & (1u << i)) == 0) {
        value = 0;
        absl::StrAppend(&without, without.empty() ? "" : "+", name);
      }
    }
  }
  if (any) {
    applied.features = without.empty() ? "features: all" : absl::StrCat("features: without ", without);
    absl::StrAppend(&line, "; ", applied.features);
  }
  absl::StrAppend(&scenario.comment, scenario.comment.empty() ? "" : "\n", line);
  return applied;
}

}  // namespace powercut::verifier
