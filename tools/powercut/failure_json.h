// FailureJson: a typed failure (harness/failure.h) as the JSON object every command
// prints: kind, group, phase, image, invariant, device, sector, location (of a failed
// engine assertion) and text; fields that do not apply are null.
#ifndef POWERCUT_TOOLS_POWERCUT_FAILURE_JSON_H_
#define POWERCUT_TOOLS_POWERCUT_FAILURE_JSON_H_

#include "harness/failure.h"
#include "nlohmann/json.hpp"

namespace powercut::tools {

nlohmann::json FailureJson(const verifier::Failure& failure);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_FAILURE_JSON_H_
