// RunCrashLoop: process crashes on real files. Again and again: a child process runs
// the workload with the engine on image files (io_uring), the parent kills it with
// SIGKILL at a random instant, then recovers the files with the engine's own recovery
// in a fresh stack and judges the logical device with the oracle.
//
// The oracle of the killed child reaches the parent as its journal (BlockOracle::
// set_journal), one line per recording call, each written to a pipe with one write()
// before the operation is submitted: a line is in the pipe whole or not at all, so the
// parent never meets data it has not heard of. The child also judges its reads live and
// reports a bad one. Kill instants are drawn from the seed, uniformly over the shortest
// time an unkilled run took from the start of its workload to its end (the first round
// is the calibration run, its files judged like the others; a later round that ends
// before its kill shortens the window).
//
// What a process crash promises is stricter than a power cut for the devices (every
// write the kernel completed is in the file), not for the engine, whose memory is lost:
// the oracle's power-cut rules are what is judged (a write acknowledged and flushed
// survives; nothing foreign, nothing garbage).
//
// Threading: forks; call it from a single-threaded process (the CLI, a test). Each
// round's files are made fresh in the folder.
#ifndef POWERCUT_HARNESS_CRASH_LOOP_H_
#define POWERCUT_HARNESS_CRASH_LOOP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "harness/failure.h"
#include "harness/stack.h"
#include "harness/workload.h"

namespace powercut::verifier {

struct CrashLoopOptions {
  std::string folder;
  uint64_t seed = 1;
  uint64_t kills = 100;
  bool buffered = false;
};

struct CrashLoopResult {
  bool passed = true;
  Failure failure;             // meaningful only when !passed
  uint64_t rounds = 0;         // judged, including the calibration round
  uint64_t killed = 0;         // rounds whose child the kill found still running
  uint64_t sectors_checked = 0;
  double calibration_ms = 0;   // the shortest unkilled run's workload
};

// Status errors only for what stops the loop itself (fork, pipe, io_uring, the folder,
// files the file system cannot hold, a journal line that does not parse); a child that dies otherwise than by the kill, a
// recovery that fails or data the oracle rejects is a failure in the result, with the
// round's files kept in FOLDER/failure.
absl::StatusOr<CrashLoopResult> RunCrashLoop(const StackFactory& on_files, const Workload& workload,
                                             const CrashLoopOptions& options);

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_CRASH_LOOP_H_
