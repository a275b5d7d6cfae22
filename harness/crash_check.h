// RunCrashCheck: one crash-consistency check, start to verdict.
//
//   1. Build the stack in World(seed), Start() it, run the workload's clients.
//   2. Cut the power after a number of scheduling steps (given, or drawn from the seed;
//      if the workload finishes first, the cut comes after it).
//   3. Draw `images` crash images; for each, build a fresh stack from it in a new
//      World, Start() it (recovery) and read back the whole logical device.
//   4. Judge every sector with the BlockOracle; reads during the run were judged live.
// Any engine error (deadlock, hang, exception, a Start() failure) is a failure too;
// every failure is a typed record (harness/failure.h).
//
// Deterministic: the same stack, workload and options give the same result and trace
// hash on every machine.
#ifndef POWERCUT_HARNESS_CRASH_CHECK_H_
#define POWERCUT_HARNESS_CRASH_CHECK_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "harness/failure.h"
#include "harness/stack.h"
#include "harness/workload.h"
#include "sim/trace.h"

namespace powercut::props {

struct CrashCheckOptions {
  uint64_t seed = 1;
  std::optional<uint64_t> crash_after_steps;
  uint32_t images = 4;
  // Receives every trace event of the run up to the power cut (timelines, traces).
  std::function<void(const sim::TraceEvent&)> observer;
};

struct CrashCheckResult {
  bool passed = true;
  Failure failure;  // meaningful only when !passed
  bool crashed_mid_run = false;
  uint64_t crash_step = 0;
  runtime::Nanos crash_time{0};
  uint64_t trace_hash = 0;
  uint64_t images_checked = 0;
  uint64_t sectors_checked = 0;
};

CrashCheckResult RunCrashCheck(const StackFactory& factory, const Workload& workload,
                               const CrashCheckOptions& options);

}  // namespace powercut::props

#endif  // POWERCUT_HARNESS_CRASH_CHECK_H_
