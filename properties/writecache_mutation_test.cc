// Mutation tests for the write-back cache: each deliberately broken engine must be
// caught, within a seed budget, by a property: the block-device contract through the
// cache, the cache's own invariant checks (writecache_binding.h), or the drain property
// (a tiny cache that writeback empties while clients overwrite and flush), the progress
// property (writeback drains the cache once the clients end); pmem-mode
// mutants by the contract in pmem mode (the only property that runs pmem code), and
// mutants of the error paths by the property with IO errors on the cache. Every
// kill prints the property, the first seed that killed it and what caught it;
// RapidCheck must find it too.
#include <rapidcheck.h>

#include <functional>
#include <iostream>

#include "engine/mutant/mutant.h"
#include "gtest/gtest.h"
#include "harness/crash_check.h"
#include "properties/writecache_for_test.h"
#include "bindings/writecache/writecache_binding.h"

namespace powercut::verifier {
namespace {

constexpr uint64_t kSeedBudget = 400;

struct Property {
  const char* name;
  std::function<CrashCheckResult(uint64_t seed)> check;
};

const std::vector<Property>& Properties() {
  static const std::vector<Property> properties = {
      {"contract", CheckContract},
      {"drain", CheckDrain},
      {"pmem contract", CheckPmemContract},
      {"faults", CheckFaults},
      {"several cuts", CheckSeveralCuts},
      {"progress", CheckWritebackProgress},
  };
  return properties;
}

// The progress property alone (mutants that lose no data, only liveness).
const std::vector<Property>& ProgressProperties() {
  static const std::vector<Property> properties = {{"progress", CheckWritebackProgress}};
  return properties;
}

// The property with IO errors alone (the error paths only it runs).
const std::vector<Property>& FaultProperties() {
  static const std::vector<Property> properties = {{"faults", CheckFaults}};
  return properties;
}

// The pmem-mode property alone.
const std::vector<Property>& PmemProperties() {
  static const std::vector<Property> properties = {{"pmem contract", CheckPmemContract}};
  return properties;
}

struct Kill {
  std::string property;
  uint64_t seed = 0;
  Failure failure;
};

// The first property of `properties` and seed in [1, budget] whose crash check fails,
// if any.
std::optional<Kill> FirstKill(const std::vector<Property>& properties, uint64_t budget) {
  for (const Property& property : properties) {
    for (uint64_t seed = 1; seed <= budget; ++seed) {
      const CrashCheckResult result = property.check(seed);
      if (!result.passed) return Kill{property.name, seed, result.failure};
    }
  }
  return std::nullopt;
}

// Kills the active mutant with one of `properties`, then has RapidCheck find it with
// the property that killed it.
void ExpectKilled(mutant::Id id, const std::vector<Property>& properties) {
  const std::optional<Kill> kill = FirstKill(properties, kSeedBudget);
  ASSERT_TRUE(kill.has_value()) << "mutant survived " << kSeedBudget << " seeds of every property";
  std::cout << mutant::Catalog()[static_cast<size_t>(id) - 1].name << ": killed by the "
            << kill->property << " property at seed " << kill->seed << ", caught by "
            << kill->failure.Group() << " " << kill->failure.Where() << ": "
            << kill->failure.text << "\n";

  // RapidCheck finds it too, with the property that killed it (without shrinking: the
  // seed above names a reproducer, and shrinking workloads costs minutes here).
  rc::detail::TestParams params;
  params.seed = 20261123;
  params.maxSuccess = 300;
  params.disableShrinking = true;
  std::function<CrashCheckResult(uint64_t)> check;
  for (const Property& property : properties) {
    if (property.name == kill->property) check = property.check;
  }
  const rc::detail::TestResult result = rc::detail::checkTestable(
      [&check] {
        const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
        const CrashCheckResult crash = check(seed);
        if (!crash.passed) RC_FAIL(crash.failure.text);
      },
      rc::detail::TestMetadata{}, params);
  rc::detail::FailureResult failure;
  ASSERT_TRUE(result.match(failure)) << "RapidCheck did not find the mutant in 300 cases";
  std::cout << "  RapidCheck: failing case " << failure.numSuccess + 1 << "\n";
}

class WriteCacheMutant : public ::testing::TestWithParam<mutant::Id> {};

TEST_P(WriteCacheMutant, IsKilledByAProperty) {
  mutant::ScopedMutant active(GetParam());
  ExpectKilled(GetParam(), Properties());
}

// Mutants that keep every write safe but stop background work short: only the progress
// property sees them.
class WriteCacheProgressMutant : public ::testing::TestWithParam<mutant::Id> {};

TEST_P(WriteCacheProgressMutant, IsKilledByTheProgressProperty) {
  mutant::ScopedMutant active(GetParam());
  ExpectKilled(GetParam(), ProgressProperties());
}

// Mutants of pmem-mode code: only the pmem property runs it.
class WriteCachePmemMutant : public ::testing::TestWithParam<mutant::Id> {};

TEST_P(WriteCachePmemMutant, IsKilledByThePmemProperty) {
  mutant::ScopedMutant active(GetParam());
  ExpectKilled(GetParam(), PmemProperties());
}

// Mutants of the error paths: only the property with IO errors runs them.
class WriteCacheFaultMutant : public ::testing::TestWithParam<mutant::Id> {};

TEST_P(WriteCacheFaultMutant, IsKilledByTheFaultProperty) {
  mutant::ScopedMutant active(GetParam());
  ExpectKilled(GetParam(), FaultProperties());
}

std::string Name(const ::testing::TestParamInfo<mutant::Id>& info) {
  return std::string(mutant::Catalog()[static_cast<size_t>(info.param) - 1].name);
}

INSTANTIATE_TEST_SUITE_P(Mutants, WriteCacheMutant,
                         ::testing::Values(mutant::Id::kWcFlushBeforeDataWait,
                                           mutant::Id::kWcSbNoFua,
                                           mutant::Id::kWcOriginFlushDropped,
                                           mutant::Id::kWcSeqFromEntries,
                                           mutant::Id::kWcFreeWithoutCommit,
                                           mutant::Id::kWcWritebackNoOriginFlush,
                                           mutant::Id::kWcLowerSeqWins,
                                           mutant::Id::kWcEntryNotMarkedDirty,
                                           mutant::Id::kWcOverwriteNoFlush,
                                           mutant::Id::kWcWritebackUncommitted,
                                           mutant::Id::kWcReuseWhileReading,
                                           mutant::Id::kWcExtendOverCached,
                                           mutant::Id::kWcFlushIgnoresIdleOverwrite,
                                           mutant::Id::kWcRecoveryKeepsUncommitted,
                                           mutant::Id::kWcRecoveryCleanupNotFlushed),
                         Name);

INSTANTIATE_TEST_SUITE_P(Mutants, WriteCacheProgressMutant,
                         ::testing::Values(mutant::Id::kWcWritebackStopsAtHigh,
                                           mutant::Id::kWcSkippedWritebackNotRequeued),
                         Name);

INSTANTIATE_TEST_SUITE_P(Mutants, WriteCacheFaultMutant,
                         ::testing::Values(mutant::Id::kWcCommitAfterError), Name);

INSTANTIATE_TEST_SUITE_P(Mutants, WriteCachePmemMutant,
                         ::testing::Values(mutant::Id::kWcPmemFuaIgnored,
                                           mutant::Id::kWcPmemCommitNoFence,
                                           mutant::Id::kWcPmemDataNotFlushed),
                         Name);

TEST(WriteCacheMutant, TheCorrectEngineSurvivesTheSameSeeds) {
  for (const Property& property : Properties()) {
    for (uint64_t seed = 1; seed <= 200; ++seed) {
      const CrashCheckResult result = property.check(seed);
      ASSERT_TRUE(result.passed) << property.name << " seed " << seed << ": " << result.failure.text;
    }
  }
}

}  // namespace
}  // namespace powercut::verifier
