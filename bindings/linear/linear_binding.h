// The pass-through stack: a LinearMap (dm-linear) over one SimSsd, mapped at an
// offset so address translation is exercised. With no engine state, it must keep the
// block-device contract exactly as the SSD does; the harness is proven on it.
//
// Optionally a FaultyBlockDevice (faults/) sits between the SSD and the target, in the
// first (pre-crash) stack only: the faults happen while the workload runs. The stack
// rebuilt from a crash image is fault-free, latent sector errors included: a crash
// check reads back the whole logical device, which a latent sector would fail, and
// whether a rewrite healed a sector before the cut is not part of the crash image.
#ifndef POWERCUT_BINDINGS_LINEAR_LINEAR_BINDING_H_
#define POWERCUT_BINDINGS_LINEAR_LINEAR_BINDING_H_

#include <memory>
#include <optional>

#include "bindings/engine_registry.h"
#include "faults/fault_plan.h"
#include "faults/faulty_block_device.h"
#include "harness/stack.h"
#include "sim/sim_ssd.h"

namespace powercut::verifier {

struct LinearStackOptions {
  uint64_t logical_sectors = 4096;
  uint64_t start_sector = 24;
  sim::SimSsdOptions ssd;  // `sectors` is derived: start + logical + 8 spare
  // Faults injected below the target before the power cut. Sectors are SSD sectors
  // (logical sector + start_sector). Validated when the stack is built.
  std::optional<faults::FaultPlan> faults;
  // If set, each faulty stack adds the faults it injected here when it is destroyed
  // (lets a test prove that its faults really happened). Shared by copies.
  std::shared_ptr<faults::FaultCounts> fault_tally;
};

StackFactory LinearStackFactory(LinearStackOptions options = {});

// The registry entry of engine "linear" (bindings/engine_registry.h).
const EngineEntry& LinearEngine();

}  // namespace powercut::verifier

#endif  // POWERCUT_BINDINGS_LINEAR_LINEAR_BINDING_H_
