#include "engine/runtime/scheduler.h"

#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace powercut::runtime {
namespace {

// Thrown inside an abandoned fiber (AbandonAll) to unwind its stack. Deliberately not
// a std::exception, so engine code catching std::exception does not swallow it.
struct FiberAbandoned {};

// AddressSanitizer must be told about every stack switch, or it reports false errors
// on fiber stacks (Boost.Context's assembly backend does not tell it). Outside ASan
// builds these compile to nothing.
struct StackBounds {
  const void* bottom = nullptr;
  size_t size = 0;
};

inline void AsanStartSwitch(void** fake_stack_save, const StackBounds& to) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(fake_stack_save, to.bottom, to.size);
#else
  (void)fake_stack_save;
  (void)to;
#endif
}

inline void AsanFinishSwitch(void* fake_stack_save, StackBounds* from) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(fake_stack_save, from ? &from->bottom : nullptr,
                                  from ? &from->size : nullptr);
#else
  (void)fake_stack_save;
  (void)from;
#endif
}

// Hands out pooled stacks and remembers the bounds of the last one (Boost allocates it
// inside the fiber constructor), for the ASan annotations.
class BoundsRecordingStackAllocator {
 public:
  explicit BoundsRecordingStackAllocator(size_t bytes) : pool_(bytes) {}
  boost::context::stack_context allocate() {
    last_ = pool_.allocate();
    return last_;
  }
  void deallocate(boost::context::stack_context& stack) noexcept { pool_.deallocate(stack); }
  StackBounds last_bounds() const {
    return {static_cast<char*>(last_.sp) - last_.size, last_.size};
  }

 private:
  boost::context::pooled_fixedsize_stack pool_;
  boost::context::stack_context last_;
};

}  // namespace

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

uint64_t Fiber::id() const { return state_->id; }
const std::string& Fiber::name() const { return state_->name; }
bool Fiber::done() const { return state_->status == FiberState::Status::kDone; }

struct Scheduler::StackPool {
  explicit StackPool(size_t bytes) : allocator(bytes) {}
  BoundsRecordingStackAllocator allocator;
  StackBounds scheduler_stack;  // learned at the first switch from the loop
  void* scheduler_fake_stack = nullptr;
  // The scheduler loop (Run), suspended while any fiber runs.
  boost::context::fiber loop;
  // Set by the side that switches, used by the side that arrives (Arrive): where the
  // context just left must be kept (nullptr: a finished fiber, nothing to keep), and
  // whether it was the loop (so ASan learns the loop's stack bounds).
  boost::context::fiber* save_to = nullptr;
  bool from_loop = false;
  // The fiber that last switched back to the loop.
  FiberState* back = nullptr;
};

// Runs first on the side that was switched to.
void Scheduler::Arrive(boost::context::fiber&& from, void* fake_stack) {
  StackBounds ignored;
  AsanFinishSwitch(fake_stack, stacks_->from_loop ? &stacks_->scheduler_stack : &ignored);
  if (stacks_->save_to != nullptr) *stacks_->save_to = std::move(from);
}

void Scheduler::Enter(FiberState* fiber) {
  current_ = fiber;
  fiber->status = FiberState::Status::kRunning;
  if (switch_observer_ && !abandoning_) switch_observer_(fiber->id, fiber->name);
}

FiberState* Scheduler::TakeReady() {
  const size_t runnable = ready_.size() - ready_head_;
  const size_t index = runnable == 1 ? 0 : reactor_.ChooseRunnable(runnable);
  FiberState* fiber = ready_[ready_head_ + index];
  if (index == 0) {
    ++ready_head_;
  } else {
    ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(ready_head_ + index));
  }
  if (ready_head_ == ready_.size()) {
    ready_.clear();
    ready_head_ = 0;
  } else if (ready_head_ >= 64 && 2 * ready_head_ >= ready_.size()) {
    ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(ready_head_));
    ready_head_ = 0;
  }
  return fiber;
}

// What one more turn of Run()'s loop would resume, when that is a fiber: the same
// checks in the same order, the same step count, the same reactor draw. nullptr when
// the loop itself must act (stop, failure, time limit, step budget, events, the end).
FiberState* Scheduler::NextDirect() {
  if (ready_head_ == ready_.size() || steps_ >= step_limit_ || stopped_ || abandoning_ ||
      live_workers_ == 0 || !failure_.empty()) {
    return nullptr;
  }
  if (time_limit_ && Now() > *time_limit_) return nullptr;
  ++steps_;
  return TakeReady();
}

Scheduler::Scheduler(Reactor& reactor, size_t stack_bytes)
    : reactor_(reactor), stacks_(std::make_unique<StackPool>(stack_bytes)) {}

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
        stacks_->back = fiber;
        stacks_->save_to = nullptr;  // a finished fiber leaves nothing to resume
        stacks_->from_loop = false;
        AsanStartSwitch(nullptr, stacks_->scheduler_stack);  // this stack is finished
        return std::move(stacks_->loop);
      });
  fiber->stack = stacks_->allocator.last_bounds();
  if (kind == FiberKind::kWorker) ++live_workers_;
  live_.emplace(fiber->id, state);
  MakeReady(fiber);
  return Fiber(std::move(state));
}

