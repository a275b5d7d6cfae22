// Runs a Workload against a BlockDevice inside a World, one fiber per client, and
// records every operation in a BlockOracle at the instant it is submitted and the
// instant it completes. Written sectors are stamped (sector_stamp.h) with the write id
// the oracle assigned.
//
// Threading: the World's thread. `stack`, `workload` and `oracle` must outlive the
// spawned fibers.
#ifndef POWERCUT_HARNESS_WORKLOAD_RUNNER_H_
#define POWERCUT_HARNESS_WORKLOAD_RUNNER_H_

#include <vector>

#include "engine/io/block_device.h"
#include "engine/runtime/scheduler.h"
#include "harness/block_oracle.h"
#include "harness/stack.h"
#include "harness/workload.h"
#include "sim/world.h"

namespace powercut::verifier {

// Spawns the client fibers over `stack`'s logical device (control operations go to
// Stack::Control); returns them (for Join).
std::vector<runtime::Fiber> SpawnWorkload(sim::World& world, Stack& stack,
                                          const Workload& workload, BlockOracle& oracle);

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_WORKLOAD_RUNNER_H_
