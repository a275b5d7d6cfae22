#include "engine/runtime/assertion.h"

namespace powercut::runtime {

std::string AssertionFailure::Describe() const {
  return absl::StrCat("assertion failed at ", location, ": ", condition,
                      message.empty() ? "" : absl::StrCat(" (", message, ")"));
}

namespace internal {

void FailAssertion(const char* file, int line, const char* condition, std::string message) {
  throw AssertionFailure{absl::StrCat(file, ":", line), condition, std::move(message)};
}

}  // namespace internal
}  // namespace powercut::runtime
