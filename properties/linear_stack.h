// The pass-through stack: a LinearTarget (dm-linear) over one SimSsd, mapped at an
// offset so address translation is exercised. With no engine state, it must keep the
// block-device contract exactly as the SSD does; the harness is proven on it.
#ifndef POWERCUT_PROPERTIES_LINEAR_STACK_H_
#define POWERCUT_PROPERTIES_LINEAR_STACK_H_

#include "properties/stack.h"
#include "sim/sim_ssd.h"

namespace powercut::props {

struct LinearStackOptions {
  uint64_t logical_sectors = 4096;
  uint64_t start_sector = 24;
  sim::SimSsdOptions ssd;  // `sectors` is derived: start + logical + 8 spare
};

StackFactory LinearStackFactory(LinearStackOptions options = {});

}  // namespace powercut::props

#endif  // POWERCUT_PROPERTIES_LINEAR_STACK_H_
