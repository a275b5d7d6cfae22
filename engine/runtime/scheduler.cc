#include "engine/runtime/scheduler.h"

#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace powercut::runtime {

struct FiberState {
  enum class Status { kReady, kRunning, kBlocked, kDone };

  uint64_t id = 0;
  std::string name;
  FiberKind kind = FiberKind::kWorker;
  absl::AnyInvocable<void()> body;
  boost::context::fiber context;  // the fiber itself, while it is not running
  boost::context::fiber caller;   // the scheduler loop, while the fiber runs
  Status status = Status::kReady;
  uint64_t episode = 0;  // current blocking episode; 0 when not blocked
  bool timed_out = false;
  std::string_view waiting_for;
  std::vector<WakeToken> joiners;
};

uint64_t Fiber::id() const { return state_->id; }
const std::string& Fiber::name() const { return state_->name; }
bool Fiber::done() const { return state_->status == FiberState::Status::kDone; }

struct Scheduler::StackPool {
  explicit StackPool(size_t bytes) : allocator(bytes) {}
  boost::context::pooled_fixedsize_stack allocator;
};

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
      [this, fiber](boost::context::fiber&& caller) {
        fiber->caller = std::move(caller);
        try {
          fiber->body();
        } catch (const boost::context::detail::forced_unwind&) {
          throw;  // AbandonAll() unwinding this stack; let Boost finish it.
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
        fiber->body = nullptr;
        fiber->status = FiberState::Status::kDone;
        return std::move(fiber->caller);
      });
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
  current_ = fiber;
  fiber->status = FiberState::Status::kRunning;
  if (switch_observer_) switch_observer_(fiber->id, fiber->name);
  fiber->context = std::move(fiber->context).resume();
  current_ = nullptr;
  if (fiber->status == FiberState::Status::kDone) Reap(fiber);
}

void Scheduler::SuspendCurrent() {
  FiberState* fiber = current_;
  fiber->caller = std::move(fiber->caller).resume();
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
    if (!ready_.empty()) {
      size_t index = ready_.size() == 1 ? 0 : reactor_.ChooseRunnable(ready_.size());
      FiberState* fiber = ready_[index];
      ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(index));
      Resume(fiber);
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
  if (current_ != nullptr && !abandoning_) {
    current_->status = FiberState::Status::kBlocked;
    current_->waiting_for = "the world to stop";
    SuspendCurrent();
  }
}

void Scheduler::StopAfterSteps(uint64_t steps) { stop_at_step_ = steps_ + steps; }

void Scheduler::AbandonAll() {
  abandoning_ = true;
  stopped_ = true;
  ready_.clear();
  // Unwind in id order so destruction order is deterministic. Destroying a suspended
  // boost::context::fiber unwinds its stack.
  while (!live_.empty()) {
    std::shared_ptr<FiberState> state = live_.begin()->second;
    live_.erase(live_.begin());
    state->context = boost::context::fiber();
    state->caller = boost::context::fiber();
    state->body = nullptr;
  }
  live_workers_ = 0;
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
