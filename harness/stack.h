// Stack: a storage stack under test (simulated devices + an engine on top), as the
// crash harness sees it.
//
// A StackFactory builds a stack inside a World on the devices it is given
// (harness/devices.h), either fresh or back after a power cut with the crash images of
// an earlier stack; the devices, not the stack, are what a crash is drawn from. Start()
// runs in a fiber: it formats a fresh stack or recovers one built from images.
// logical() is the device the workload and the oracle talk to.
//
// Settle() ends a run where timing no longer matters (see there).
//
// Invariant hooks: the crash check asks the stack itself what its engine's invariant
// checkers found, at fixed points (none by default):
//   - CheckCrashImage(images), on a stack just built from `images`, before Start();
//   - CheckStarted(), in the fiber, right after a successful Start() (for a recovered
//     stack: what the recovery did);
//   - CheckRun(), on the first stack after its run ended (the power cut or the end of
//     the workload): what its IO stream showed while the workload ran;
//   - CheckProgress(), in the fiber, when asked for (CrashCheckOptions::check_progress),
//     once the first workload's clients ended: a liveness property. The stack lets a
//     bounded virtual time pass (it sleeps; its background work runs) and reports the
//     goal its background work missed (a cache drained to its watermark, a bitmap
//     clean), computed from what the media hold, not from the engine's own counters.
// Each returns the first violation found; the crash check reports it with the phase it
// belongs to.
#ifndef POWERCUT_HARNESS_STACK_H_
#define POWERCUT_HARNESS_STACK_H_

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/io/block_device.h"
#include "engine/io/io_batch.h"
#include "engine/runtime/scheduler.h"
#include "harness/block_oracle.h"
#include "harness/devices.h"
#include "harness/failure.h"
#include "sim/world.h"

namespace powercut::verifier {

class Stack {
 public:
  virtual ~Stack() = default;
  virtual io::BlockDevice& logical() = 0;
  // Called from a fiber before any IO: format (fresh) or recover (from images).
  [[nodiscard]] virtual absl::Status Start() = 0;
  // From a fiber, after a workload: brings the stack to a state that no longer depends
  // on timing (parity runs compare two runs of one workload there). By default a flush
  // of the logical device; an engine with background work finishes it (the cache writes
  // every block back, RAID1 stops clean). The stack takes no IO afterwards.
  [[nodiscard]] virtual absl::Status Settle(runtime::Scheduler& scheduler) {
    return io::FlushSync(scheduler, logical());
  }
  // From a client fiber while the workload runs: an operator's command (a workload's
  // control operation, harness/workload.h), e.g. the cache's "flush" message or a
  // member failed in a mirror set. Returns when the command is done; an error is what
  // the operator would see (a command the state refuses), not a verdict. A stack that
  // takes none refuses all (InvalidArgument).
  virtual absl::Status Control(absl::string_view command) {
    return absl::InvalidArgumentError(
        absl::StrCat("this stack takes no control operations (got '", command, "')"));
  }
  // What the stack promises (e.g. whether FUA alone makes a write durable).
  virtual OracleOptions oracle_options() const { return {}; }

  virtual std::optional<Violation> CheckCrashImage(const CrashImages& /*images*/) const {
    return std::nullopt;
  }
  virtual std::optional<Violation> CheckStarted() { return std::nullopt; }
  virtual std::optional<Violation> CheckRun() { return std::nullopt; }
  virtual std::optional<Violation> CheckProgress() { return std::nullopt; }
};

// Builds a stack in `world` on `devices` (fresh, or back after a power cut:
// devices.recovering()).
using StackFactory =
    std::function<absl::StatusOr<std::unique_ptr<Stack>>(sim::World& world, Devices& devices)>;

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_STACK_H_
