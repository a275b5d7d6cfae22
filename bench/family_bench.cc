// Campaign depth: seeds per second of each scenario family, as `powercut run` checks
// them (the family's scenario for seed N, its crash check with 4 images, judged).
//
//   BM_FamilySeeds/<family>: one iteration checks 100 consecutive seeds (a fixed range,
//   so every run measures the same work); items_per_second is seeds per second.
//   Issue 18's target: each raid1 family at least 3x its rate before the profile of
//   2026-12-07 (raid1 ~190, raid1-faults ~190, raid1-readd ~75 seeds/s there).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "scenario/scenario.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::bench {
namespace {

constexpr uint64_t kSeedsPerIteration = 100;

void BM_FamilySeeds(benchmark::State& state, const std::string& name) {
  const verifier::ScenarioFamily* family = verifier::FindScenarioFamily(name);
  if (family == nullptr) throw std::invalid_argument("no family " + name);
  for (auto _ : state) {
    for (uint64_t seed = 1; seed <= kSeedsPerIteration; ++seed) {
      absl::StatusOr<verifier::CrashCheckResult> result = verifier::RunScenario(family->draw(seed));
      if (!result.ok() || !result->passed) state.SkipWithError("a seed failed");
      benchmark::DoNotOptimize(result);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSeedsPerIteration));
}

BENCHMARK_CAPTURE(BM_FamilySeeds, writecache, std::string("writecache"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FamilySeeds, raid1, std::string("raid1"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FamilySeeds, raid1_faults, std::string("raid1-faults"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_FamilySeeds, raid1_readd, std::string("raid1-readd"))->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace powercut::bench
