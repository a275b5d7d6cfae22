// Shipped builds: no mutant can be activated (their code is compiled out).
#include "absl/strings/str_cat.h"
#include "engine/mutant/mutant.h"

namespace powercut::mutant {

bool Available() { return false; }
Id Active() { return Id::kNone; }
absl::Status SetActive(Id id) {
  if (id == Id::kNone) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "this build has no mutants compiled in; use a test build (powercut_with_mutants)");
}

}  // namespace powercut::mutant
