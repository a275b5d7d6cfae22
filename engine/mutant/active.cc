// The active mutant of a test build. Compiled only into the *_mutants libraries.
#include "engine/mutant/mutant.h"

namespace powercut::mutant {
namespace {
Id g_active = Id::kNone;
}  // namespace

Id Active() { return g_active; }
void SetActive(Id id) { g_active = id; }

}  // namespace powercut::mutant
