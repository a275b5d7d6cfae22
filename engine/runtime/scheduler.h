// Scheduler: cooperative fibers on one OS thread, over boost::context::fiber.
//
// A fiber runs until it blocks (IO, Mutex, WaitQueue, sleep) or yields; then the
// scheduler runs another ready fiber, chosen by the Reactor, or asks the Reactor for the
// next event when none is ready. Engine "threads" (flush thread, writeback worker,
// bitmap daemon) are fibers; a daemon fiber does not keep Run() going.
//
// Run() reports, instead of hanging or crashing:
//   - an exception escaping a fiber (names the fiber and the message; a std::bad_alloc
//     is ResourceExhausted, the machine's limit rather than the engine's failure);
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
// The switch path (Yield, and the hand-off inside every blocking call) is inline. A
// context switch with Boost.Context is a call into jump_fcontext that never returns
// through the CPU's return-stack predictor, so the first `ret` executed after a switch
// is mispredicted; an inline Yield in a fiber's loop executes none, which makes a
// yield cost little more than the bare switch (bench/runtime_bench.cc).
//
// Threading: not thread-safe; all calls from the thread that calls Run(). Blocking
// calls (Block, Yield, SleepFor, Join) only from inside a fiber. Wake may also be called
// from Reactor callbacks.
#ifndef POWERCUT_ENGINE_RUNTIME_SCHEDULER_H_
#define POWERCUT_ENGINE_RUNTIME_SCHEDULER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/context/fiber.hpp>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "engine/runtime/assertion.h"
#include "engine/runtime/fiber_state.h"
#include "engine/runtime/live_fibers.h"
#include "engine/runtime/reactor.h"
#include "engine/runtime/ready_queue.h"
#include "engine/runtime/time.h"

namespace powercut::runtime {

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
  // (Cancelled), a fiber threw (Internal), an assertion failed in a fiber or an event
  // callback (Aborted; see failed_assertion()), a deadlock (FailedPrecondition),
  // `time_limit` passed with workers alive, or `step_budget` scheduling steps of this
  // call spent with workers alive (DeadlineExceeded: the watchdog for a fiber that
  // never blocks, which virtual time alone cannot catch).
  [[nodiscard]] absl::Status Run(std::optional<Nanos> time_limit = std::nullopt,
                                 std::optional<uint64_t> step_budget = std::nullopt);
  // The assertion (engine/runtime/assertion.h) that ended a run, if one did.
  const std::optional<AssertionFailure>& failed_assertion() const { return failed_assertion_; }

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
  // Who switches and who arrives: set by the side that switches, used by the side that
  // arrives (Arrive).
  struct Switch {
    boost::context::fiber loop;  // the scheduler loop (Run), suspended while a fiber runs
    StackBounds loop_stack;      // learned at the first switch from the loop
    void* loop_fake_stack = nullptr;
    // Where the context just left must be kept (nullptr: a finished fiber, nothing to
    // keep), and whether it was the loop (so ASan learns the loop's stack bounds).
    boost::context::fiber* save_to = nullptr;
    bool from_loop = false;
    FiberState* back = nullptr;  // the fiber that last switched back to the loop
  };

  void MakeReady(FiberState* fiber);
  FiberState* TakeReady();
  bool MayHandOffDirectly();
  FiberState* NextDirect();
  void Enter(FiberState* fiber);
  void Arrive(boost::context::fiber&& from, void* fake_stack);
  // Keeps the first failure: `failure`, seen in `where` (a fiber or an event callback).
  void RecordAssertion(const AssertionFailure& failure, std::string_view where);
  void Resume(FiberState* fiber);
  void SuspendCurrent();
  void SwitchAway(FiberState* self, FiberState* next);
  [[noreturn]] static void ThrowAbandoned();
  bool WorkersAlive() const { return live_workers_ > 0; }
  std::string DescribeBlocked() const;
  bool CountStep();  // false at the step StopAfterSteps named (the world stops)
  void LimitSteps();  // step_limit_ from stop_at_step_ and budget_end_
  void Reap(FiberState* fiber);

