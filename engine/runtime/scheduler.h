// Scheduler: cooperative fibers on one OS thread, over boost::context::fiber.
//
// A fiber runs until it blocks (IO, Mutex, WaitQueue, sleep) or yields; then the
// scheduler runs another ready fiber, chosen by the Reactor, or asks the Reactor for the
// next event when none is ready. Engine "threads" (flush thread, writeback worker,
// bitmap daemon) are fibers; a daemon fiber does not keep Run() going.
//
// Run() reports, instead of hanging or crashing:
//   - an exception escaping a fiber (names the fiber and the message);
//   - a deadlock: no ready fiber, no pending event, some fiber still blocked (names
//     every blocked fiber and what it waits for);
//   - a time limit reached while fibers are still alive (a livelock or a stuck daemon).
// Stop() halts everything at once: no fiber runs again. This is how a power cut looks
// to the engine. Fibers that never finished are unwound when the Scheduler is destroyed
// (or by AbandonAll()): the call they are suspended in throws an internal exception
// (not a std::exception), so engine code must not swallow exceptions with catch (...),
// and destructors on fiber stacks must not block.
//
// Every stack switch is announced to AddressSanitizer in ASan builds, so fibers run
// under ASan without false reports.
//
// Stacks come from a pooled allocator, so spawning a fiber per IO is cheap.
//
// Threading: not thread-safe; all calls from the thread that calls Run(). Blocking
// calls (Block, Yield, SleepFor, Join) only from inside a fiber. Wake may also be called
// from Reactor callbacks.
#ifndef POWERCUT_ENGINE_RUNTIME_SCHEDULER_H_
#define POWERCUT_ENGINE_RUNTIME_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/context/fiber.hpp>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "engine/runtime/reactor.h"
#include "engine/runtime/time.h"

namespace powercut::runtime {

struct FiberState;

// A reference to a spawned fiber, for Join() and diagnostics. Cheap to copy.
class Fiber {
 public:
  Fiber() = default;
  uint64_t id() const;
  const std::string& name() const;
  bool done() const;

 private:
  friend class Scheduler;
  explicit Fiber(std::shared_ptr<FiberState> state) : state_(std::move(state)) {}
  std::shared_ptr<FiberState> state_;
};

enum class FiberKind { kWorker, kDaemon };

// Identifies one blocking episode of a fiber, so a stale wake-up (e.g. a timeout that
// fires after the fiber was already notified) is ignored.
struct WakeToken {
  uint64_t fiber_id = 0;
  uint64_t episode = 0;
};

class Scheduler {
 public:
  static constexpr size_t kDefaultStackBytes = 256 * 1024;

  explicit Scheduler(Reactor& reactor, size_t stack_bytes = kDefaultStackBytes);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Creates a ready fiber. May be called before Run(), from a fiber, or from a callback.
  Fiber Spawn(std::string name, absl::AnyInvocable<void()> body,
              FiberKind kind = FiberKind::kWorker);

  // Runs fibers and events until every worker fiber finished (OK), Stop() was called
  // (Cancelled), a fiber threw (Internal), a deadlock (FailedPrecondition) or
  // `time_limit` passed with workers alive (DeadlineExceeded).
  [[nodiscard]] absl::Status Run(std::optional<Nanos> time_limit = std::nullopt);

  // Halts the world: Run() returns after the current step and nothing runs again.
  // Callable from a fiber (which is then never resumed) or a reactor callback.
  void Stop(std::string reason);
  bool stopped() const { return stopped_; }

  // Stops after `steps` more scheduling steps (a fiber resumption or a reactor poll);
  // the simulator uses this to place a crash at a seeded instant.
  void StopAfterSteps(uint64_t steps);
  uint64_t steps() const { return steps_; }

  // Unwinds every unfinished fiber now. Their stacks' destructors run; none may block.
  void AbandonAll();

  // --- Calls from inside a fiber -------------------------------------------------
  Nanos Now() const { return reactor_.Now(); }
  void Yield();
  void SleepFor(Nanos duration);
  void SleepUntil(Nanos deadline);
  void Join(const Fiber& fiber);

  // Primitive for synchronisation objects. Prepare() returns the token a waker must
  // pass to Wake(); Block() suspends the current fiber until Wake(token) or, if given,
  // `deadline`. Returns true if woken, false on timeout. `what` names the wait for
  // deadlock reports and must outlive the wait.
  WakeToken PrepareBlock();
  bool Block(WakeToken token, std::string_view what,
             std::optional<Nanos> deadline = std::nullopt);
  // Makes the fiber of `token` ready if it is still in that blocking episode.
  void Wake(WakeToken token);

  // The running fiber, or nullptr on the scheduler's own context.
  const FiberState* current() const { return current_; }
  std::string CurrentName() const;
  uint64_t CurrentId() const;

  size_t live_fibers() const { return live_.size(); }

  // Called with (fiber id, fiber name) each time a fiber is resumed; the simulator
  // folds this into its trace hash.
  void SetSwitchObserver(absl::AnyInvocable<void(uint64_t, std::string_view)> observer) {
    switch_observer_ = std::move(observer);
  }

 private:
  void MakeReady(FiberState* fiber);
  FiberState* TakeReady();
  FiberState* NextDirect();
  void Enter(FiberState* fiber);
  void Arrive(boost::context::fiber&& from, void* fake_stack);
  void Resume(FiberState* fiber);
  void SuspendCurrent();
  bool WorkersAlive() const { return live_workers_ > 0; }
  std::string DescribeBlocked() const;
  bool CountStep();  // false if the step budget is spent (the world stops)
  void Reap(FiberState* fiber);

  Reactor& reactor_;
  struct StackPool;
  std::unique_ptr<StackPool> stacks_;
  std::map<uint64_t, std::shared_ptr<FiberState>> live_;  // ordered: deterministic reports
  std::vector<FiberState*> ready_;  // FIFO from ready_head_ (a vector: cheap to index)
  size_t ready_head_ = 0;
  FiberState* current_ = nullptr;
  uint64_t next_id_ = 1;
  uint64_t next_episode_ = 1;
  size_t live_workers_ = 0;
  bool stopped_ = false;
  bool abandoning_ = false;
  std::string stop_reason_;
  std::string failure_;  // first exception escaping a fiber
  uint64_t steps_ = 0;
  std::optional<uint64_t> stop_at_step_;
  uint64_t step_limit_ = ~uint64_t{0};  // *stop_at_step_, or never
  std::optional<Nanos> time_limit_;     // of the current Run()
  absl::AnyInvocable<void(uint64_t, std::string_view)> switch_observer_;
};

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_SCHEDULER_H_
