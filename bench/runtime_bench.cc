// Fiber-switch benchmarks: what one hand-off between fibers costs, bare and through the
// runtime.
//
// A "switch" is one hand-off of the CPU from one execution context to the next:
//   - BM_FiberSwitch_Bare: a bare boost::context::fiber ping-pong (resume into a fiber
//     that immediately resumes back); one switch = one resume().
//   - BM_FiberSwitch_Runtime: two fibers on a runtime::Scheduler, each calling Yield()
//     in a loop, driven by a minimal FIFO reactor (ChooseRunnable returns 0, no events);
//     one switch = one scheduling step (A -> B directly when the next step would
//     resume a ready fiber anyway; through the scheduler loop when it must poll events).
//   - BM_FiberSwitch_World: the same under sim::World (seeded choice among the ready
//     fibers, every resumption folded into the trace hash).
//   - BM_FiberSwitch_WaitQueue: two fibers handing the CPU to each other by blocking,
//     each notifying the other's WaitQueue and waiting on its own (one switch = one
//     wake-up plus one blocking hand-off; what engine fibers waiting for IO pay).
//   - BM_FiberSwitch_Ratio: all three measured back to back in one process; counters
//     bare_ns, runtime_ns, world_ns (per switch), ratio = runtime_ns / bare_ns,
//     world_ratio = world_ns / bare_ns, and ratio_per_resume = runtime_ns / (2 * bare_ns)
//     (the bookkeeping overhead once the scheduler's extra hop is paid for).
// Every benchmark reports ns_per_switch (thread CPU time per switch).
//
// Target: runtime overhead at most 1.5x the bare resume (ratio <= 1.5).
#include <benchmark/benchmark.h>

#include <boost/context/fiber.hpp>
#include <cstdint>
#include <ctime>
#include <deque>
#include <stdexcept>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "engine/runtime/reactor.h"
#include "engine/runtime/scheduler.h"
#include "engine/runtime/sync.h"
#include "sim/world.h"

namespace powercut::bench {
namespace {

namespace ctx = boost::context;

// The derived per-switch figures use this thread's CPU time, like Google Benchmark's
// rates, so other processes on a busy machine do not inflate them.
double CpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double NanosSince(double start) { return CpuNanos() - start; }

// The smallest Reactor: no time, callbacks in submission order, the oldest ready fiber
// first. Nothing in these benchmarks schedules an event; CallAt is here for completeness.
class FifoReactor : public runtime::Reactor {
 public:
  runtime::Nanos Now() const override { return runtime::Nanos(0); }
  void CallAt(runtime::Nanos, absl::AnyInvocable<void()> callback) override {
    pending_.push_back(std::move(callback));
  }
  bool RunNext() override {
    if (pending_.empty()) return false;
    absl::AnyInvocable<void()> callback = std::move(pending_.front());
    pending_.pop_front();
    callback();
    return true;
  }
  size_t ChooseRunnable(size_t) override { return 0; }
  bool AlwaysChoosesOldest() const override { return true; }

 private:
  std::deque<absl::AnyInvocable<void()>> pending_;
};

// A fiber that hands control straight back to whoever resumed it, forever. Destroying
// it unwinds its stack (Boost throws forced_unwind out of the pending resume()).
class BarePingPong {
 public:
  BarePingPong()
      : fiber_([](ctx::fiber&& caller) {
          while (true) caller = std::move(caller).resume();
          return std::move(caller);
        }) {}

  // Two switches: into the fiber and back.
  void RoundTrip() { fiber_ = std::move(fiber_).resume(); }

