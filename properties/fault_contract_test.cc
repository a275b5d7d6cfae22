// Properties of the block-device contract under injected faults, on the pass-through
// stack (dm-linear over a SimSsd, with a FaultyBlockDevice between them before the
// power cut):
//   - IO errors do not weaken the contract's judgement of a correct stack: a failed
//     write may or may not have landed, a failed flush makes nothing required, and the
//     oracle must accept every outcome the device can produce;
//   - broken devices (a lying flush, misdirected writes, dropped FUA) are caught within
//     a small seed budget. These are fault models of bad hardware, not engine mutants:
//     they show what the harness reports when the device below an engine lies.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <iostream>
#include <memory>
#include <string>

#include "faults/fault_plan.h"
#include "faults/faulty_block_device.h"
#include "harness/crash_check.h"
#include "bindings/linear/linear_binding.h"
#include "properties/small_linear_for_test.h"
#include "harness/workload_gen.h"

namespace powercut::verifier {
namespace {

constexpr uint64_t kSeedBudget = 100;

WorkloadShape Shape() { return SmallLinearShape(); }

LinearStackOptions Options(faults::FaultPlan plan, bool volatile_cache = true,
                           std::shared_ptr<faults::FaultCounts> tally = nullptr) {
  LinearStackOptions options = SmallLinearOptions(volatile_cache);
  options.faults = std::move(plan);
  options.fault_tally = std::move(tally);
  return options;
}

faults::FaultPlan RandomIoErrors(uint32_t ops) {
  faults::FaultPlan plan;
  plan.io_error_ppm = 20'000;
  plan.io_error_ops = ops;
  return plan;
}

// --- A correct stack over a device with IO errors ----------------------------------

TEST(FaultContract, FailedWritesAndFlushesNeverMakeTheOracleRejectACorrectStack) {
  auto tally = std::make_shared<faults::FaultCounts>();
  // Workloads are denser than usual so that, at 2%, hundreds of IOs fail.
  WorkloadShape shape = Shape();
  shape.max_ops = 80;
  for (uint64_t seed = 1; seed <= 400; ++seed) {
    sim::Prng prng(seed);
    const Workload workload = GenerateWorkload(prng, shape);
    const StackFactory factory = LinearStackFactory(
        Options(RandomIoErrors(faults::kFaultWrite | faults::kFaultFlush), seed % 4 != 0, tally));
    const CrashCheckResult result = RunCrashCheck(factory, workload, {.seed = seed});
    ASSERT_TRUE(result.passed) << result.failure.text;
  }
  // The faults really happened, and both kinds of failed IO occurred.
  std::cout << "io errors injected: " << tally->io_errors << " (" << tally->io_errors_landed
            << " landed)\n";
  EXPECT_GE(tally->io_errors, 100u);
  EXPECT_GT(tally->io_errors_landed, 0u);
  EXPECT_GT(tally->io_errors - tally->io_errors_landed, 0u);
  EXPECT_EQ(tally->total(), tally->io_errors);
}

RC_GTEST_PROP(FaultContract, ErrorsOnAnyKindOfIoKeepTheContractOfACorrectStack, ()) {
  const Workload workload = *GenWorkload(Shape());
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const bool volatile_cache = *rc::gen::arbitrary<bool>();
  const StackFactory factory =
      LinearStackFactory(Options(RandomIoErrors(faults::kFaultAllOps), volatile_cache));
  const CrashCheckResult result = RunCrashCheck(factory, workload, {.seed = seed});
  if (!result.passed) RC_FAIL(result.failure.text);
}

TEST(FaultContract, AFaultyRunReplaysBitForBitFromItsSeed) {
  faults::FaultPlan plan = RandomIoErrors(faults::kFaultAllOps);
  plan.io_error_ppm = 100'000;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim::Prng prng(seed);
    const Workload workload = GenerateWorkload(prng, Shape());
    auto first_tally = std::make_shared<faults::FaultCounts>();
    auto second_tally = std::make_shared<faults::FaultCounts>();
    const CrashCheckResult first =
        RunCrashCheck(LinearStackFactory(Options(plan, true, first_tally)), workload, {.seed = seed});
    const CrashCheckResult second =
        RunCrashCheck(LinearStackFactory(Options(plan, true, second_tally)), workload, {.seed = seed});
    EXPECT_EQ(first.trace_hash, second.trace_hash);
    EXPECT_EQ(first.crash_step, second.crash_step);
    EXPECT_EQ(*first_tally, *second_tally);
  }
}

TEST(FaultContract, TheRebuiltStackIsFaultFree) {
  // Every IO before the cut fails, yet recovery reads the whole device back: the
  // faults belong to the pre-crash stack only.
  faults::FaultPlan plan;
  plan.io_error_ppm = faults::kPpm;
  plan.latent_sectors = {30, 500};
  auto tally = std::make_shared<faults::FaultCounts>();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim::Prng prng(seed);
    const CrashCheckResult result = RunCrashCheck(LinearStackFactory(Options(plan, true, tally)),
                                                  GenerateWorkload(prng, Shape()), {.seed = seed});
    ASSERT_TRUE(result.passed) << result.failure.text;
    EXPECT_GT(result.sectors_checked, 0u);
  }
  EXPECT_GT(tally->io_errors, 0u);
}

