// Failure: why a crash check failed, as a record rather than a paragraph.
//
// Every failure the harness reports has a kind (what was wrong), a phase (when it was
// seen: during the run before the power cut, on crash image K before recovery, or
// while/after recovering crash image K), the invariant it violates where it is one
// (ids as in docs/invariants.md: "E1", "I7", "E5/W2"), the device and sector where
// known, and a readable paragraph. Shrinking, the mutation matrix and JSON outputs use
// the fields; people read the text.
//
// Bindings report invariant violations through the Stack's check hooks (stack.h); a
// Start() failure of a recovered stack is the engine refusing to recover.
#ifndef POWERCUT_HARNESS_FAILURE_H_
#define POWERCUT_HARNESS_FAILURE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace powercut::verifier {

enum class FailureKind {
  kLostDurableWrite,   // a required write is gone (zeroes or nothing in its place)
  kOlderData,          // a sector holds data older than a write that had to survive
  kForeignData,        // a sector holds data written for another sector
  kGarbage,            // a sector holds bytes no write produced
  kBadRead,            // a read during the run returned what it may not
  kInvariantViolated,  // an engine invariant checker fired (see `invariant`)
  kRecoveryRefused,    // the engine failed to start from a crash image
  kEngineError,        // the engine failed or threw while running
  kEngineAssertion,    // an always-on engine assertion failed (see `location`)
  kDeadlock,           // no fiber could run and no event was pending
  kHang,               // the run reached the harness's time limit with fibers alive
  kOutOfMemory,        // the machine ran out of memory: never a verdict (RunScenario)
};

enum class FailurePhase {
  kRun,         // before the power cut
  kCrashImage,  // on crash image `image`, before recovery
  kRecovery,    // recovering crash image `image`, or reading it back
};

// "lost durable write", "invariant violated", ...
absl::string_view FailureKindName(FailureKind kind);
// "run", "crash image", "recovery"
absl::string_view FailurePhaseName(FailurePhase phase);

struct Failure {
  FailureKind kind = FailureKind::kEngineError;
  std::string invariant;  // "E1", "I7", "E5/W2"; empty when the kind is not an invariant
  FailurePhase phase = FailurePhase::kRun;
  std::optional<uint32_t> image;  // the crash image (phases kCrashImage, kRecovery)
  // The power cuts before the run it belongs to (0: the first run and its crash images;
  // k: the run rebuilt after cut k, its crash images and their recovery).
  uint32_t after_cut = 0;
  std::string device;             // where known
  std::optional<uint64_t> sector;
  std::string location;  // a failed assertion's "engine/...cc:LINE"
  std::string text;      // the readable paragraph

  // What failures are grouped by (shrink keeps it, the mutation matrix reports it):
  // the kind, and the invariant when there is one ("invariant violated I7").
  std::string Group() const;
  // "during the run", "on crash image 2", "recovering crash image 2"; then ", after
  // power cut 1" for a later run.
  std::string Where() const;
};

// What an invariant checker found: the invariant's id ("I7", "E5/W2"; empty for a
// check without one, e.g. the engine's own error state) and the explanation, which
// starts with the id.
struct Violation {
  std::string invariant;
  std::string text;

  // The same violation explained under `context` ("raid1 crash image: ").
  Violation In(absl::string_view context) const {
    return Violation{invariant, absl::StrCat(context, text)};
  }
};

// A violation of invariant `id`, explained as `id` followed by `parts`:
// InvariantViolated("I3", ": chunk ", 4, "'s bit cleared without PREFLUSH").
template <typename... Parts>
Violation InvariantViolated(absl::string_view id, const Parts&... parts) {
  return Violation{std::string(id), absl::StrCat(id, parts...)};
}

// The kind of failure a non-OK status of the fiber runtime's Run means: an exception in
// a fiber (engine error), a failed engine assertion, a deadlock, or the time limit
// (hang).
FailureKind KindOfRunStatus(const absl::Status& status);

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_FAILURE_H_
