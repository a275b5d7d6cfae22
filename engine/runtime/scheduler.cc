#include "engine/runtime/scheduler.h"

#include <algorithm>
#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <exception>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/runtime/fiber_state.h"  // POWERCUT_ASAN

#if defined(POWERCUT_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace powercut::runtime {
namespace {

// Thrown inside an abandoned fiber (AbandonAll) to unwind its stack. Deliberately not
// a std::exception, so engine code catching std::exception does not swallow it.
struct FiberAbandoned {};

inline void AsanUnpoison(const void* bottom, size_t size) {
#if defined(POWERCUT_ASAN)
  __asan_unpoison_memory_region(bottom, size);
#else
  (void)bottom;
  (void)size;
#endif
}

// Hands out pooled stacks and remembers the bounds of the last one (Boost allocates it
// inside the fiber constructor), for the ASan annotations.
//
// Stacks are "coloured": each starts a different multiple of kColorBytes below its
// page-aligned top. Pooled stacks are otherwise congruent modulo 4 KiB, so two fibers
// running the same code save and restore registers at addresses that alias in the
// CPU's store-to-load forwarding (4K aliasing), which made a fiber switch ~40% slower.
class BoundsRecordingStackAllocator {
 public:
  explicit BoundsRecordingStackAllocator(size_t bytes) : pool_(bytes) {}
  boost::context::stack_context allocate() {
    last_ = pool_.allocate();
    // A reused stack still carries ASan's poisoning of its last fiber's frames, which
    // a new colour would put Boost's fiber record on top of.
    AsanUnpoison(static_cast<char*>(last_.sp) - last_.size, last_.size);
    const size_t offset = (next_color_++ % kColors) * kColorBytes;
    last_.sp = static_cast<char*>(last_.sp) - offset;
    last_.size -= offset;
    return last_;
  }
  void deallocate(boost::context::stack_context& stack) noexcept {
    const uintptr_t top = reinterpret_cast<uintptr_t>(stack.sp);
    const uintptr_t aligned = (top + kPage - 1) & ~(kPage - 1);
    stack.size += aligned - top;
    stack.sp = reinterpret_cast<void*>(aligned);
    pool_.deallocate(stack);
  }
  StackBounds last_bounds() const {
    return {static_cast<char*>(last_.sp) - last_.size, last_.size};
  }

 private:
  static constexpr size_t kColors = 15;
  static constexpr size_t kColorBytes = 272;
  static constexpr uintptr_t kPage = 4096;
  boost::context::pooled_fixedsize_stack pool_;
  boost::context::stack_context last_;
  size_t next_color_ = 0;
};

}  // namespace

uint64_t Fiber::id() const { return state_->id; }
const std::string& Fiber::name() const { return state_->name; }
bool Fiber::done() const { return state_->status == FiberState::Status::kDone; }

struct Scheduler::StackPool {
  explicit StackPool(size_t bytes) : allocator(bytes) {}
  BoundsRecordingStackAllocator allocator;
};

void Scheduler::ThrowAbandoned() { throw FiberAbandoned{}; }

Scheduler::Scheduler(Reactor& reactor, size_t stack_bytes)
    : reactor_(reactor),
      oldest_first_(reactor.AlwaysChoosesOldest()),
      stacks_(std::make_unique<StackPool>(stack_bytes)) {}

Scheduler::~Scheduler() { AbandonAll(); }

