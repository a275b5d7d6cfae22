// The small pass-through configuration shared by the linear-stack test suites: a
// 1024-sector logical device, three clients, up to 40 operations per workload.
#ifndef POWERCUT_PROPERTIES_SMALL_LINEAR_FOR_TEST_H_
#define POWERCUT_PROPERTIES_SMALL_LINEAR_FOR_TEST_H_

#include "bindings/linear/linear_binding.h"
#include "harness/workload.h"

namespace powercut::verifier {

inline WorkloadShape SmallLinearShape() {
  WorkloadShape shape;
  shape.device_sectors = 1024;
  shape.clients = 3;
  shape.max_ops = 40;
  return shape;
}

inline LinearStackOptions SmallLinearOptions(bool volatile_cache = true) {
  LinearStackOptions options;
  options.logical_sectors = 1024;
  options.ssd.volatile_cache = volatile_cache;
  return options;
}

}  // namespace powercut::verifier

#endif  // POWERCUT_PROPERTIES_SMALL_LINEAR_FOR_TEST_H_
