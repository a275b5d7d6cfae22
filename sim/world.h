// World: one deterministic simulated universe, built from a seed.
//
// It is the Reactor of its Scheduler: a virtual clock and an event queue. When no fiber
// is ready, time jumps to the earliest pending event. Everything that could make two
// runs of one seed differ is decided here, by the seed:
//   - simultaneous events run in an order drawn when they are scheduled;
//   - among several ready fibers, the one to run is drawn at each step;
//   - components (devices, workloads, crash choices) get their own streams through
//     ForkPrng(label), so adding draws to one never shifts another.
// Every scheduling decision and every device event goes into the Trace; its hash is the
// run's fingerprint (same seed -> same hash, asserted in tests).
//
// A power cut is Crash(): the scheduler stops and no fiber or event runs again; each
// device then yields a crash image (sim_ssd.h, sim_pmem.h).
//
// On real devices (`powercut parity`, engine/posix) a World can be built over another
// Reactor: time and events are then that reactor's (the monotonic clock, io_uring) and
// ready fibers run oldest first; the seed still gives the components' streams and the
// trace still records, but nothing about the run is deterministic any more.
//
// Lifetime: objects that fibers use (devices, engines) must outlive the fibers, so
// call Halt() before destroying them if fibers may still be alive.
//
// Threading: single-threaded.
#ifndef POWERCUT_SIM_WORLD_H_
#define POWERCUT_SIM_WORLD_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "engine/runtime/reactor.h"
#include "engine/runtime/scheduler.h"
#include "sim/prng.h"
#include "sim/trace.h"

namespace powercut::sim {

class World final : public runtime::Reactor {
 public:
  explicit World(uint64_t seed);
  // A world whose time and events are `events`'s (not owned; must outlive the world).
  World(uint64_t seed, runtime::Reactor& events);
  ~World() override;
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  uint64_t seed() const { return seed_; }
  runtime::Scheduler& scheduler() { return scheduler_; }
  const runtime::Scheduler& scheduler() const { return scheduler_; }
  Trace& trace() { return trace_; }
  Prng ForkPrng(std::string_view label) const { return Prng(seed_).Fork(label); }

  // Records an event stamped with the current virtual time.
  void Record(std::string_view actor, std::string_view op, uint64_t id = 0,
              uint64_t sector = 0, uint64_t sectors = 0, std::string_view flags = {});

  // Runs until every worker fiber finishes (see Scheduler::Run for the other outcomes).
  [[nodiscard]] absl::Status Run(std::optional<runtime::Nanos> time_limit = std::nullopt,
                                 std::optional<uint64_t> step_budget = std::nullopt) {
    return scheduler_.Run(time_limit, step_budget);
  }
  // Arranges a power cut after `steps` more scheduling steps.
  void CrashAfterSteps(uint64_t steps) { scheduler_.StopAfterSteps(steps); }
  // Cuts the power now.
  void Crash() { scheduler_.Stop("power cut"); }
  // Unwinds every fiber still alive (after a crash) and drops pending events.
  void Halt();

  // runtime::Reactor
  runtime::Nanos Now() const override { return real_ != nullptr ? real_->Now() : now_; }
  void CallAt(runtime::Nanos when, absl::AnyInvocable<void()> callback) override;
  bool RunNext() override;
  size_t ChooseRunnable(size_t runnable) override;
  bool AlwaysChoosesOldest() const override { return real_ != nullptr; }

  size_t pending_events() const { return queue_.size(); }

 private:
  World(uint64_t seed, runtime::Reactor* real);

  // The heap holds small trivially copied keys; the callbacks stay put in slots, so
  // sifting moves 24 bytes, not a callable.
  struct Event {
    runtime::Nanos when;
    uint64_t tiebreak;
    uint32_t slot;  // in callbacks_
  };
  static bool Later(const Event& a, const Event& b) {
    return a.when != b.when ? a.when > b.when : a.tiebreak > b.tiebreak;
  }

  uint64_t seed_;
  runtime::Reactor* real_ = nullptr;  // set: every Reactor call goes there
  Prng schedule_prng_;  // fiber choice and event ties
  runtime::Nanos now_{0};
  std::vector<Event> queue_;  // a binary min-heap under Later
  std::vector<absl::AnyInvocable<void()>> callbacks_;  // by slot; empty when free
  std::vector<uint32_t> free_slots_;
  Trace trace_;
  runtime::Scheduler scheduler_;  // last: destroyed (fibers unwound) first
};

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_WORLD_H_
