#include "tools/powercut/failure_json.h"

#include <string>

namespace powercut::tools {

nlohmann::json FailureJson(const verifier::Failure& failure) {
  nlohmann::json json = {{"kind", std::string(verifier::FailureKindName(failure.kind))},
                         {"group", failure.Group()},
                         {"phase", std::string(verifier::FailurePhaseName(failure.phase))},
                         {"image", nullptr},
                         {"after_cut", failure.after_cut},
                         {"invariant", nullptr},
                         {"device", nullptr},
                         {"sector", nullptr},
                         {"location", nullptr},
                         {"text", failure.text}};
  if (failure.image) json["image"] = *failure.image;
  if (!failure.invariant.empty()) json["invariant"] = failure.invariant;
  if (!failure.device.empty()) json["device"] = failure.device;
  if (failure.sector) json["sector"] = *failure.sector;
  if (!failure.location.empty()) json["location"] = failure.location;
  return json;
}

}  // namespace powercut::tools
