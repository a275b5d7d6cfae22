#include "harness/crash_check.h"

#include <algorithm>
#include <memory>

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

void JudgeRecovered(
    sim::World& world, Stack& stack, const BlockOracle& oracle, uint32_t image,
    CrashCheckResult& result,
    const std::function<void(uint64_t sector, std::span<const std::byte> bytes)>& judged) {
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
        const std::span<const std::byte> sector_bytes =
            bytes.subspan(i * io::kSectorSize, io::kSectorSize);
        auto problem = oracle.CheckRecovered(read.first + i, sector_bytes);
        if (!problem && judged) judged(read.first + i, sector_bytes);
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

namespace {

// Where a run stood when its power was cut.
enum class Stage { kStarting, kReadingBack, kRunning, kProgress, kDone };

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kStarting: return "during the recovery";
    case Stage::kReadingBack: return "during the read-back";
    case Stage::kRunning: return "mid-run";
    case Stage::kProgress: return "during the progress check";
    case Stage::kDone: return "after the workload, its background work still running";
  }
  return "";
}

// One run of a check in `world`, until its power cut: the stack starts (formats, or
// recovers crash image 0 of the cut before, which it then reads back and judges, the
// oracle settling what it read if `settle`), the workload runs, and with `progress` the
// stack's progress property is asked. The cut comes after `cut_steps` steps of the
// world, or, if that is empty, `later_steps` steps after the read-back (a rebuilt
// stack) or after the progress check. Failures go into `result`.
struct CutReport {
  Stage stage;        // where the cut found the run
  bool mid_run;       // the world still had work (else it had gone idle first)
};
CutReport RunUntilCut(sim::World& world, Stack& stack, BlockOracle& oracle, const Workload& workload,
                  bool rebuilt, bool settle, bool progress, std::optional<uint64_t> cut_steps,
                  uint64_t later_steps, const CrashCheckOptions& options,
                  CrashCheckResult& result) {
  Stage stage = Stage::kStarting;
  const FailurePhase phase = rebuilt ? FailurePhase::kRecovery : FailurePhase::kRun;
  const std::optional<uint32_t> image = rebuilt ? std::optional<uint32_t>(0) : std::nullopt;
  world.scheduler().Spawn("main", [&] {
    if (absl::Status started = stack.Start(); !started.ok()) {
      Fail(result, Failure{.kind = rebuilt ? FailureKind::kRecoveryRefused : FailureKind::kEngineError,
                           .phase = phase,
                           .image = image,
                           .text = absl::StrCat(rebuilt ? "Recovery from crash image 0 failed: "
                                                        : "Starting the stack failed: ",
                                                started.ToString())});
      return;
    }
    if (std::optional<Violation> violation = stack.CheckStarted()) {
      Fail(result, InvariantFailure(*std::move(violation), phase, image));
      return;
    }
    if (rebuilt) {
      stage = Stage::kReadingBack;
      std::function<void(uint64_t, std::span<const std::byte>)> settled;
      if (settle) {
        settled = [&](uint64_t sector, std::span<const std::byte> bytes) {
          oracle.SettleRecovered(sector, bytes);
        };
      }
      JudgeRecovered(world, stack, oracle, 0, result, settled);
      if (!result.passed) return;
      if (!cut_steps && !progress) world.CrashAfterSteps(later_steps);
    }
    stage = Stage::kRunning;
    for (const runtime::Fiber& client : SpawnWorkload(world, stack, workload, oracle)) {
      world.scheduler().Join(client);
    }
    if (progress) {
      stage = Stage::kProgress;
      if (std::optional<Violation> violation = stack.CheckProgress()) {
        Fail(result, InvariantFailure(*std::move(violation), phase, image));
        return;
      }
      if (!cut_steps) world.CrashAfterSteps(later_steps);
    }
    stage = Stage::kDone;
  });
  if (cut_steps) world.CrashAfterSteps(*cut_steps);
  absl::Status run = world.Run(options.time_limit, options.step_budget);
  const bool cut_mid_run = run.code() == absl::StatusCode::kCancelled;
  if (!run.ok() && !cut_mid_run && result.passed) {
    Fail(result, RunFailure(world, run, phase, image,
                            absl::StrCat("The run failed before the crash: ", run.ToString())));
  }
  oracle.PowerCut(world.Now());
  ++result.power_cuts;
  if (result.passed && !oracle.read_violations().empty()) {
    const OracleViolation& bad = oracle.read_violations().front();
    Fail(result, Failure{.kind = bad.kind,
                         .device = stack.logical().name(),
                         .sector = bad.sector,
                         .text = bad.text});
  }
  if (result.passed) {
    if (std::optional<Violation> violation = stack.CheckRun()) {
      Fail(result, InvariantFailure(*std::move(violation), FailurePhase::kRun, std::nullopt));
    }
  }
  return CutReport{stage, cut_mid_run};
}

}  // namespace