Fiber Scheduler::Spawn(std::string name, absl::AnyInvocable<void()> body, FiberKind kind) {
  auto state = std::make_shared<FiberState>();
  FiberState* fiber = state.get();
  fiber->id = next_id_++;
  fiber->name = std::move(name);
  fiber->kind = kind;
  fiber->body = std::move(body);
  fiber->context = boost::context::fiber(
      std::allocator_arg, stacks_->allocator,
      [this, fiber](boost::context::fiber&& from) {
        Arrive(std::move(from), nullptr);
        if (!abandoning_) {
          try {
            fiber->body();
          } catch (const FiberAbandoned&) {
            // AbandonAll(): the stack is unwound; nothing to report.
          } catch (const AssertionFailure& failure) {
            RecordAssertion(failure, absl::StrCat("fiber #", fiber->id, " '", fiber->name, "'"));
          } catch (const std::bad_alloc&) {
            if (failure_.empty()) {
              failure_ = absl::StrCat("fiber #", fiber->id, " '", fiber->name,
                                      "' ran out of memory");
              out_of_memory_ = true;
            }
          } catch (const std::exception& e) {
            if (failure_.empty()) {
              failure_ = absl::StrCat("fiber #", fiber->id, " '", fiber->name,
                                      "' threw: ", e.what());
            }
          } catch (...) {
            if (failure_.empty()) {
              failure_ = absl::StrCat("fiber #", fiber->id, " '", fiber->name,
                                      "' threw a non-std exception");
            }
          }
        }
        fiber->body = nullptr;
        fiber->status = FiberState::Status::kDone;
        switch_.back = fiber;
        switch_.save_to = nullptr;  // a finished fiber leaves nothing to resume
        switch_.from_loop = false;
        AsanStartSwitch(nullptr, switch_.loop_stack);  // this stack is finished
        return std::move(switch_.loop);
      });
  fiber->stack = stacks_->allocator.last_bounds();
  if (kind == FiberKind::kWorker) ++live_workers_;
  live_.Add(state);
  MakeReady(fiber);
  return Fiber(std::move(state));
}

void Scheduler::Resume(FiberState* fiber) {
  Enter(fiber);
  switch_.save_to = &switch_.loop;
  switch_.from_loop = true;
  AsanStartSwitch(&switch_.loop_fake_stack, fiber->stack);
  Arrive(std::move(fiber->context).resume(), switch_.loop_fake_stack);
  // Some fiber, not necessarily `fiber`, came back to the loop.
  FiberState* back = switch_.back;
  current_ = nullptr;
  if (back->status == FiberState::Status::kDone) Reap(back);
}

void Scheduler::Reap(FiberState* fiber) {
  for (const WakeToken& joiner : fiber->joiners) Wake(joiner);
  fiber->joiners.clear();
  if (fiber->kind == FiberKind::kWorker) --live_workers_;
  live_.Remove(fiber->id);  // the Fiber handles keep the state for done()
}

bool Scheduler::CountStep() {
  if (stop_at_step_ && steps_ >= *stop_at_step_) {
    Stop(absl::StrCat("stopped at step ", steps_));
    return false;
  }
  ++steps_;
  return true;
}

absl::Status Scheduler::Run(std::optional<Nanos> time_limit, std::optional<uint64_t> step_budget) {
  time_limit_ = time_limit;
  budget_end_ = step_budget ? std::optional<uint64_t>(steps_ + *step_budget) : std::nullopt;
  LimitSteps();
  while (true) {
    if (!failure_.empty()) {
      if (failed_assertion_) return absl::AbortedError(failure_);
      return out_of_memory_ ? absl::ResourceExhaustedError(failure_)
                            : absl::InternalError(failure_);
    }
    if (stopped_) return absl::CancelledError(stop_reason_);
    if (!WorkersAlive()) return absl::OkStatus();
    if (time_limit && Now() > *time_limit) {
      return absl::DeadlineExceededError(
          absl::StrCat("time limit ", time_limit->count(), " ns reached with fibers alive: ",
                       DescribeBlocked()));
    }
    if (budget_end_ && steps_ >= *budget_end_) {
      return absl::DeadlineExceededError(absl::StrCat(
          "step budget of ", *step_budget, " scheduling steps spent at ", Now().count(),
          " ns with fibers alive (a fiber that never blocks?): ", DescribeBlocked()));
    }
    if (!CountStep()) continue;
    if (!ready_.empty()) {
      Resume(TakeReady());
      continue;
    }
    bool ran = false;
    try {
      ran = reactor_.RunNext();
    } catch (const AssertionFailure& failure) {
      RecordAssertion(failure, "an event callback");
      continue;
    }
    if (!ran) {
      return absl::FailedPreconditionError(absl::StrCat(
          "deadlock: no fiber can run and no event is pending: ", DescribeBlocked()));
    }
  }
}

void Scheduler::RecordAssertion(const AssertionFailure& failure, std::string_view where) {
  if (!failure_.empty()) return;
  failure_ = absl::StrCat(std::string(where), ": ", failure.Describe());
  failed_assertion_ = failure;
}