// --- Broken devices the contract must catch -----------------------------------------

struct BrokenDevice {
  std::string name;
  faults::FaultPlan plan;
};

void PrintTo(const BrokenDevice& device, std::ostream* os) { *os << device.name; }

class BrokenDeviceTest : public ::testing::TestWithParam<BrokenDevice> {};

TEST_P(BrokenDeviceTest, IsCaughtByTheBlockDeviceContract) {
  const BrokenDevice& device = GetParam();
  const StackFactory factory = LinearStackFactory(Options(device.plan));
  uint64_t caught_at = 0;
  std::string failure;
  for (uint64_t seed = 1; seed <= kSeedBudget && caught_at == 0; ++seed) {
    sim::Prng prng(seed);
    const CrashCheckResult result =
        RunCrashCheck(factory, GenerateWorkload(prng, Shape()), {.seed = seed});
    if (!result.passed) {
      caught_at = seed;
      failure = result.failure.text;
    }
  }
  ASSERT_NE(caught_at, 0u) << device.name << " went unnoticed for " << kSeedBudget << " seeds";
  std::cout << device.name << " caught after " << caught_at << " seed(s): " << failure << "\n";

  // RapidCheck finds it too (and shrinks the workload).
  const bool held = rc::check(device.name + " keeps the contract", [&factory] {
    const Workload workload = *GenWorkload(Shape());
    const uint64_t seed = *rc::gen::inRange<uint64_t>(0, 1000);
    const CrashCheckResult result = RunCrashCheck(factory, workload, {.seed = seed});
    if (!result.passed) RC_FAIL(result.failure.text);
  });
  EXPECT_FALSE(held);
}

BrokenDevice LyingFlush() {
  faults::FaultPlan plan;
  plan.lying_flush = true;
  return {"LyingFlush", plan};
}

BrokenDevice MisdirectedWrites() {
  // A few early writes land 256 sectors further on (still inside the logical device,
  // which starts at SSD sector 24).
  faults::FaultPlan plan;
  plan.misdirected_writes = {1, 2, 3, 5, 8};
  plan.misdirect_offset = 256;
  return {"MisdirectedWrites", plan};
}

BrokenDevice DroppedFua() {
  faults::FaultPlan plan;
  plan.fua_dropped = true;
  return {"DroppedFua", plan};
}

INSTANTIATE_TEST_SUITE_P(FaultModels, BrokenDeviceTest,
                         ::testing::Values(LyingFlush(), MisdirectedWrites(), DroppedFua()),
                         [](const ::testing::TestParamInfo<BrokenDevice>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace powercut::verifier
