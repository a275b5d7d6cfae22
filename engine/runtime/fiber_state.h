// FiberState: what the Scheduler keeps per fiber, and the AddressSanitizer stack-switch
// annotations. FiberState and the annotations are internal to the runtime (only
// scheduler.h and scheduler.cc use them); FiberKind and WakeToken, which FiberState
// holds, are part of the Scheduler's API and reach users through scheduler.h. It is a
// header (not private to scheduler.cc) because the scheduler's switch path is inline, so
// a fiber that yields in a loop switches without a return instruction in between (see
// Scheduler::Yield).
//
// Threading: owned and used by one Scheduler's thread.
#ifndef POWERCUT_ENGINE_RUNTIME_FIBER_STATE_H_
#define POWERCUT_ENGINE_RUNTIME_FIBER_STATE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/context/fiber.hpp>

#include "absl/functional/any_invocable.h"

// POWERCUT_ASAN: this is an AddressSanitizer build. GCC says so with
// __SANITIZE_ADDRESS__, clang (before 17) only through __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define POWERCUT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POWERCUT_ASAN 1
#endif
#endif

#if defined(POWERCUT_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace powercut::runtime {

enum class FiberKind { kWorker, kDaemon };

// Identifies one blocking episode of a fiber, so a stale wake-up (e.g. a timeout that
// fires after the fiber was already notified) is ignored.
struct WakeToken {
  uint64_t fiber_id = 0;
  uint64_t episode = 0;

  friend bool operator==(const WakeToken&, const WakeToken&) = default;
};

// Where a stack lies, for AddressSanitizer.
struct StackBounds {
  const void* bottom = nullptr;
  size_t size = 0;
};

struct FiberState {
  enum class Status { kReady, kRunning, kBlocked, kDone };

  uint64_t id = 0;
  std::string name;
  FiberKind kind = FiberKind::kWorker;
  absl::AnyInvocable<void()> body;
  boost::context::fiber context;  // the fiber itself, while it is not running
  Status status = Status::kReady;
  uint64_t episode = 0;  // current blocking episode; 0 when not blocked
  bool timed_out = false;
  std::string_view waiting_for;
  std::vector<WakeToken> joiners;
  StackBounds stack;
  void* fake_stack = nullptr;  // ASan's per-stack save slot
};

// AddressSanitizer must be told about every stack switch, or it reports false errors
// on fiber stacks (Boost.Context's assembly backend does not tell it). Outside ASan
// builds these compile to nothing.
inline void AsanStartSwitch(void** fake_stack_save, const StackBounds& to) {
#if defined(POWERCUT_ASAN)
  __sanitizer_start_switch_fiber(fake_stack_save, to.bottom, to.size);
#else
  (void)fake_stack_save;
  (void)to;
#endif
}

inline void AsanFinishSwitch(void* fake_stack_save, StackBounds* from) {
#if defined(POWERCUT_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack_save, from ? &from->bottom : nullptr,
                                  from ? &from->size : nullptr);
#else
  (void)fake_stack_save;
  (void)from;
#endif
}

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_FIBER_STATE_H_