void Scheduler::Stop(std::string reason) {
  if (!stopped_) {
    stopped_ = true;
    step_limit_ = 0;
    stop_reason_ = std::move(reason);
  }
  if (current_ != nullptr) {
    current_->status = FiberState::Status::kBlocked;
    current_->waiting_for = "the world to stop";
    SuspendCurrent();
  }
}

void Scheduler::StopAfterSteps(uint64_t steps) {
  stop_at_step_ = steps_ + steps;
  LimitSteps();
}

void Scheduler::LimitSteps() {
  if (stopped_) return;
  step_limit_ = std::min(stop_at_step_.value_or(~uint64_t{0}), budget_end_.value_or(~uint64_t{0}));
}

void Scheduler::AbandonAll() {
  abandoning_ = true;
  stopped_ = true;
  step_limit_ = 0;
  ready_.Clear();
  // Resume every unfinished fiber once, in id order: its pending switch throws
  // FiberAbandoned, which unwinds its stack (running destructors) to the fiber's
  // entry, where it ends. A fiber that never started just ends.
  while (!live_.empty()) {
    std::shared_ptr<FiberState> state = live_.front();
    if (state->context) Resume(state.get());
    if (live_.Find(state->id) != nullptr) {
      // It swallowed the unwind (catch (...) without rethrow) and did not finish;
      // Boost's forced unwind is the last resort.
      live_.Remove(state->id);
      state->context = boost::context::fiber();
    }
  }
  live_workers_ = 0;
  abandoning_ = false;
}

void Scheduler::SleepFor(Nanos duration) { SleepUntil(Now() + duration); }

void Scheduler::SleepUntil(Nanos deadline) {
  WakeToken token = PrepareBlock();
  Block(token, "sleep", deadline);
}

void Scheduler::Join(const Fiber& fiber) {
  if (fiber.done()) return;
  WakeToken token = PrepareBlock();
  fiber.state_->joiners.push_back(token);
  Block(token, "join");
}

WakeToken Scheduler::PrepareBlock() {
  current_->episode = next_episode_++;
  return WakeToken{current_->id, current_->episode};
}

bool Scheduler::Block(WakeToken token, std::string_view what, std::optional<Nanos> deadline) {
  FiberState* fiber = current_;
  fiber->status = FiberState::Status::kBlocked;
  fiber->waiting_for = what;
  fiber->timed_out = false;
  if (deadline) {
    reactor_.CallAt(*deadline, [this, token] {
      FiberState* sleeper = live_.Find(token.fiber_id);
      if (sleeper == nullptr) return;
      if (sleeper->status == FiberState::Status::kBlocked && sleeper->episode == token.episode) {
        sleeper->timed_out = true;
        sleeper->episode = 0;
        MakeReady(sleeper);
      }
    });
  }
  SuspendCurrent();
  fiber->episode = 0;
  fiber->waiting_for = {};
  return !fiber->timed_out;
}

void Scheduler::Wake(WakeToken token) {
  FiberState* fiber = live_.Find(token.fiber_id);
  if (fiber == nullptr) return;
  if (fiber->status != FiberState::Status::kBlocked || fiber->episode != token.episode) return;
  fiber->episode = 0;
  MakeReady(fiber);
}

std::string Scheduler::CurrentName() const { return current_ ? current_->name : "scheduler"; }
uint64_t Scheduler::CurrentId() const { return current_ ? current_->id : 0; }

std::string Scheduler::DescribeBlocked() const {
  std::string out;
  for (const std::shared_ptr<FiberState>& state : live_) {
    if (!out.empty()) out += "; ";
    absl::StrAppend(&out, "#", state->id, " '", state->name, "'");
    if (state->kind == FiberKind::kDaemon) out += " (daemon)";
    switch (state->status) {
      case FiberState::Status::kBlocked:
        out += " blocked on ";
        out += state->waiting_for;
        break;
      case FiberState::Status::kReady:
        out += " ready";
        break;
      case FiberState::Status::kRunning:
        out += " running";
        break;
      case FiberState::Status::kDone:
        out += " done";
        break;
    }
  }
  return out.empty() ? "no fibers" : out;
}

}  // namespace powercut::runtime