 private:
  ctx::fiber fiber_;
};

// Runs `switches` bare resumes; returns the elapsed nanoseconds.
double TimeBare(BarePingPong& pingpong, int64_t switches) {
  const double start = CpuNanos();
  for (int64_t i = 0; i < switches; i += 2) pingpong.RoundTrip();
  return NanosSince(start);
}

// Two fibers on `scheduler` yield to each other until `switches` scheduling steps have
// run; returns the elapsed nanoseconds of Run() and stores the steps taken.
double TimeYields(runtime::Scheduler& scheduler, int64_t switches, int64_t* steps) {
  const uint64_t first = scheduler.steps();
  const uint64_t last = first + static_cast<uint64_t>(switches);
  auto yielder = [&scheduler, last] {
    while (scheduler.steps() < last) scheduler.Yield();
  };
  scheduler.Spawn("a", yielder);
  scheduler.Spawn("b", yielder);
  const double start = CpuNanos();
  absl::Status status = scheduler.Run();
  const double elapsed = NanosSince(start);
  if (!status.ok()) throw std::runtime_error(status.ToString());
  *steps = static_cast<int64_t>(scheduler.steps() - first);
  return elapsed;
}

void BM_FiberSwitch_Bare(benchmark::State& state) {
  BarePingPong pingpong;
  const double start = CpuNanos();
  for (auto _ : state) pingpong.RoundTrip();
  const double elapsed = NanosSince(start);
  const double switches = 2.0 * static_cast<double>(state.iterations());
  state.counters["ns_per_switch"] = elapsed / switches;
  state.counters["switches_per_second"] =
      benchmark::Counter(switches, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FiberSwitch_Bare);

// Fiber "a" runs the benchmark loop, calling `a_turn` once per iteration; fiber "b" calls
// `b_turn` until "a" is done, which "a" then tells it with `release_b`. Reports the CPU
// time per scheduling step of the loop.
template <typename ATurn, typename BTurn, typename Release>
void HandOffLoop(benchmark::State& state, runtime::Scheduler& scheduler, ATurn a_turn,
                 BTurn b_turn, Release release_b) {
  bool done = false;
  double elapsed = 0;
  uint64_t steps = 0;
  scheduler.Spawn("a", [&] {
    const uint64_t first_step = scheduler.steps();
    const double start = CpuNanos();
    for (auto _ : state) a_turn();
    elapsed = NanosSince(start);
    steps = scheduler.steps() - first_step;
    done = true;
    release_b();
  });
  scheduler.Spawn("b", [&] {
    while (!done) b_turn();
  });
  absl::Status status = scheduler.Run();
  if (!status.ok()) {
    state.SkipWithError(status.ToString().c_str());
    return;
  }
  const double switches = static_cast<double>(steps);
  state.counters["ns_per_switch"] = elapsed / switches;
  state.counters["switches_per_second"] =
      benchmark::Counter(switches, benchmark::Counter::kIsRate);
}

// Each iteration is one Yield() by "a" and one by "b", so two scheduling steps.
void YieldLoop(benchmark::State& state, runtime::Scheduler& scheduler) {
  HandOffLoop(
      state, scheduler, [&] { scheduler.Yield(); }, [&] { scheduler.Yield(); }, [] {});
}

void BM_FiberSwitch_Runtime(benchmark::State& state) {
  FifoReactor reactor;
  runtime::Scheduler scheduler(reactor);
  YieldLoop(state, scheduler);
}
BENCHMARK(BM_FiberSwitch_Runtime);

void BM_FiberSwitch_World(benchmark::State& state) {
  sim::World world(/*seed=*/42);
  YieldLoop(state, world.scheduler());
}
BENCHMARK(BM_FiberSwitch_World);

void BM_FiberSwitch_WaitQueue(benchmark::State& state) {
  FifoReactor reactor;
  runtime::Scheduler scheduler(reactor);
  runtime::WaitQueue to_a(scheduler, "a's turn");
  runtime::WaitQueue to_b(scheduler, "b's turn");
  HandOffLoop(
      state, scheduler,
      [&] {
        to_b.NotifyOne();
        to_a.Wait();
      },
      [&] {
        to_a.NotifyOne();
        to_b.Wait();
      },
      [&] { to_b.NotifyOne(); });
}
BENCHMARK(BM_FiberSwitch_WaitQueue);

// Bare, runtime and world measured back to back, kSwitches each per iteration, so the
// ratio in the JSON compares numbers taken under the same conditions.
void BM_FiberSwitch_Ratio(benchmark::State& state) {
  constexpr int64_t kSwitches = 200'000;
  BarePingPong pingpong;
  double bare_ns = 0, runtime_ns = 0, world_ns = 0;
  int64_t bare_switches = 0, runtime_switches = 0, world_switches = 0;
  for (auto _ : state) {
    bare_ns += TimeBare(pingpong, kSwitches);
    bare_switches += kSwitches;

    FifoReactor reactor;
    runtime::Scheduler scheduler(reactor);
    int64_t steps = 0;
    runtime_ns += TimeYields(scheduler, kSwitches, &steps);
    runtime_switches += steps;

    sim::World world(/*seed=*/42);
    world_ns += TimeYields(world.scheduler(), kSwitches, &steps);
    world_switches += steps;
  }
  const double bare = bare_ns / static_cast<double>(bare_switches);
  const double runtime = runtime_ns / static_cast<double>(runtime_switches);
  const double world = world_ns / static_cast<double>(world_switches);
  state.counters["bare_ns"] = bare;
  state.counters["runtime_ns"] = runtime;
  state.counters["world_ns"] = world;
  state.counters["ratio"] = runtime / bare;
  state.counters["world_ratio"] = world / bare;
  state.counters["ratio_per_resume"] = runtime / (2 * bare);
}
BENCHMARK(BM_FiberSwitch_Ratio)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace powercut::bench
