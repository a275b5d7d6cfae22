// libFuzzer target: the whole `powercut replay` path, a replay file parsed
// (scenario/replay_file.h) and then run as a crash check (verifier::RunScenario), twice.
//
// Inputs too costly to run many times a second are skipped (return 0): over
// kMaxInputBytes, and after parsing more than kMaxOps operations or kMaxOpSectors sectors
// in one, more than kMaxImages crash images or kMaxClients clients, a device or fault
// latency over kMaxLatency, a write-back cache of more than kMaxCacheBlocks blocks, a
// RAID1 bitmap of more than kMaxChunks chunks. A file naming a mutant is skipped too:
// this target links the shipped engines (mutants compiled out, as `powercut` does).
// Everything else must run: a file that parses gives a result (RunScenario fails only
// on an invalid scenario, and the parser validated it), and the second run the same
// verdict, trace hash and counts as the first. A property failure is a verdict, not a
// bug of this target (a scenario may describe a broken device); a crash, sanitizer
// report, hang, run error or a second run that differs is, and aborts with the
// scenario printed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "bindings/engine_registry.h"
#include "scenario/replay_file.h"
#include "scenario/scenario.h"

namespace {

namespace verifier = powercut::verifier;
namespace runtime = powercut::runtime;

constexpr size_t kMaxInputBytes = 16 * 1024;
constexpr size_t kMaxOps = 48;
constexpr uint32_t kMaxOpSectors = 256;
constexpr uint32_t kMaxImages = 4;
constexpr uint32_t kMaxClients = 8;
constexpr runtime::Nanos kMaxLatency = runtime::Seconds(2);
constexpr uint64_t kMaxCacheBlocks = 256;
constexpr uint64_t kMaxChunks = 1024;

// The value of the engine parameter `name`: the one the file gives, else the default.
uint64_t Param(const verifier::Scenario& scenario, std::string_view name) {
  for (const auto& [key, value] : scenario.params) {
    if (key == name) return value;
  }
  if (const verifier::EngineEntry* engine = verifier::FindEngine(scenario.engine)) {
    for (const verifier::EngineParam& param : engine->params) {
      if (param.name == name) return param.default_value;
    }
  }
  return 0;
}

bool WithinBudget(const verifier::Scenario& scenario) {
  if (scenario.workload.ops.size() > kMaxOps || scenario.images > kMaxImages ||
      scenario.workload.clients > kMaxClients) {
    return false;
  }
  for (const verifier::Op& op : scenario.workload.ops) {
    if (op.sectors > kMaxOpSectors) return false;
  }
  const powercut::sim::SimSsdOptions& ssd = scenario.ssd;
  if (ssd.read_latency.max > kMaxLatency || ssd.write_latency.max > kMaxLatency ||
      ssd.flush_latency.max > kMaxLatency) {
    return false;
  }
  if (scenario.faults && scenario.faults->fault_latency > kMaxLatency) return false;
  if (scenario.engine == "writecache" && Param(scenario, "cache_blocks") > kMaxCacheBlocks) {
    return false;
  }
  if (scenario.engine == "raid1") {
    // chunk_sectors is at most 2^22, so the product cannot overflow.
    if (Param(scenario, "logical_sectors") > kMaxChunks * Param(scenario, "chunk_sectors")) {
      return false;
    }
  }
  return true;
}

[[noreturn]] void Fail(const verifier::Scenario& scenario, std::string_view why) {
  std::cerr << why << ":\n" << verifier::FormatReplay(scenario);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInputBytes) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<verifier::Scenario> scenario = verifier::ParseReplay(text);
  if (!scenario.ok() || !scenario->mutant.empty() || !WithinBudget(*scenario)) return 0;
  const absl::StatusOr<verifier::CrashCheckResult> first = verifier::RunScenario(*scenario);
  if (!first.ok()) Fail(*scenario, std::string(first.status().message()));
  const absl::StatusOr<verifier::CrashCheckResult> second = verifier::RunScenario(*scenario);
  if (!second.ok()) Fail(*scenario, std::string(second.status().message()));
  if (first->passed != second->passed || first->trace_hash != second->trace_hash ||
      first->crash_step != second->crash_step || first->images_checked != second->images_checked ||
      first->sectors_checked != second->sectors_checked) {
    Fail(*scenario, "not deterministic: a second run differs");
  }
  return 0;
}