  Reactor& reactor_;
  const bool oldest_first_;  // reactor_.AlwaysChoosesOldest()
  struct StackPool;
  std::unique_ptr<StackPool> stacks_;
  Switch switch_;
  LiveFibers live_;
  ReadyQueue ready_;
  FiberState* current_ = nullptr;
  uint64_t next_id_ = 1;
  uint64_t next_episode_ = 1;
  size_t live_workers_ = 0;
  bool stopped_ = false;
  bool abandoning_ = false;
  std::string stop_reason_;
  std::string failure_;  // first exception escaping a fiber, or failed assertion
  std::optional<AssertionFailure> failed_assertion_;
  bool out_of_memory_ = false;  // failure_ is a std::bad_alloc: Run says ResourceExhausted
  uint64_t steps_ = 0;
  std::optional<uint64_t> stop_at_step_;
  std::optional<uint64_t> budget_end_;  // the step the current Run()'s budget ends at
  // The last step a fiber may hand the CPU straight to another one: the earlier of
  // *stop_at_step_ and *budget_end_, or never; 0 once stopped (the loop then reports
  // why). Failures and finished workers
  // need no check there: a fiber that throws or finishes always returns to the loop.
  uint64_t step_limit_ = ~uint64_t{0};
  std::optional<Nanos> time_limit_;     // of the current Run()
  absl::AnyInvocable<void(uint64_t, std::string_view)> switch_observer_;
};

// --- The switch path, inline (see the file comment) ---------------------------------

[[gnu::always_inline]] inline void Scheduler::MakeReady(FiberState* fiber) {
  if (abandoning_) return;
  fiber->status = FiberState::Status::kReady;
  ready_.Push(fiber);
}

[[gnu::always_inline]] inline FiberState* Scheduler::TakeReady() {
  const size_t runnable = ready_.size();
  return ready_.Take(runnable == 1 || oldest_first_ ? 0 : reactor_.ChooseRunnable(runnable));
}

// Whether the loop, were it to run now, would resume a ready fiber rather than act
// itself: checks that decide as the loop's would (a stop zeroes step_limit_; see there
// for failures and finished workers).
[[gnu::always_inline]] inline bool Scheduler::MayHandOffDirectly() {
  return steps_ < step_limit_ && !(time_limit_ && Now() > *time_limit_);
}

// What one more turn of Run()'s loop would resume, when that is a fiber: the same step
// count and reactor draw. nullptr when the loop itself must act (stop, failure, time
// limit, step budget, events, the end).
[[gnu::always_inline]] inline FiberState* Scheduler::NextDirect() {
  if (ready_.empty() || !MayHandOffDirectly()) return nullptr;
  ++steps_;
  return TakeReady();
}

[[gnu::always_inline]] inline void Scheduler::Enter(FiberState* fiber) {
  current_ = fiber;
  fiber->status = FiberState::Status::kRunning;
  if (switch_observer_ && !abandoning_) switch_observer_(fiber->id, fiber->name);
}

// Runs first on the side that was switched to.
[[gnu::always_inline]] inline void Scheduler::Arrive(boost::context::fiber&& from, void* fake_stack) {
  StackBounds ignored;
  AsanFinishSwitch(fake_stack, switch_.from_loop ? &switch_.loop_stack : &ignored);
  if (switch_.save_to != nullptr) *switch_.save_to = std::move(from);
}

// Leaves the current fiber: straight to the next ready fiber when the loop would pick
// one anyway (one switch instead of two), otherwise back to the loop.
[[gnu::always_inline]] inline void Scheduler::SuspendCurrent() {
  FiberState* self = current_;
  if (abandoning_) ThrowAbandoned();  // blocking while being unwound: keep unwinding
  SwitchAway(self, NextDirect());
}

// To `next`, or to the loop when it is nullptr; nothing when `next` is `self`.
[[gnu::always_inline]] inline void Scheduler::SwitchAway(FiberState* self, FiberState* next) {
  if (next == self) {  // the yielding fiber was chosen again: no switch at all
    Enter(self);
    return;
  }
  switch_.save_to = &self->context;
  switch_.from_loop = false;
  if (next == nullptr) {
    switch_.back = self;
    AsanStartSwitch(&self->fake_stack, switch_.loop_stack);
    Arrive(std::move(switch_.loop).resume(), self->fake_stack);
  } else {
    Enter(next);
    AsanStartSwitch(&self->fake_stack, next->stack);
    Arrive(std::move(next->context).resume(), self->fake_stack);
  }
  if (abandoning_) ThrowAbandoned();
}

// MakeReady(current_) then SuspendCurrent(); when the oldest ready fiber runs next
// anyway, the queue's push and take are one rotation.
[[gnu::always_inline]] inline void Scheduler::Yield() {
  FiberState* self = current_;
  if (abandoning_) ThrowAbandoned();
  if (oldest_first_ && MayHandOffDirectly()) {
    self->status = FiberState::Status::kReady;
    ++steps_;
    SwitchAway(self, ready_.RotateOldest(self));
    return;
  }
  MakeReady(self);
  SuspendCurrent();
}

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_SCHEDULER_H_
