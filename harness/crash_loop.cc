#include "harness/crash_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/posix/file_io.h"
#include "engine/posix/uring_reactor.h"
#include "harness/block_oracle.h"
#include "harness/crash_check.h"
#include "harness/file_devices.h"
#include "harness/workload_runner.h"
#include "sim/prng.h"
#include "sim/world.h"

namespace powercut::verifier {
namespace {

// How a child ends when it is not killed.
constexpr int kChildFinished = 0;
constexpr int kChildEngineFailure = 3;
constexpr int kChildBadRead = 4;
constexpr int kChildSetupFailure = 5;  // the files or io_uring, not the engine
// The calibration run and every round end within this, or the round fails as a hang.
constexpr int64_t kRoundLimitNs = int64_t{120} * 1'000'000'000;

constexpr std::string_view kStarted = "started";
constexpr std::string_view kFinished = "finished";

int64_t MonotonicNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// One line, in one write(): whole in the pipe or not at all (lines are < PIPE_BUF).
void WriteLine(int fd, const std::string& line) {
  const std::string text = line + "\n";
  while (write(fd, text.data(), text.size()) < 0 && errno == EINTR) {
  }
}

// The child: runs the workload on fresh files, journaling to `fd`. Never returns.
[[noreturn]] void RunChild(const StackFactory& on_files, const Workload& workload,
                           const CrashLoopOptions& options, int fd) {
  absl::StatusOr<std::unique_ptr<posix::UringReactor>> reactor = posix::UringReactor::Create();
  if (!reactor.ok()) {
    WriteLine(fd, absl::StrCat("error ", reactor.status().message()));
    _exit(kChildSetupFailure);
  }
  sim::World world(options.seed, **reactor);
  FileDevices devices(**reactor, options.folder, {.buffered = options.buffered});
  absl::StatusOr<std::unique_ptr<Stack>> stack = on_files(world, devices);
  if (!stack.ok()) {  // the scenario was validated: the files stopped it
    WriteLine(fd, absl::StrCat("error ", stack.status().message()));
    _exit(kChildSetupFailure);
  }
  BlockOracle oracle((*stack)->oracle_options());
  oracle.set_journal([fd](const std::string& line) { WriteLine(fd, line); });
  int code = kChildFinished;
  world.scheduler().Spawn("main", [&] {
    if (absl::Status started = (*stack)->Start(); !started.ok()) {
      WriteLine(fd, absl::StrCat("error starting the stack: ", started.message()));
      code = kChildEngineFailure;
      return;
    }
    WriteLine(fd, std::string(kStarted));
    for (const runtime::Fiber& client : SpawnWorkload(world, **stack, workload, oracle)) {
      world.scheduler().Join(client);
    }
    WriteLine(fd, std::string(kFinished));
  });
  if (absl::Status run = world.Run(); !run.ok() && code == kChildFinished) {
    WriteLine(fd, absl::StrCat("error ", run.message()));
    code = kChildEngineFailure;
  }
  if (!oracle.read_violations().empty()) {
    WriteLine(fd, absl::StrCat("error ", oracle.read_violations().front().text));
    code = kChildBadRead;
  }
  _exit(code);  // no destructors: the kernel finishes the IO when the ring goes
}

// The lines a child wrote, read as they come.
class ChildLines {
 public:
  explicit ChildLines(int fd) : fd_(fd) {}
  // Reads what arrives until `deadline_ns` (monotonic) or the end of the pipe; true at
  // the end.
  bool ReadUntil(int64_t deadline_ns) {
    while (!ended_) {
      const int64_t left_ms = (deadline_ns - MonotonicNs()) / 1'000'000;
      if (left_ms < 0) return false;
      pollfd poll_fd{.fd = fd_, .events = POLLIN};
      if (poll(&poll_fd, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)) + 1) <= 0) continue;
      char chunk[4096];
      const ssize_t got = read(fd_, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        ended_ = true;
        break;
      }
      pending_.append(chunk, static_cast<size_t>(got));
      for (size_t end; (end = pending_.find('\n')) != std::string::npos;) {
        lines_.push_back(pending_.substr(0, end));
        if (lines_.back() == kStarted) started_ns_ = MonotonicNs();
        if (lines_.back() == kFinished) finished_ns_ = MonotonicNs();
        pending_.erase(0, end + 1);
      }
    }
    return true;
  }
  // Reads until the child said it started; false if it ended or the deadline passed
  // first.
  bool WaitStarted(int64_t deadline_ns) {
    while (!started_ns_ && !ended_ && MonotonicNs() < deadline_ns) {
      ReadUntil(std::min(deadline_ns, MonotonicNs() + 1'000'000));
    }
    return started_ns_.has_value();
  }
  const std::vector<std::string>& lines() const { return lines_; }
  std::optional<int64_t> started_ns() const { return started_ns_; }
  // How long the workload ran, when the child said both that it started and finished.
  std::optional<int64_t> workload_ns() const {
    if (!started_ns_ || !finished_ns_) return std::nullopt;
    return *finished_ns_ - *started_ns_;
  }

 private:
  int fd_;
  bool ended_ = false;
  std::string pending_;
  std::vector<std::string> lines_;
  std::optional<int64_t> started_ns_;
  std::optional<int64_t> finished_ns_;
};

