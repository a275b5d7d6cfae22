#include "harness/crash_check.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bindings/linear/linear_binding.h"
#include "engine/runtime/assertion.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::verifier {
namespace {

Workload SomeWorkload(uint64_t seed) {
  sim::Prng prng(seed);
  WorkloadShape shape;
  shape.device_sectors = 512;
  return GenerateWorkload(prng, shape);
}

LinearStackOptions SmallLinear() {
  LinearStackOptions options;
  options.logical_sectors = 512;
  return options;
}

TEST(CrashCheck, SameSeedGivesTheSameTraceHashAndVerdict) {
  for (uint64_t seed : {1, 2, 3}) {
    Workload workload = SomeWorkload(seed);
    CrashCheckResult a = RunCrashCheck(LinearStackFactory(SmallLinear()), workload, {.seed = seed});
    CrashCheckResult b = RunCrashCheck(LinearStackFactory(SmallLinear()), workload, {.seed = seed});
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.crash_step, b.crash_step);
    EXPECT_EQ(a.passed, b.passed);
  }
}

TEST(CrashCheck, DifferentSeedsGiveDifferentRuns) {
  Workload workload = SomeWorkload(1);
  CrashCheckResult a = RunCrashCheck(LinearStackFactory(SmallLinear()), workload,
                                     {.seed = 1, .crash_after_steps = 1'000'000});
  CrashCheckResult b = RunCrashCheck(LinearStackFactory(SmallLinear()), workload,
                                     {.seed = 2, .crash_after_steps = 1'000'000});
  EXPECT_NE(a.trace_hash, b.trace_hash);
}

TEST(CrashCheck, TheTraceCoversEachCrashImageAndEachRecovery) {
  std::vector<std::string> sections;
  uint64_t crash_events = 0, events_after_recovery = 0;
  bool recovering = false;
  CrashCheckOptions options{.seed = 3, .images = 2};
  options.observer = [&](const sim::TraceEvent& event) {
    if (event.actor == "check") {
      sections.push_back(absl::StrCat(std::string(event.op), " ", event.id));
      recovering = event.op == "recovery";
      return;
    }
    crash_events += event.op.starts_with("crash.");
    events_after_recovery += recovering;
  };
  CrashCheckResult result =
      RunCrashCheck(LinearStackFactory(SmallLinear()), SomeWorkload(3), options);
  ASSERT_TRUE(result.passed) << result.failure.text;
  ASSERT_EQ(sections.size(), 5u);
  EXPECT_THAT(sections[0], ::testing::StartsWith("power.cut "));
  EXPECT_EQ(sections[1], "crash.image 0");
  EXPECT_EQ(sections[2], "crash.image 1");
  EXPECT_EQ(sections[3], "recovery 0");
  EXPECT_EQ(sections[4], "recovery 1");
  EXPECT_GT(crash_events, 0u);           // kept / dropped / torn pending writes
  EXPECT_GT(events_after_recovery, 0u);  // the recovery worlds' reads
}

TEST(CrashCheck, TheTraceHashCoversTheRecovery) {
  // The same run, power cut and images; only the recovered stack's reads are slower.
  LinearStackOptions slower = SmallLinear();
  slower.ssd.read_latency = {runtime::Microseconds(50), runtime::Microseconds(60)};
  const StackFactory fast = LinearStackFactory(SmallLinear());
  const StackFactory slow_recovery = [fast, slow = LinearStackFactory(slower)](
                                         sim::World& world, Devices& devices) {
    return devices.recovering() ? slow(world, devices) : fast(world, devices);
  };
  const Workload workload = SomeWorkload(6);
  CrashCheckResult a = RunCrashCheck(fast, workload, {.seed = 6, .images = 1});
  CrashCheckResult b = RunCrashCheck(slow_recovery, workload, {.seed = 6, .images = 1});
  ASSERT_TRUE(a.passed && b.passed);
  EXPECT_EQ(a.crash_step, b.crash_step);
  EXPECT_NE(a.trace_hash, b.trace_hash);
}

TEST(CrashCheck, JudgesWhatTheRunWroteNotTheWholeDevice) {
  // Two writes and a flush on a 2^40-sector device: each image judges the written
  // sectors and a sample, a few hundred sectors, not 2^40.
  LinearStackOptions huge;
  huge.logical_sectors = uint64_t{1} << 40;
  Workload workload;
  workload.device_sectors = huge.logical_sectors;
  workload.ops = {{OpKind::kWrite, 0, 0, 8, false},
                  {OpKind::kWrite, 0, huge.logical_sectors - 8, 8, false},
                  {OpKind::kFlush, 0, 0, 0, false}};
  CrashCheckResult result = RunCrashCheck(LinearStackFactory(huge), workload,
                                          {.seed = 4, .crash_after_steps = 1'000'000, .images = 3});
  EXPECT_TRUE(result.passed) << result.failure.text;
  EXPECT_EQ(result.images_checked, 3u);
  EXPECT_GE(result.sectors_checked, 3u * 16);
  EXPECT_LT(result.sectors_checked, 3u * 200);
}

TEST(CrashCheck, ACrashAfterTheWorkloadStillLosesNothingFlushed) {
  Workload workload;
  workload.device_sectors = 512;
  workload.clients = 1;
  workload.ops = {{OpKind::kWrite, 0, 0, 8, false}, {OpKind::kFlush, 0, 0, 0, false}};
  CrashCheckResult result = RunCrashCheck(LinearStackFactory(SmallLinear()), workload,
                                          {.seed = 9, .crash_after_steps = 1'000'000, .images = 16});
  EXPECT_TRUE(result.passed) << result.failure.text;
  EXPECT_FALSE(result.crashed_mid_run);
}

