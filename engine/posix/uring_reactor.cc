#include "engine/posix/uring_reactor.h"

#include <time.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace powercut::posix {
namespace {

struct Op {
  absl::AnyInvocable<void(int32_t)> done;
};

int64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

absl::StatusOr<std::unique_ptr<UringReactor>> UringReactor::Create(unsigned queue_depth) {
  std::unique_ptr<UringReactor> reactor(new UringReactor());
  // One thread submits and reaps, and the kernel runs completion work only when that
  // thread asks for events (what fio sets up too); kernels before 6.1 refuse the flags.
  int result = io_uring_queue_init(
      queue_depth, &reactor->ring_,
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN);
  if (result == -EINVAL) result = io_uring_queue_init(queue_depth, &reactor->ring_, 0);
  if (result < 0) {
    return absl::UnavailableError(absl::StrCat(
        "io_uring is unavailable on this machine (io_uring_setup: ", std::strerror(-result),
        "; an old kernel, a seccomp filter or kernel.io_uring_disabled)"));
  }
  reactor->ring_ready_ = true;
  reactor->epoch_ns_ = MonotonicNanos();
  return reactor;
}

UringReactor::~UringReactor() {
  if (!ring_ready_) return;
  Drain();
  io_uring_queue_exit(&ring_);
}

void UringReactor::Drain() {
  timers_.clear();
  for (const io_uring_sqe& never_submitted : backlog_) {
    delete reinterpret_cast<Op*>(never_submitted.user_data);
    --in_flight_;
  }
  backlog_.clear();
  while (in_flight_ > 0) {
    const int submitted = io_uring_submit_and_wait(&ring_, 1);
    if (submitted < 0 && submitted != -EINTR && submitted != -EAGAIN && submitted != -EBUSY) {
      break;
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      delete static_cast<Op*>(io_uring_cqe_get_data(cqe));
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    in_flight_ -= seen;
  }
}

void UringReactor::Submit(absl::FunctionRef<void(io_uring_sqe*)> prepare,
                          absl::AnyInvocable<void(int32_t)> done) {
  io_uring_sqe entry{};
  prepare(&entry);
  io_uring_sqe_set_data(&entry, new Op{std::move(done)});
  ++in_flight_;
  io_uring_sqe* slot = backlog_.empty() ? io_uring_get_sqe(&ring_) : nullptr;
  if (slot == nullptr) {
    backlog_.push_back(entry);
  } else {
    *slot = entry;
    // To the kernel at once: the device starts on it while other fibers run. A failure
    // leaves the entry queued; the next Enter submits it or reports the ring's error.
    io_uring_submit(&ring_);
  }
}

runtime::Nanos UringReactor::Now() const { return runtime::Nanos(MonotonicNanos() - epoch_ns_); }

void UringReactor::CallAt(runtime::Nanos when, absl::AnyInvocable<void()> callback) {
  timers_.emplace(std::make_pair(when, next_timer_++), std::move(callback));
}

void UringReactor::Enter(bool wait) {
  for (;;) {
    while (!backlog_.empty()) {
      io_uring_sqe* slot = io_uring_get_sqe(&ring_);
      if (slot == nullptr) break;
      *slot = backlog_.front();
      backlog_.pop_front();
    }
    int result = 0;
    if (!backlog_.empty()) {
      result = io_uring_submit(&ring_);  // make room for the rest of the backlog
      if (result >= 0) continue;
    } else if (!wait) {
      result = io_uring_submit_and_get_events(&ring_);
    } else if (timers_.empty()) {
      result = io_uring_submit_and_wait(&ring_, 1);
    } else {
      const runtime::Nanos left =
          std::max(timers_.begin()->first.first - Now(), runtime::Nanos(0));
      __kernel_timespec timeout{.tv_sec = left.count() / 1'000'000'000,
                                .tv_nsec = left.count() % 1'000'000'000};
      io_uring_cqe* cqe = nullptr;
      result = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &timeout, nullptr);
    }
    if (result >= 0 || result == -ETIME || result == -EINTR) return;
    if (result == -EAGAIN || result == -EBUSY) {  // completions must be reaped first
      if (io_uring_cq_ready(&ring_) > 0) return;
      continue;
    }
    throw std::system_error(-result, std::generic_category(), "io_uring_enter");
  }
}

int UringReactor::RunCompletions() {
  int ran = 0;
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    std::unique_ptr<Op> op(static_cast<Op*>(io_uring_cqe_get_data(cqe)));
    const int32_t result = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    --in_flight_;
    op->done(result);
    ++ran;
  }
  return ran;
}

int UringReactor::RunDueTimers() {
  int ran = 0;
  const runtime::Nanos now = Now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    node.mapped()();
    ++ran;
  }
  return ran;
}

bool UringReactor::RunNext() {
  int ran = RunDueTimers();
  // What fibers queued goes to the kernel now, not after the completions already
  // posted have been run (that would keep fewer requests in flight).
  if (io_uring_sq_ready(&ring_) > 0 || !backlog_.empty()) Enter(false);
  ran += RunCompletions();
  if (ran > 0) return true;
  if (in_flight_ == 0 && timers_.empty()) return false;
  if (in_flight_ == 0) {
    // Only timers: sleep until the first is due.
    const runtime::Nanos left = timers_.begin()->first.first - Now();
    if (left > runtime::Nanos(0)) {
      timespec pause{.tv_sec = left.count() / 1'000'000'000, .tv_nsec = left.count() % 1'000'000'000};
      nanosleep(&pause, nullptr);
    }
  } else {
    Enter(true);
  }
  RunDueTimers();
  RunCompletions();
  return true;
}

}  // namespace powercut::posix