// Recovers the round's files in a fresh stack and judges them against the oracle the
// child's journal rebuilds.
absl::Status RecoverAndJudge(const StackFactory& on_files, const std::vector<std::string>& journal,
                             const CrashLoopOptions& options, uint32_t round,
                             CrashLoopResult& loop) {
  absl::StatusOr<std::unique_ptr<posix::UringReactor>> reactor = posix::UringReactor::Create();
  if (!reactor.ok()) return reactor.status();
  sim::World world(options.seed + round + 1, **reactor);
  FileDevices devices(**reactor, options.folder, {.buffered = options.buffered, .reopen = true});
  CrashCheckResult result;
  absl::StatusOr<std::unique_ptr<Stack>> stack = on_files(world, devices);
  if (!stack.ok()) {
    result.passed = false;
    result.failure = Failure{.kind = FailureKind::kRecoveryRefused,
                             .phase = FailurePhase::kRecovery,
                             .image = round,
                             .text = absl::StrCat("Reopening the files failed: ", stack.status().ToString())};
  } else {
    BlockOracle oracle((*stack)->oracle_options());
    for (const std::string& line : journal) {
      if (absl::Status replayed = oracle.ReplayJournalLine(line); !replayed.ok()) return replayed;
    }
    world.scheduler().Spawn("recovery", [&] {
      if (absl::Status started = (*stack)->Start(); !started.ok()) {
        result.passed = false;
        result.failure = Failure{.kind = FailureKind::kRecoveryRefused,
                                 .phase = FailurePhase::kRecovery,
                                 .image = round,
                                 .text = absl::StrCat("Recovery after the kill failed: ", started.ToString())};
        return;
      }
      JudgeRecovered(world, **stack, oracle, round, result);
    });
    if (absl::Status run = world.Run(); !run.ok() && result.passed) {
      result.passed = false;
      result.failure = Failure{.kind = KindOfRunStatus(run),
                               .phase = FailurePhase::kRecovery,
                               .image = round,
                               .text = absl::StrCat("Recovery after the kill did not finish: ", run.ToString())};
    }
    world.Halt();
    (*reactor)->Drain();
  }
  loop.sectors_checked += result.sectors_checked;
  if (!result.passed) {
    loop.passed = false;
    loop.failure = std::move(result.failure);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CrashLoopResult> RunCrashLoop(const StackFactory& on_files, const Workload& workload,
                                             const CrashLoopOptions& options) {
  CrashLoopResult loop;
  sim::Prng kill_prng = sim::Prng(options.seed).Fork("kill-instants");
  // The shortest workload seen unkilled: kills drawn over it strike mid-run however much
  // a first run on cold files (or a busy machine) took longer.
  int64_t calibration_ns = 0;
  for (uint64_t round = 0; round <= options.kills && loop.passed; ++round) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0) return posix::ErrnoStatus("pipe", "cannot make");
    const pid_t child = fork();
    if (child < 0) return posix::ErrnoStatus("fork", "cannot fork");
    if (child == 0) {
      close(ends[0]);
      RunChild(on_files, workload, options, ends[1]);
    }
    close(ends[1]);
    const posix::ScopedFd from_child(ends[0]);
    ChildLines lines(ends[0]);
    const int64_t deadline = MonotonicNs() + kRoundLimitNs;
    bool killed = false;
    if (round == 0 || !lines.WaitStarted(deadline)) {
      // The calibration round runs to its end (and a child that never starts is killed
      // at the deadline).
      killed = !lines.ReadUntil(deadline);
    } else {
      const int64_t delay = static_cast<int64_t>(kill_prng.Uniform(static_cast<uint64_t>(calibration_ns) + 1));
      killed = !lines.ReadUntil(*lines.started_ns() + delay);
    }
    if (killed) kill(child, SIGKILL);
    lines.ReadUntil(MonotonicNs() + kRoundLimitNs);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (const std::optional<int64_t> took = lines.workload_ns(); took && (round == 0 || *took < calibration_ns)) {
      calibration_ns = *took;
    }
    const bool by_kill = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && killed;
    loop.killed += by_kill ? 1 : 0;
    ++loop.rounds;
    std::vector<std::string> journal;
    std::string child_error;
    for (const std::string& line : lines.lines()) {
      if (line.starts_with("error ")) {
        child_error = line.substr(6);
      } else if (line != kStarted && line != kFinished) {
        journal.push_back(line);
      }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == kChildSetupFailure) {
      return absl::FailedPreconditionError(child_error);
    }
    const bool exited_cleanly = WIFEXITED(status) && WEXITSTATUS(status) == kChildFinished;
    if (!by_kill && !exited_cleanly) {
      loop.passed = false;
      loop.failure = Failure{
          .kind = WIFEXITED(status) && WEXITSTATUS(status) == kChildBadRead ? FailureKind::kBadRead
                                                                             : FailureKind::kEngineError,
          .phase = FailurePhase::kRun,
          .text = absl::StrCat("Round ", round, ": the child ",
                               killed ? "did not finish in time and was killed" : "failed",
                               child_error.empty() ? "" : ": ", child_error)};
      break;
    }
    if (absl::Status judged =
            RecoverAndJudge(on_files, journal, options, static_cast<uint32_t>(round), loop);
        !judged.ok()) {
      return judged;
    }
    if (!loop.passed) {
      absl::StrAppend(&loop.failure.text, " (round ", round, ", ",
                      by_kill ? "killed mid-run" : "after the workload", "; its files are in ",
                      options.folder, ")");
    }
  }
  loop.calibration_ms = static_cast<double>(calibration_ns) / 1e6;
  return loop;
}

}  // namespace powercut::verifier
