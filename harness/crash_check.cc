#include "harness/crash_check.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "harness/judged_sectors.h"
#include "harness/workload_runner.h"

namespace powercut::verifier {
namespace {

// The actor of the events that mark the check's sections in the trace.
constexpr std::string_view kCheckActor = "check";
constexpr uint64_t kReadChunkSectors = 64;
constexpr uint64_t kReadsInFlight = 8;

void Fail(CrashCheckResult& result, Failure failure) {
  result.passed = false;
  result.failure = std::move(failure);
}

// The judged sectors (harness/judged_sectors.h) cut into reads of at most `piece`
// sectors.
std::vector<io::SectorRange> Reads(const std::vector<io::SectorRange>& judged, uint64_t piece) {
  std::vector<io::SectorRange> reads;
  for (const io::SectorRange& r : judged) {
    for (uint64_t at = r.first; at < r.end(); at += piece) {
      reads.push_back({at, std::min(piece, r.end() - at)});
    }
  }
  return reads;
}

// An invariant violation a check hook found, seen in `phase` (of crash image `image`).
Failure InvariantFailure(Violation violation, FailurePhase phase, std::optional<uint32_t> image) {
  return Failure{.kind = FailureKind::kInvariantViolated,
                 .invariant = std::move(violation.invariant),
                 .phase = phase,
                 .image = image,
                 .text = std::move(violation.text)};
}

// A world's run that ended with `status` (not OK, not the power cut).
Failure RunFailure(const sim::World& world, const absl::Status& status, FailurePhase phase,
                   std::optional<uint32_t> image, std::string text) {
  Failure failure{.kind = KindOfRunStatus(status), .phase = phase, .image = image,
                  .text = std::move(text)};
  if (const auto& assertion = world.scheduler().failed_assertion()) {
    failure.location = assertion->location;
  }
  return failure;
}

}  // namespace

void JudgeRecovered(sim::World& world, Stack& stack, const BlockOracle& oracle, uint32_t image,
                     CrashCheckResult& result) {
  io::BlockDevice& device = stack.logical();
  const uint64_t sectors = device.sector_count();
  const uint64_t block = std::max<uint32_t>(device.block_sectors(), 1);
  const uint64_t piece = std::max(kReadChunkSectors / block, uint64_t{1}) * block;
  sim::Prng sample = world.ForkPrng("judged-sample");
  const std::vector<io::SectorRange> reads =
      Reads(JudgedSectors(oracle.TouchedRanges(), device.DataRanges(0, sectors), sectors,
                          device.block_sectors(), sample),
            piece);
  std::vector<std::byte> buffer(piece * kReadsInFlight * io::kSectorSize);
  for (size_t next = 0; next < reads.size() && result.passed; next += kReadsInFlight) {
    io::IoBatch batch(world.scheduler(), "verify");
    const size_t in_flight = std::min<size_t>(kReadsInFlight, reads.size() - next);
    for (size_t k = 0; k < in_flight; ++k) {
      batch.Read(device, reads[next + k].first,
                 std::span<std::byte>(buffer).subspan(k * piece * io::kSectorSize,
                                                      reads[next + k].count * io::kSectorSize));
    }
    if (absl::Status status = batch.Wait(); !status.ok()) {
      Fail(result, Failure{.kind = FailureKind::kRecoveryRefused,
                           .phase = FailurePhase::kRecovery,
                           .image = image,
                           .device = device.name(),
                           .text = absl::StrCat("Reading back the recovered device failed: ",
                                                status.ToString())});
      return;
    }
    for (size_t k = 0; k < in_flight; ++k) {
      const io::SectorRange& read = reads[next + k];
      const std::span<const std::byte> bytes =
          std::span<const std::byte>(buffer).subspan(k * piece * io::kSectorSize);
      for (uint64_t i = 0; i < read.count; ++i) {
        ++result.sectors_checked;
        auto problem = oracle.CheckRecovered(
            read.first + i, bytes.subspan(i * io::kSectorSize, io::kSectorSize));
        if (problem) {
          Fail(result, Failure{.kind = problem->kind,
                               .phase = FailurePhase::kRecovery,
                               .image = image,
                               .device = device.name(),
                               .sector = problem->sector,
                               .text = std::move(problem->text)});
          return;
        }
      }
    }
  }
}

void JudgeCrashImages(const StackFactory& factory, const BlockOracle& oracle,
                      const std::vector<CrashImages>& crashes, const sim::World& first,
                      const std::function<void(const sim::TraceEvent&)>& observer,
                      runtime::Nanos time_limit, uint64_t step_budget,
                      CrashCheckResult& result) {
  for (size_t i = 0; i < crashes.size() && result.passed; ++i) {
    const uint32_t image = static_cast<uint32_t>(i);
    sim::World after(first.ForkPrng(absl::StrCat("recovery-", i)).Next());
    if (observer) after.trace().set_observer(observer);
    after.Record(kCheckActor, "recovery", i);
    SimulatedDevices recovered_devices(after, &crashes[i]);
    absl::StatusOr<std::unique_ptr<Stack>> recovered = factory(after, recovered_devices);
    if (!recovered.ok()) {
      Fail(result, Failure{.kind = FailureKind::kRecoveryRefused,
                           .phase = FailurePhase::kRecovery,
                           .image = image,
                           .text = absl::StrCat("Rebuilding the stack from crash image ", i,
                                                " failed: ", recovered.status().ToString())});
      break;
    }
    if (std::optional<Violation> violation = (*recovered)->CheckCrashImage(crashes[i])) {
      Fail(result, InvariantFailure(*std::move(violation), FailurePhase::kCrashImage, image));
      break;
    }
    after.scheduler().Spawn("recovery", [&] {
      if (absl::Status started = (*recovered)->Start(); !started.ok()) {
        Fail(result, Failure{.kind = FailureKind::kRecoveryRefused,
                             .phase = FailurePhase::kRecovery,
                             .image = image,
                             .text = absl::StrCat("Recovery from crash image ", i,
                                                  " failed: ", started.ToString())});
        return;
      }
      if (std::optional<Violation> violation = (*recovered)->CheckStarted()) {
        Fail(result, InvariantFailure(*std::move(violation), FailurePhase::kRecovery, image));
        return;
      }
      JudgeRecovered(after, **recovered, oracle, image, result);
    });
    absl::Status verify = after.Run(time_limit, step_budget);
    if (!verify.ok() && result.passed) {
      Fail(result, RunFailure(after, verify, FailurePhase::kRecovery, image,
                              absl::StrCat("Recovery from crash image ", i,
                                           " did not finish: ", verify.ToString())));
    }
    after.Halt();
    result.trace_hash = sim::Mix64(result.trace_hash ^ after.trace().hash());
    ++result.images_checked;
  }
}

CrashCheckResult RunCrashCheck(const StackFactory& factory, const Workload& workload,
                               const CrashCheckOptions& options) {
  CrashCheckResult result;
  sim::World world(options.seed);
  if (options.observer) world.trace().set_observer(options.observer);
  SimulatedDevices devices(world, /*recover_from=*/nullptr);
  absl::StatusOr<std::unique_ptr<Stack>> stack = factory(world, devices);
  if (!stack.ok()) {
    Fail(result, Failure{.kind = FailureKind::kEngineError,
                         .text = absl::StrCat("Building the stack failed: ", stack.status().ToString())});
    return result;
  }
  BlockOracle oracle((*stack)->oracle_options());
  world.scheduler().Spawn("main", [&] {
    if (absl::Status started = (*stack)->Start(); !started.ok()) {
      Fail(result, Failure{.kind = FailureKind::kEngineError,
                           .text = absl::StrCat("Starting the stack failed: ", started.ToString())});
      return;
    }
    if (std::optional<Violation> violation = (*stack)->CheckStarted()) {
      Fail(result, InvariantFailure(*std::move(violation), FailurePhase::kRun, std::nullopt));
      return;
    }
    for (const runtime::Fiber& client : SpawnWorkload(world, (*stack)->logical(), workload, oracle)) {
      world.scheduler().Join(client);
    }
  });
  const uint64_t crash_step =
      options.crash_after_steps.value_or(world.ForkPrng("crash-step").Uniform(8 * workload.ops.size() + 16));
  world.CrashAfterSteps(crash_step);
  absl::Status run = world.Run(options.time_limit, options.step_budget);
  result.crash_step = world.scheduler().steps();
  result.crash_time = world.Now();
  result.crashed_mid_run = run.code() == absl::StatusCode::kCancelled;
  if (!run.ok() && !result.crashed_mid_run) {
    Fail(result, RunFailure(world, run, FailurePhase::kRun, std::nullopt,
                            absl::StrCat("The run failed before the crash: ", run.ToString())));
  }
  world.Record(kCheckActor, "power.cut", result.crash_step, 0, 0,
               result.crashed_mid_run ? "mid-run" : "after the workload");
  result.trace_hash = world.trace().hash();
  if (result.passed && !oracle.read_violations().empty()) {
    const OracleViolation& bad = oracle.read_violations().front();
    Fail(result, Failure{.kind = bad.kind,
                         .device = (*stack)->logical().name(),
                         .sector = bad.sector,
                         .text = bad.text});
  }
  if (result.passed) {
    if (std::optional<Violation> violation = (*stack)->CheckRun()) {
      Fail(result, InvariantFailure(*std::move(violation), FailurePhase::kRun, std::nullopt));
    }
  }
  if (!result.passed) {
    world.Halt();
    return result;
  }

  // Each image's draws go into the trace (kept, dropped and torn writes, pmem lines).
  sim::Prng image_prng = world.ForkPrng("crash-images");
  std::vector<CrashImages> crashes;
  for (uint32_t i = 0; i < std::max<uint32_t>(options.images, 1); ++i) {
    world.Record(kCheckActor, "crash.image", i);
    crashes.push_back(devices.SampleCrash(image_prng));
  }
  result.trace_hash = world.trace().hash();
  world.Halt();
  stack->reset();

  JudgeCrashImages(factory, oracle, crashes, world, options.observer, options.time_limit,
                   options.step_budget, result);
  if (!result.passed) {
    absl::StrAppend(&result.failure.text, " (seed ", options.seed, ", power cut at step ",
                    result.crash_step, ", ", result.crashed_mid_run ? "mid-run" : "after the workload",
                    ")");
  }
  return result;
}

}  // namespace powercut::verifier