CrashCheckResult RunCrashCheck(const StackFactory& factory, const Workload& workload,
                               const CrashCheckOptions& options) {
  CrashCheckResult result;
  auto world = std::make_unique<sim::World>(options.seed);
  if (options.observer) world->trace().set_observer(options.observer);
  auto devices = std::make_unique<SimulatedDevices>(*world, /*recover_from=*/nullptr);
  absl::StatusOr<std::unique_ptr<Stack>> stack = factory(*world, *devices);
  if (!stack.ok()) {
    Fail(result, Failure{.kind = FailureKind::kEngineError,
                         .text = absl::StrCat("Building the stack failed: ", stack.status().ToString())});
    return result;
  }
  const OracleOptions oracle_options = (*stack)->oracle_options();
  BlockOracle oracle(oracle_options);
  // A drawn cut: within the workload, or after the progress check.
  const uint64_t drawn_steps = world->ForkPrng("crash-step").Uniform(8 * workload.ops.size() + 16);
  std::optional<uint64_t> crash_step = options.crash_after_steps;
  if (!crash_step && !options.check_progress) crash_step = drawn_steps;
  const CutReport first =
      RunUntilCut(*world, **stack, oracle, workload, /*rebuilt=*/false, /*settle=*/false,
                  options.check_progress, crash_step, drawn_steps, options, result);
  result.crash_step = world->scheduler().steps();
  result.crash_time = world->Now();
  result.crashed_mid_run = first.mid_run;
  const char* first_where = result.crashed_mid_run ? "mid-run" : "after the workload";
  world->Record(kCheckActor, "power.cut", result.crash_step, 0, 0, first_where);
  std::string cuts = absl::StrCat("power cut at step ", result.crash_step, ", ", first_where);
  // The trace hashes of the worlds before the current one, folded (later cuts only).
  uint64_t earlier_worlds = 0;
  const auto trace_hash = [&] {
    return options.later_cuts.empty() ? world->trace().hash()
                                      : sim::Mix64(earlier_worlds ^ world->trace().hash());
  };

  // The later cuts, each from crash image 0 of the one before.
  CrashImages image;
  Workload later{.device_sectors = workload.device_sectors, .clients = workload.clients};
  for (size_t k = 0; k < options.later_cuts.size() && result.passed; ++k) {
    const LaterCut& cut = options.later_cuts[k];
    sim::Prng image_prng = world->ForkPrng("crash-images");
    world->Record(kCheckActor, "crash.image", 0);
    image = devices->SampleCrash(image_prng);
    earlier_worlds = trace_hash();
    world->Halt();
    stack->reset();
    auto next = std::make_unique<sim::World>(world->ForkPrng(absl::StrCat("cut-", k + 1)).Next());
    if (options.observer) next->trace().set_observer(options.observer);
    next->Record(kCheckActor, "recovery", 0);
    devices = std::make_unique<SimulatedDevices>(*next, &image);
    world = std::move(next);
    stack = factory(*world, *devices);
    const uint32_t after_cut = static_cast<uint32_t>(k + 1);
    if (!stack.ok()) {
      Fail(result, Failure{.kind = FailureKind::kRecoveryRefused,
                           .phase = FailurePhase::kRecovery,
                           .image = 0,
                           .text = absl::StrCat("Rebuilding the stack from crash image 0 failed: ",
                                                stack.status().ToString())});
    } else if (std::optional<Violation> violation = (*stack)->CheckCrashImage(image)) {
      Fail(result, InvariantFailure(*std::move(violation), FailurePhase::kCrashImage, 0));
    } else {
      later.ops = cut.ops;
      sim::Prng draw = world->ForkPrng("crash-step");
      std::optional<uint64_t> cut_steps = cut.after_steps;
      uint64_t read_back_steps = 0;
      if (!cut_steps) {
        if (draw.Uniform(4) == 0) {
          cut_steps = 1 + draw.Uniform(kRecoveryCutSteps);
        } else {
          read_back_steps = draw.Uniform(8 * later.ops.size() + 16);
        }
      }
      const CutReport report =
          RunUntilCut(*world, **stack, oracle, later, /*rebuilt=*/true,
                      oracle_options.recovered_contents_stable, /*progress=*/false, cut_steps,
                      read_back_steps, options, result);
      const char* where =
          report.stage == Stage::kDone && !report.mid_run ? "after the workload"
                                                          : StageName(report.stage);
      result.later_cut_steps.push_back(world->scheduler().steps());
      world->Record(kCheckActor, "power.cut", world->scheduler().steps(), 0, 0, where);
      absl::StrAppend(&cuts, "; power cut ", k + 2, " at step ", world->scheduler().steps(), ", ",
                      where);
    }
    if (!result.passed) result.failure.after_cut = after_cut;
  }
  result.trace_hash = trace_hash();
  const auto explain = [&] {
    absl::StrAppend(&result.failure.text, " (seed ", options.seed, ", ", cuts, ")");
  };
  if (!result.passed) {
    world->Halt();
    // A failure of the first run explains itself; later ones name the cuts before.
    if (result.failure.after_cut > 0) explain();
    return result;
  }

  // Each image's draws go into the trace (kept, dropped and torn writes, pmem lines).
  sim::Prng image_prng = world->ForkPrng("crash-images");
  std::vector<CrashImages> crashes;
  for (uint32_t i = 0; i < std::max<uint32_t>(options.images, 1); ++i) {
    world->Record(kCheckActor, "crash.image", i);
    crashes.push_back(devices->SampleCrash(image_prng));
  }
  result.trace_hash = trace_hash();
  world->Halt();
  stack->reset();

  JudgeCrashImages(factory, oracle, crashes, *world, options.observer, options.time_limit,
                   options.step_budget, result);
  if (!result.passed) {
    result.failure.after_cut = static_cast<uint32_t>(options.later_cuts.size());
    explain();
  }
  return result;
}

}  // namespace powercut::verifier
