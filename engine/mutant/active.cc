// The active mutant of a test build. Compiled only into the *_mutants libraries.
#include "engine/mutant/mutant.h"

namespace powercut::mutant {
namespace {
Id g_active = Id::kNone;
}  // namespace

bool Available() { return true; }
Id Active() { return g_active; }
absl::Status SetActive(Id id) {
  g_active = id;
  return absl::OkStatus();
}

}  // namespace powercut::mutant
