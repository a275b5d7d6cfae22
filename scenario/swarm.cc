#include "scenario/swarm.h"

#include <algorithm>

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
  return choice;
}

std::string SwarmName(const SwarmChoice& choice) {
  return absl::StrCat("writes", choice.reads ? "+reads" : "", choice.flushes ? "+flushes" : "",
                      choice.discards ? "+discards" : "", choice.fua ? "+fua" : "");
}

void ApplySwarm(const SwarmChoice& choice, Scenario& scenario) {
  std::vector<Op>& ops = scenario.workload.ops;
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
  absl::StrAppend(&scenario.comment, scenario.comment.empty() ? "" : "\n", "swarm: ", SwarmName(choice));
}

}  // namespace powercut::verifier
