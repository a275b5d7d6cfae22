// Reactor: the part of the runtime that decides when blocked fibers wake up.
//
// The scheduler core (scheduler.h) is the same everywhere; only the reactor differs:
//   - the simulator's World runs callbacks at virtual instants from a seeded event queue
//     and picks among runnable fibers with its PRNG;
//   - a real backend runs io_uring completions and timers on the monotonic clock and
//     picks runnable fibers in FIFO order.
//
// Threading: single-threaded. Every call comes from the scheduler's thread, and
// callbacks run on the scheduler's own context, never inside a fiber, so they must not
// block (like a kernel bio end_io handler).
#ifndef POWERCUT_ENGINE_RUNTIME_REACTOR_H_
#define POWERCUT_ENGINE_RUNTIME_REACTOR_H_

#include <cstddef>

#include "absl/functional/any_invocable.h"
#include "engine/runtime/time.h"

namespace powercut::runtime {

class Reactor {
 public:
  virtual ~Reactor() = default;

  // Current time (virtual in the simulator).
  virtual Nanos Now() const = 0;

  // Arranges for `callback` to run from the scheduler loop once time reaches `when`
  // (immediately at the next poll if `when` is in the past).
  virtual void CallAt(Nanos when, absl::AnyInvocable<void()> callback) = 0;

  // Runs the next due callback(s), waiting (real) or advancing time (sim) as needed.
  // Returns false iff nothing is pending, so no blocked fiber can ever be woken.
  virtual bool RunNext() = 0;

  // Chooses which of `runnable` (>= 2) ready fibers runs next, as an index into the
  // ready queue (0 is the oldest). The simulator's choice comes from its seed.
  virtual size_t ChooseRunnable(size_t runnable) = 0;

  // True if ChooseRunnable always returns 0 (the oldest ready fiber first, as a real
  // backend does). Asked once, when a Scheduler is built; the scheduler then does not
  // call ChooseRunnable at all.
  virtual bool AlwaysChoosesOldest() const { return false; }
};

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_REACTOR_H_