// A stack whose engine fails an always-on assertion on its first write.
class AssertingStack : public Stack {
 public:
  explicit AssertingStack(std::unique_ptr<Stack> inner)
      : inner_(std::move(inner)), device_(inner_->logical()) {}
  io::BlockDevice& logical() override { return device_; }
  absl::Status Start() override { return inner_->Start(); }

 private:
  struct Device : io::BlockDeviceWrapper {
    using io::BlockDeviceWrapper::BlockDeviceWrapper;
    void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                     io::IoCallback done) override {
      POWERCUT_ASSERT(sector == ~uint64_t{0}, "no write may reach sector ", sector);
      wrapped().SubmitWrite(sector, data, flags, std::move(done));
    }
  };
  std::unique_ptr<Stack> inner_;
  Device device_;
};

TEST(CrashCheck, AFailedEngineAssertionIsATypedFailureWithItsLocation) {
  const StackFactory linear = LinearStackFactory(SmallLinear());
  const StackFactory asserting = [linear](sim::World& world, Devices& devices)
      -> absl::StatusOr<std::unique_ptr<Stack>> {
    absl::StatusOr<std::unique_ptr<Stack>> inner = linear(world, devices);
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<Stack>(new AssertingStack(*std::move(inner)));
  };
  Workload workload;
  workload.device_sectors = 512;
  workload.clients = 1;
  workload.ops = {{OpKind::kWrite, 0, 8, 8, false}};
  CrashCheckResult result =
      RunCrashCheck(asserting, workload, {.seed = 1, .crash_after_steps = 1'000'000});
  ASSERT_FALSE(result.passed);
  EXPECT_EQ(result.failure.kind, FailureKind::kEngineAssertion);
  EXPECT_EQ(result.failure.phase, FailurePhase::kRun);
  EXPECT_THAT(result.failure.location,
              ::testing::MatchesRegex("harness/crash_check_test\\.cc:[0-9]+"));
  EXPECT_THAT(result.failure.text, ::testing::HasSubstr("no write may reach sector 8"));
}

// A linear stack whose progress property idles 5 ms, records when it was asked, and
// reports a violation if told to.
class ProgressStack : public Stack {
 public:
  ProgressStack(sim::World& world, std::unique_ptr<Stack> inner, bool fail,
                std::optional<runtime::Nanos>* asked)
      : world_(world), inner_(std::move(inner)), fail_(fail), asked_(asked) {}
  io::BlockDevice& logical() override { return inner_->logical(); }
  absl::Status Start() override { return inner_->Start(); }
  std::optional<Violation> CheckProgress() override {
    world_.scheduler().SleepFor(runtime::Milliseconds(5));
    *asked_ = world_.Now();
    if (fail_) return InvariantViolated("P9", ": the background work stopped short");
    return std::nullopt;
  }

 private:
  sim::World& world_;
  std::unique_ptr<Stack> inner_;
  bool fail_;
  std::optional<runtime::Nanos>* asked_;
};

StackFactory ProgressFactory(bool fail, std::optional<runtime::Nanos>* asked) {
  const StackFactory linear = LinearStackFactory(SmallLinear());
  return [linear, fail, asked](sim::World& world, Devices& devices)
             -> absl::StatusOr<std::unique_ptr<Stack>> {
    absl::StatusOr<std::unique_ptr<Stack>> inner = linear(world, devices);
    if (!inner.ok()) return inner.status();
    return std::unique_ptr<Stack>(new ProgressStack(world, *std::move(inner), fail, asked));
  };
}

TEST(CrashCheck, TheProgressCheckRunsAfterTheWorkloadAndADrawnCutFallsAfterIt) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::optional<runtime::Nanos> asked;
    CrashCheckResult result = RunCrashCheck(ProgressFactory(false, &asked), SomeWorkload(seed),
                                            {.seed = seed, .check_progress = true});
    ASSERT_TRUE(result.passed) << result.failure.text;
    ASSERT_TRUE(asked.has_value()) << "seed " << seed;
    EXPECT_GE(result.crash_time, *asked) << "seed " << seed;
  }
  // Not asked unless the check asks for it.
  std::optional<runtime::Nanos> asked;
  EXPECT_TRUE(RunCrashCheck(ProgressFactory(false, &asked), SomeWorkload(1),
                            {.seed = 1, .crash_after_steps = 1'000'000}).passed);
  EXPECT_FALSE(asked.has_value());
}

TEST(CrashCheck, AMissedProgressGoalIsATypedFailureOfTheRun) {
  std::optional<runtime::Nanos> asked;
  CrashCheckResult result = RunCrashCheck(ProgressFactory(true, &asked), SomeWorkload(3),
                                          {.seed = 3, .check_progress = true});
  ASSERT_FALSE(result.passed);
  EXPECT_EQ(result.failure.kind, FailureKind::kInvariantViolated);
  EXPECT_EQ(result.failure.invariant, "P9");
  EXPECT_EQ(result.failure.phase, FailurePhase::kRun);
  EXPECT_THAT(result.failure.text, ::testing::HasSubstr("the background work stopped short"));
}

TEST(CrashCheck, AStackThatCannotBeBuiltIsAFailureNotACrash) {
  LinearStackOptions impossible = SmallLinear();
  impossible.ssd.write_latency = {runtime::Microseconds(5), runtime::Microseconds(1)};
  CrashCheckResult result = RunCrashCheck(LinearStackFactory(impossible), SomeWorkload(1), {});
  EXPECT_FALSE(result.passed);
  EXPECT_THAT(result.failure.text, ::testing::HasSubstr("Building the stack failed"));
}

}  // namespace
}  // namespace powercut::verifier
