// Crash-check cost against device size: one RunCrashCheck of the same small workload on
// each engine, with the logical device 2^11, 2^24, 2^32 and 2^40 sectors long.
//
//   BM_CrashCheckBySize/<engine>/log2_sectors:N: the scenario an engine's family would
//   run (its default parameters; raid1 with Raid1ChunkFor's bitmap chunk), workload of 11 ops over 3 clients: writes at the first
//   sectors, in the middle, across sector 2^32 where the device has it and at the last
//   sectors, a FUA write, two flushes and a discard; the power cut after the workload,
//   4 crash images, each recovered and judged. One iteration is one whole check.
//   Counters: sectors_judged (per check), heap_peak_bytes (the most heap the check had
//   live at once, beyond what was live before it; bench/heap_counter.h).
//   Targets (issue 21): time within 2x of the 2^11 figure at every size; memory flat.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/heap_counter.h"
#include "bindings/raid1/raid1_binding.h"
#include "scenario/scenario.h"

namespace powercut::bench {
namespace {

using verifier::Op;
using verifier::OpKind;

verifier::Workload SizeSweepWorkload(uint64_t sectors) {
  const uint64_t middle = sectors / 2 / 8 * 8;
  verifier::Workload workload{.device_sectors = sectors, .clients = 3};
  auto write = [&](uint32_t client, uint64_t sector, uint32_t n, bool fua = false) {
    workload.ops.push_back(Op{.kind = OpKind::kWrite, .client = client, .sector = sector,
                              .sectors = n, .fua = fua});
  };
  write(0, 0, 8);
  write(1, sectors - 8, 8);
  write(2, middle, 16);
  workload.ops.push_back(Op{.kind = OpKind::kFlush, .client = 0});
  write(0, 8, 8, /*fua=*/true);
  if (sectors > (uint64_t{1} << 32) + 8) write(1, (uint64_t{1} << 32) - 8, 16);
  workload.ops.push_back(
      Op{.kind = OpKind::kDiscard, .client = 2, .sector = middle, .sectors = 8});
  write(2, sectors - 16, 8);
  workload.ops.push_back(Op{.kind = OpKind::kFlush, .client = 1});
  write(0, middle + 8, 8);
  write(1, 16, 8);
  return workload;
}

verifier::Scenario SizeSweepScenario(const std::string& engine, uint64_t sectors) {
  verifier::Scenario scenario;
  scenario.engine = engine;
  scenario.seed = 7;
  scenario.crash_after_steps = uint64_t{1} << 40;  // after the workload
  scenario.images = 4;
  scenario.params = {{"logical_sectors", sectors}};
  if (engine == "raid1") scenario.params.push_back({"chunk_sectors", verifier::Raid1ChunkFor(sectors, 64)});
  scenario.workload = SizeSweepWorkload(sectors);
  return scenario;
}

void BM_CrashCheckBySize(benchmark::State& state, const std::string& engine) {
  const uint64_t sectors = uint64_t{1} << state.range(0);
  const verifier::Scenario scenario = SizeSweepScenario(engine, sectors);
  uint64_t judged = 0;
  uint64_t peak = 0;
  for (auto _ : state) {
    ResetHeapPeak();
    absl::StatusOr<verifier::CrashCheckResult> result = verifier::RunScenario(scenario);
    if (!result.ok()) throw std::runtime_error(result.status().ToString());
    if (!result->passed) throw std::logic_error(result->failure.text);
    peak = std::max(peak, HeapPeakSinceReset());
    judged = result->sectors_checked;
  }
  state.counters["sectors_judged"] = static_cast<double>(judged);
  state.counters["heap_peak_bytes"] = static_cast<double>(peak);
}

void SizeArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("log2_sectors")->Arg(11)->Arg(24)->Arg(32)->Arg(40)->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_CrashCheckBySize, linear, std::string("linear"))->Apply(SizeArgs);
BENCHMARK_CAPTURE(BM_CrashCheckBySize, writecache, std::string("writecache"))->Apply(SizeArgs);
BENCHMARK_CAPTURE(BM_CrashCheckBySize, raid1, std::string("raid1"))->Apply(SizeArgs);

}  // namespace
}  // namespace powercut::bench
