// Properties: the write-back cache (SSD and pmem mode, small caches, parameters drawn
// per seed) keeps the block-device contract under random block-aligned workloads, crash
// instants and crash images, and keeps its own invariants (writecache_invariants.h) on
// every IO stream (SSD mode), crash image and recovery.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "harness/crash_check.h"
#include "harness/workload_gen.h"
#include "properties/writecache_for_test.h"
#include "bindings/writecache/writecache_binding.h"

namespace powercut::verifier {
namespace {

RC_GTEST_PROP(WriteCacheContract, NoAcknowledgedFlushedWriteIsLostAtARandomCrash,
              (const WriteCacheStackOptions& options)) {
  const Workload workload = *GenWorkload(ShapeFor(options));
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const CrashCheckResult result = RunCrashCheck(WriteCacheStackFactory(options), workload, {.seed = seed});
  if (!result.passed) RC_FAIL(result.failure.text);
}

TEST(WriteCacheContract, HundredsOfSeededCrashesPass) {
  uint64_t images = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const CrashCheckResult result = CheckContract(seed);
    ASSERT_TRUE(result.passed) << "seed " << seed << ": " << result.failure.text;
    images += result.images_checked;
  }
  EXPECT_GE(images, 1000u);
}

TEST(WriteCacheContract, KernelDefaultParametersPass) {
  WriteCacheStackOptions options;  // 64 blocks, the kernel's watermarks and autocommit
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    sim::Prng prng(seed);
    const Workload workload = GenerateWorkload(prng, ShapeFor(options));
    const CrashCheckResult result =
        RunCrashCheck(WriteCacheStackFactory(options), workload, {.seed = seed});
    ASSERT_TRUE(result.passed) << "seed " << seed << ": " << result.failure.text << "\n  workload:\n"
                               << ToString(workload);
  }
}

// pmem mode: the cache is persistent memory whose lines persist independently at a
// power cut; flushed writes and FUA writes survive.
RC_GTEST_PROP(WriteCachePmemContract, NoAcknowledgedFlushedOrFuaWriteIsLostAtARandomCrash, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const CrashCheckResult result = CheckPmemContract(seed);
  if (!result.passed) RC_FAIL(result.failure.text);
}

TEST(WriteCachePmemContract, HundredsOfSeededCrashesPass) {
  uint64_t images = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const CrashCheckResult result = CheckPmemContract(seed);
    ASSERT_TRUE(result.passed) << "seed " << seed << ": " << result.failure.text;
    images += result.images_checked;
  }
  EXPECT_GE(images, 1000u);
}

TEST(WriteCachePmemContract, KernelDefaultParametersPass) {
  WriteCacheStackOptions options;  // 64 blocks, the kernel's pmem defaults
  options.params.mode = writecache::Mode::kPmem;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    sim::Prng prng(seed);
    const Workload workload = GenerateWorkload(prng, ShapeFor(options));
    const CrashCheckResult result =
        RunCrashCheck(WriteCacheStackFactory(options), workload, {.seed = seed});
    ASSERT_TRUE(result.passed) << "seed " << seed << ": " << result.failure.text << "\n  workload:\n"
                               << ToString(workload);
  }
}

// The drain property: a tiny cache that writeback keeps emptying (every entry often
// under writeback at once) while clients overwrite and flush, with power cuts spread
// over each run.
RC_GTEST_PROP(WriteCacheDrain, NoAcknowledgedFlushedWriteIsLostWhileWritebackDrainsTheCache, ()) {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const CrashCheckResult result = CheckDrain(seed);
  if (!result.passed) RC_FAIL(result.failure.text);
}

TEST(WriteCacheDrain, HundredsOfSeededRunsPass) {
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    const CrashCheckResult result = CheckDrain(seed);
    ASSERT_TRUE(result.passed) << "seed " << seed << ": " << result.failure.text;
  }
}

}  // namespace
}  // namespace powercut::verifier
