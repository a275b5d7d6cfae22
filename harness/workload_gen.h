// RapidCheck generator for workloads. Draws shrink towards zero, which MakeOp maps to
// the simplest operations, and the op list shrinks by dropping operations, so a failing
// workload shrinks to the few operations that matter.
#ifndef POWERCUT_HARNESS_WORKLOAD_GEN_H_
#define POWERCUT_HARNESS_WORKLOAD_GEN_H_

#include <rapidcheck.h>

#include "harness/workload.h"

namespace powercut::verifier {

inline rc::Gen<Workload> GenWorkload(const WorkloadShape& shape) {
  // RapidCheck scales even inRange() by the current size; the draws are pinned at the
  // full size (100) so every operation kind and place is reachable, while the outer
  // size bounds the number of operations.
  auto draw = rc::gen::resize(100, rc::gen::build<OpDraw>(
      rc::gen::set(&OpDraw::kind, rc::gen::inRange<uint32_t>(0, 100)),
      rc::gen::set(&OpDraw::client, rc::gen::inRange<uint32_t>(0, 16)),
      rc::gen::set(&OpDraw::place, rc::gen::arbitrary<uint32_t>()),
      rc::gen::set(&OpDraw::size, rc::gen::inRange<uint32_t>(0, 256)),
      rc::gen::set(&OpDraw::flags, rc::gen::inRange<uint32_t>(0, 8))));
  return rc::gen::map(
      rc::gen::resize(static_cast<int>(shape.max_ops), rc::gen::nonEmpty(rc::gen::container<std::vector<OpDraw>>(draw))),
      [shape](const std::vector<OpDraw>& draws) { return MakeWorkload(draws, shape); });
}

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_WORKLOAD_GEN_H_
