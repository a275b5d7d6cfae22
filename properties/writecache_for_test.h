// Write-back cache configurations and single crash checks shared by the writecache test
// suites: a 1024-sector origin in front of caches of one to ~300 blocks, with the
// parameters drawn per seed (DrawWriteCacheOptions, DrawPmemOptions for pmem mode), so
// writeback, watermarks and writes around the cache happen in almost every run.
#ifndef POWERCUT_PROPERTIES_WRITECACHE_FOR_TEST_H_
#define POWERCUT_PROPERTIES_WRITECACHE_FOR_TEST_H_

#include <rapidcheck.h>

#include <cstdint>
#include <ostream>
#include <vector>

#include "engine/runtime/time.h"
#include "harness/crash_check.h"
#include "harness/workload.h"
#include "bindings/writecache/writecache_binding.h"
#include "sim/prng.h"

namespace powercut::verifier {

// Workloads for a configuration: its origin, aligned to its block size.
inline WorkloadShape ShapeFor(const WriteCacheStackOptions& options) {
  WorkloadShape shape;
  shape.device_sectors = options.logical_sectors;
  shape.clients = 3;
  shape.max_ops = 60;
  shape.max_io_sectors = 32;
  shape.alignment_sectors = options.params.block_size / 512;
  return shape;
}

// One crash check of the contract property: configuration, workload and power cut all
// drawn from `seed`.
inline CrashCheckResult CheckContract(uint64_t seed) {
  sim::Prng prng(seed);
  const WriteCacheStackOptions options = DrawWriteCacheOptions(prng, 1024);
  const Workload workload = GenerateWorkload(prng, ShapeFor(options));
  CrashCheckResult result = RunCrashCheck(WriteCacheStackFactory(options), workload, {.seed = seed});
  if (!result.passed) absl::StrAppend(&result.failure.text, "\n  configuration: ", ToString(options));
  return result;
}

// One crash check of the contract property in pmem mode (the cache is persistent
// memory; FUA writes are durable): configuration, workload and power cut drawn from
// `seed`.
inline CrashCheckResult CheckPmemContract(uint64_t seed) {
  sim::Prng prng(seed);
  const WriteCacheStackOptions options = DrawPmemOptions(prng, 1024);
  const Workload workload = GenerateWorkload(prng, ShapeFor(options));
  CrashCheckResult result = RunCrashCheck(WriteCacheStackFactory(options), workload, {.seed = seed});
  if (!result.passed) absl::StrAppend(&result.failure.text, "\n  configuration: ", ToString(options));
  return result;
}

// One crash check with IO errors on the cache device (writes and flushes fail at a
// rate drawn from `seed`, 2-12%): the engine's error paths, a failed data write leaving
// its block undefined (writecache_binding.h).
inline CrashCheckResult CheckFaults(uint64_t seed) {
  sim::Prng prng(seed);
  WriteCacheStackOptions options = DrawWriteCacheOptions(prng, 1024);
  faults::FaultPlan plan;
  plan.io_error_ppm = static_cast<uint32_t>(20'000 + prng.Uniform(100'000));
  plan.io_error_ops = faults::kFaultWrite | faults::kFaultFlush;
  options.faults = plan;
  options.fault_device = 1;
  const Workload workload = GenerateWorkload(prng, ShapeFor(options));
  CrashCheckResult result = RunCrashCheck(WriteCacheStackFactory(options), workload, {.seed = seed});
  if (!result.passed) absl::StrAppend(&result.failure.text, "\n  configuration: ", ToString(options));
  return result;
}

// One crash check of the progress property: configuration and workload drawn as for the
// contract property; once the clients ended, writeback must drain the cache to its low
// watermark (all of it with the cleaner or max_age) within a bounded idle time
// (Stack::CheckProgress, P1 and P2), and the power is cut after that.
inline CrashCheckResult CheckWritebackProgress(uint64_t seed) {
  sim::Prng prng(seed);
  const WriteCacheStackOptions options = DrawWriteCacheOptions(prng, 1024);
  const Workload workload = GenerateWorkload(prng, ShapeFor(options));
  CrashCheckResult result = RunCrashCheck(WriteCacheStackFactory(options), workload,
                                          {.seed = seed, .check_progress = true});
  if (!result.passed) absl::StrAppend(&result.failure.text, "\n  configuration: ", ToString(options));
  return result;
}

// One crash check with several power cuts: configuration and first workload drawn as
// for the contract property, then one or two more cuts, each after a recovery, its
// read-back and a workload of its own (harness/crash_check.h, "Several power cuts").
inline CrashCheckResult CheckSeveralCuts(uint64_t seed) {
  sim::Prng prng(seed);
  const WriteCacheStackOptions options = DrawWriteCacheOptions(prng, 1024);
  WorkloadShape shape = ShapeFor(options);
  const Workload workload = GenerateWorkload(prng, shape);
  shape.max_ops /= 2;
  std::vector<LaterCut> later(1 + prng.Uniform(2));
  for (LaterCut& cut : later) cut.ops = GenerateWorkload(prng, shape).ops;
  CrashCheckResult result = RunCrashCheck(WriteCacheStackFactory(options), workload,
                                          {.seed = seed, .later_cuts = later});
  if (!result.passed) absl::StrAppend(&result.failure.text, "\n  configuration: ", ToString(options));
  return result;
}

// One crash check of the drain property: the workload of `seed` with power cuts at
// several instants spread over the run (the windows it hunts are short).
inline CrashCheckResult CheckDrain(uint64_t seed) {
  sim::Prng prng(seed);
  const WriteCacheStackOptions options = DrawDrainOptions(prng);
  const Workload workload = GenerateWorkload(prng, ShapeFor(options));
  const StackFactory factory = WriteCacheStackFactory(options);
  const uint64_t span = 8 * workload.ops.size() + 16;
  CrashCheckResult result;
  for (uint64_t i = 1; i <= 8 && result.passed; ++i) {
    result = RunCrashCheck(factory, workload,
                           {.seed = seed, .crash_after_steps = span * i / 8 - prng.Uniform(span / 8 + 1)});
  }
  if (!result.passed) absl::StrAppend(&result.failure.text, "\n  configuration: ", ToString(options));
  return result;
}

// Configurations for RapidCheck, drawn like DrawWriteCacheOptions.
inline rc::Gen<WriteCacheStackOptions> GenWriteCacheOptions() {
  return rc::gen::map(rc::gen::arbitrary<uint64_t>(), [](uint64_t seed) {
    sim::Prng prng(seed);
    return DrawWriteCacheOptions(prng, 1024);
  });
}

}  // namespace powercut::verifier

namespace rc {
template <>
struct Arbitrary<powercut::verifier::WriteCacheStackOptions> {
  static Gen<powercut::verifier::WriteCacheStackOptions> arbitrary() {
    return powercut::verifier::GenWriteCacheOptions();
  }
};
}  // namespace rc

namespace powercut::verifier {
inline void showValue(const WriteCacheStackOptions& options, std::ostream& os) {
  os << ToString(options);
}
}  // namespace powercut::verifier

#endif  // POWERCUT_PROPERTIES_WRITECACHE_FOR_TEST_H_