void Scheduler::MakeReady(FiberState* fiber) {
  if (abandoning_) return;
  fiber->status = FiberState::Status::kReady;
  ready_.push_back(fiber);
}

void Scheduler::Resume(FiberState* fiber) {
  Enter(fiber);
  stacks_->save_to = &stacks_->loop;
  stacks_->from_loop = true;
  AsanStartSwitch(&stacks_->scheduler_fake_stack, fiber->stack);
  Arrive(std::move(fiber->context).resume(), stacks_->scheduler_fake_stack);
  // Some fiber, not necessarily `fiber`, came back to the loop.
  FiberState* back = stacks_->back;
  current_ = nullptr;
  if (back->status == FiberState::Status::kDone) Reap(back);
}

// Leaves the current fiber: straight to the next ready fiber when the loop would pick
// one anyway (one switch instead of two), otherwise back to the loop.
void Scheduler::SuspendCurrent() {
  FiberState* self = current_;
  if (abandoning_) throw FiberAbandoned{};  // blocking while being unwound: keep unwinding
  FiberState* next = NextDirect();
  if (next == self) {  // the yielding fiber was chosen again: no switch at all
    Enter(self);
    return;
  }
  stacks_->save_to = &self->context;
  stacks_->from_loop = false;
  if (next == nullptr) {
    stacks_->back = self;
    AsanStartSwitch(&self->fake_stack, stacks_->scheduler_stack);
    Arrive(std::move(stacks_->loop).resume(), self->fake_stack);
  } else {
    Enter(next);
    AsanStartSwitch(&self->fake_stack, next->stack);
    Arrive(std::move(next->context).resume(), self->fake_stack);
  }
  if (abandoning_) throw FiberAbandoned{};
}

void Scheduler::Reap(FiberState* fiber) {
  for (const WakeToken& joiner : fiber->joiners) Wake(joiner);
  fiber->joiners.clear();
  if (fiber->kind == FiberKind::kWorker) --live_workers_;
  live_.erase(fiber->id);  // the Fiber handles keep the state for done()
}

bool Scheduler::CountStep() {
  if (stop_at_step_ && steps_ >= *stop_at_step_) {
    Stop(absl::StrCat("stopped at step ", steps_));
    return false;
  }
  ++steps_;
  return true;
}

absl::Status Scheduler::Run(std::optional<Nanos> time_limit) {
  time_limit_ = time_limit;
  while (true) {
    if (!failure_.empty()) return absl::InternalError(failure_);
    if (stopped_) return absl::CancelledError(stop_reason_);
    if (!WorkersAlive()) return absl::OkStatus();
    if (time_limit && Now() > *time_limit) {
      return absl::DeadlineExceededError(
          absl::StrCat("time limit ", time_limit->count(), " ns reached with fibers alive: ",
                       DescribeBlocked()));
    }
    if (!CountStep()) continue;
    if (ready_head_ != ready_.size()) {
      Resume(TakeReady());
      continue;
    }
    if (!reactor_.RunNext()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "deadlock: no fiber can run and no event is pending: ", DescribeBlocked()));
    }
  }
}

void Scheduler::Stop(std::string reason) {
  if (!stopped_) {
    stopped_ = true;
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
  step_limit_ = *stop_at_step_;
}

void Scheduler::AbandonAll() {
  abandoning_ = true;
  stopped_ = true;
  ready_.clear();
  ready_head_ = 0;
  // Resume every unfinished fiber once, in id order: its pending switch throws
  // FiberAbandoned, which unwinds its stack (running destructors) to the fiber's
  // entry, where it ends. A fiber that never started just ends.
  while (!live_.empty()) {
    std::shared_ptr<FiberState> state = live_.begin()->second;
    if (state->context) Resume(state.get());
    if (live_.count(state->id) != 0) {
      // It swallowed the unwind (catch (...) without rethrow) and did not finish;
      // Boost's forced unwind is the last resort.
      live_.erase(state->id);
      state->context = boost::context::fiber();
    }
  }
  live_workers_ = 0;
  abandoning_ = false;
}

void Scheduler::Yield() {
  MakeReady(current_);
  SuspendCurrent();
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
      auto it = live_.find(token.fiber_id);
      if (it == live_.end()) return;
      FiberState* sleeper = it->second.get();
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
  auto it = live_.find(token.fiber_id);
  if (it == live_.end()) return;
  FiberState* fiber = it->second.get();
  if (fiber->status != FiberState::Status::kBlocked || fiber->episode != token.episode) return;
  fiber->episode = 0;
  MakeReady(fiber);
}

std::string Scheduler::CurrentName() const { return current_ ? current_->name : "scheduler"; }
uint64_t Scheduler::CurrentId() const { return current_ ? current_->id : 0; }

std::string Scheduler::DescribeBlocked() const {
  std::string out;
  for (const auto& [id, state] : live_) {
    if (!out.empty()) out += "; ";
    absl::StrAppend(&out, "#", id, " '", state->name, "'");
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
