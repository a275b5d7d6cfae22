// UringReactor: the runtime's Reactor on real hardware. Time is the monotonic clock
// (nanoseconds since the reactor was made); events are io_uring completions and timers.
//
// Fibers run oldest first (AlwaysChoosesOldest); when none is ready the scheduler calls
// RunNext, which runs due timers and every completion posted, and when there was nothing
// to run, waits for a completion or the next timer.
// Submit hands a request to the kernel at once (io_uring_enter without waiting, as fio
// does: measured against batching in bench/real_io_bench.cc); while the ring is full
// requests wait in a backlog that RunNext hands over. Completions are only ever run by
// RunNext, never inside Submit.
//
//   absl::StatusOr<std::unique_ptr<UringReactor>> reactor = UringReactor::Create();
//   runtime::Scheduler scheduler(**reactor);
//   (*reactor)->Submit([&](io_uring_sqe* sqe) { io_uring_prep_fsync(sqe, fd, 0); },
//                      [](int32_t result) { /* result < 0: -errno */ });
//
// A request is an Op on the heap; its address is the entry's user_data.
//
// Threading: single-threaded, the scheduler's thread. Callbacks (timers, completions)
// run on the scheduler's context and must not block. Ownership: requests still in flight
// when the reactor is destroyed are waited for (their callbacks do not run), so buffers
// they use stay untouched by the kernel once the destructor returns.
#ifndef POWERCUT_ENGINE_POSIX_URING_REACTOR_H_
#define POWERCUT_ENGINE_POSIX_URING_REACTOR_H_

#include <liburing.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "engine/runtime/reactor.h"

namespace powercut::posix {

class UringReactor : public runtime::Reactor {
 public:
  static constexpr unsigned kDefaultQueueDepth = 256;

  // Unavailable with the reason when io_uring cannot be set up (an old kernel, or
  // io_uring_setup blocked by seccomp or kernel.io_uring_disabled).
  static absl::StatusOr<std::unique_ptr<UringReactor>> Create(
      unsigned queue_depth = kDefaultQueueDepth);
  ~UringReactor() override;
  UringReactor(const UringReactor&) = delete;
  UringReactor& operator=(const UringReactor&) = delete;

  // Submits one request: `prepare` fills the submission entry (user_data is the
  // reactor's), `done` runs with the completion's result (bytes or -errno) from RunNext.
  void Submit(absl::FunctionRef<void(io_uring_sqe*)> prepare,
              absl::AnyInvocable<void(int32_t)> done);

  // Requests queued or in flight.
  uint64_t in_flight() const { return in_flight_; }
  // Waits until the kernel is done with every request, without running their
  // callbacks (after a power cut of the scheduler: nobody may hear of them, but their
  // buffers must not be freed while the kernel still uses them). Timers are dropped.
  void Drain();

  // runtime::Reactor
  runtime::Nanos Now() const override;
  void CallAt(runtime::Nanos when, absl::AnyInvocable<void()> callback) override;
  bool RunNext() override;
  size_t ChooseRunnable(size_t) override { return 0; }
  bool AlwaysChoosesOldest() const override { return true; }

 private:
  UringReactor() = default;
  // Moves the backlog into the ring, hands every queued entry to the kernel and lets it
  // post what finished; when `wait`, first waits for one completion, but no later than
  // the next timer. A ring that fails for another reason than a signal or a full
  // completion queue throws std::system_error (the machine failed, not the engine).
  void Enter(bool wait);
  // Runs every completion already posted; returns how many.
  int RunCompletions();
  // Runs the timers that are due; returns how many.
  int RunDueTimers();

  io_uring ring_{};
  bool ring_ready_ = false;
  int64_t epoch_ns_ = 0;
  uint64_t in_flight_ = 0;
  uint64_t next_timer_ = 0;
  std::deque<io_uring_sqe> backlog_;  // prepared while the ring was full
  std::map<std::pair<runtime::Nanos, uint64_t>, absl::AnyInvocable<void()>> timers_;
};

}  // namespace powercut::posix

#endif  // POWERCUT_ENGINE_POSIX_URING_REACTOR_H_
