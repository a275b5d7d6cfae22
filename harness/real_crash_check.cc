#include "harness/real_crash_check.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/posix/uring_reactor.h"
#include "harness/file_devices.h"
#include "harness/recorded_device.h"
#include "harness/recorded_pmem.h"
#include "harness/workload_runner.h"
#include "sim/world.h"

namespace powercut::verifier {
namespace {

// FileDevices with every disk watched by a RecordedDevice.
class RecordedFileDevices : public Devices {
 public:
  RecordedFileDevices(posix::UringReactor& reactor, std::string folder, bool buffered)
      : files_(reactor, std::move(folder), {.buffered = buffered}) {}

  absl::StatusOr<Disk> AddDisk(DiskSpec spec) override {
    sim::DiskImage initial = spec.contents ? *spec.contents : sim::DiskImage(spec.sectors);
    absl::StatusOr<Disk> disk = files_.AddDisk(std::move(spec));
    if (!disk.ok()) return disk.status();
    recorded_.push_back(std::make_unique<RecordedDevice>(*disk->device, std::move(initial)));
    return Disk{.device = recorded_.back().get(), .simulated = nullptr};
  }
  absl::StatusOr<Pmem> AddPmem(PmemSpec spec) override {
    std::vector<std::byte> initial = spec.contents ? *spec.contents : std::vector<std::byte>(spec.bytes);
    absl::StatusOr<Pmem> pmem = files_.AddPmem(std::move(spec));
    if (!pmem.ok()) return pmem.status();
    absl::StatusOr<std::unique_ptr<RecordedPmem>> recorded =
        RecordedPmem::Create(*pmem->device, std::move(initial));
    if (!recorded.ok()) return recorded.status();
    pmems_.push_back(*std::move(recorded));
    return Pmem{.device = pmems_.back().get(), .simulated = nullptr};
  }
  bool recovering() const override { return false; }

  const std::vector<std::unique_ptr<RecordedDevice>>& recorded() const { return recorded_; }
  const std::vector<std::unique_ptr<RecordedPmem>>& pmems() const { return pmems_; }

 private:
  FileDevices files_;
  std::vector<std::unique_ptr<RecordedDevice>> recorded_;
  std::vector<std::unique_ptr<RecordedPmem>> pmems_;
};

}  // namespace

absl::StatusOr<RealCrashCheckResult> RunRealCrashCheck(const StackFactory& on_files,
                                                       const StackFactory& recover,
                                                       const Workload& workload,
                                                       const RealCrashCheckOptions& options) {
  absl::StatusOr<std::unique_ptr<posix::UringReactor>> reactor = posix::UringReactor::Create();
  if (!reactor.ok()) return reactor.status();
  RealCrashCheckResult out;
  CrashCheckResult& result = out.check;
  sim::World world(options.seed, **reactor);
  RecordedFileDevices devices(**reactor, options.folder, options.buffered);
  // The scenario was validated, so what stops the stack here is the files (the file
  // system's size limit, space, permissions) or persistent memory: a setup error.
  absl::StatusOr<std::unique_ptr<Stack>> stack = on_files(world, devices);
  if (!stack.ok()) return stack.status();
  BlockOracle oracle((*stack)->oracle_options());
  world.scheduler().Spawn("main", [&] {
    if (absl::Status started = (*stack)->Start(); !started.ok()) {
      result.passed = false;
      result.failure = Failure{.kind = FailureKind::kEngineError,
                               .text = absl::StrCat("Starting the stack failed: ", started.ToString())};
      return;
    }
    for (const runtime::Fiber& client : SpawnWorkload(world, **stack, workload, oracle)) {
      world.scheduler().Join(client);
    }
  });
  const uint64_t crash_step = options.crash_after_steps.value_or(
      world.ForkPrng("crash-step").Uniform(8 * workload.ops.size() + 16));
  world.CrashAfterSteps(crash_step);
  const absl::Status run = world.Run();
  result.crash_step = world.scheduler().steps();
  result.crash_time = world.Now();
  result.crashed_mid_run = run.code() == absl::StatusCode::kCancelled;
  if (!run.ok() && !result.crashed_mid_run && result.passed) {
    result.passed = false;
    result.failure = Failure{.kind = KindOfRunStatus(run),
                             .text = absl::StrCat("The run on files failed before the crash: ",
                                                  run.ToString())};
  }
  if (result.passed && !oracle.read_violations().empty()) {
    const OracleViolation& bad = oracle.read_violations().front();
    result.passed = false;
    result.failure = Failure{.kind = bad.kind,
                             .device = (*stack)->logical().name(),
                             .sector = bad.sector,
                             .text = bad.text};
  }
  // The power cut: what each disk holds is decided now, from its record.
  sim::Prng image_prng = world.ForkPrng("crash-images");
  for (uint32_t i = 0; i < std::max<uint32_t>(options.images, 1) && result.passed; ++i) {
    CrashImages images;
    for (const std::unique_ptr<RecordedDevice>& disk : devices.recorded()) {
      images.disks.push_back(disk->CrashState().Sample(image_prng));
    }
    for (const std::unique_ptr<RecordedPmem>& pmem : devices.pmems()) {
      images.pmems.push_back(pmem->SampleCrashImage(image_prng));
    }
    out.crashes.push_back(std::move(images));
  }
  for (const std::unique_ptr<RecordedDevice>& disk : devices.recorded()) {
    out.io_logs.push_back(disk->LogText());
    out.device_names.push_back(disk->name());
  }
  for (const std::unique_ptr<RecordedPmem>& pmem : devices.pmems()) {
    out.pmem_names.push_back(pmem->name());
  }
  world.Halt();
  (*reactor)->Drain();  // the kernel is done with every buffer before anything is freed
  stack->reset();
  if (result.passed) {
    JudgeCrashImages(recover, oracle, out.crashes, world, nullptr, options.time_limit,
                     options.step_budget, result);
  }
  if (!result.passed) {
    absl::StrAppend(&result.failure.text, " (run on files in ", options.folder, ", power cut at step ",
                    result.crash_step, ", ",
                    result.crashed_mid_run ? "mid-run" : "after the workload", ")");
  }
  return out;
}

}  // namespace powercut::verifier
