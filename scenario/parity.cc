#include "scenario/parity.h"

#include <filesystem>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bindings/engine_registry.h"
#include "engine/io/io_batch.h"
#include "engine/posix/file_io.h"
#include "engine/posix/uring_reactor.h"
#include "harness/device_dump.h"
#include "harness/file_devices.h"
#include "harness/sector_stamp.h"
#include "sim/world.h"

namespace powercut::verifier {
namespace {

// The simulated side's bound: an hour of virtual time (as a crash check's run).
constexpr runtime::Nanos kSimulatedLimit = runtime::Seconds(3600);

absl::Status OnSide(const std::string& side, absl::Status status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(side, ": ", status.message()));
}

// From a fiber: starts the stack, runs the ops one after another (write data stamped
// with the op's number), settles the stack, dumps its logical device to `logical`.
absl::Status RunSerially(sim::World& world, Stack& stack, const Workload& workload,
                         const std::string& logical) {
  runtime::Scheduler& scheduler = world.scheduler();
  if (absl::Status started = stack.Start(); !started.ok()) return started;
  io::BlockDevice& device = stack.logical();
  std::vector<std::byte> buffer;
  for (size_t i = 0; i < workload.ops.size(); ++i) {
    const Op& op = workload.ops[i];
    buffer.resize(uint64_t{op.sectors} * io::kSectorSize);
    absl::Status done;
    switch (op.kind) {
      case OpKind::kWrite:
        StampWrite(i + 1, op.sector, buffer);
        done = io::WriteSync(scheduler, device, op.sector, buffer, op.fua ? io::kFua : io::kNoFlags);
        break;
      case OpKind::kRead:
        done = io::ReadSync(scheduler, device, op.sector, buffer);
        break;
      case OpKind::kFlush:
        done = io::FlushSync(scheduler, device);
        break;
      case OpKind::kDiscard:
        done = io::DiscardSync(scheduler, device, op.sector, op.sectors);
        break;
      case OpKind::kControl:
        // A command the state refuses is refused on both sides alike.
        (void)stack.Control(op.control);
        break;
    }
    if (!done.ok()) {
      return absl::Status(done.code(),
                          absl::StrCat("op ", i + 1, " (", ToString(op), "): ", done.message()));
    }
  }
  absl::StatusOr<uint64_t> dumped = DumpDevice(scheduler, device, logical);
  if (!dumped.ok()) return dumped.status();
  return stack.Settle(scheduler);
}

// Runs `work` in a fiber of `world` to its end; the world's failure or the work's.
absl::Status RunInWorld(sim::World& world, std::optional<runtime::Nanos> limit,
                        absl::AnyInvocable<absl::Status()> work) {
  absl::Status result;
  world.scheduler().Spawn("parity", [&] { result = work(); });
  absl::Status run = world.Run(limit);
  world.Halt();
  return run.ok() ? result : run;
}

}  // namespace

absl::StatusOr<ParityRun> RunParity(const Scenario& scenario, const ParityOptions& options) {
  if (scenario.faults) {
    return absl::InvalidArgumentError(
        "parity runs scenarios without a fault plan (faults fire on timing, which the two "
        "sides do not share)");
  }
  if (!scenario.mutant.empty()) {
    return absl::InvalidArgumentError("parity runs the engines as shipped, not mutant '" +
                                      scenario.mutant + "'");
  }
  if (absl::Status valid = Validate(scenario); !valid.ok()) return valid;
  if (absl::Status one = RefuseLaterCuts(scenario); !one.ok()) return one;
  absl::StatusOr<const EngineEntry*> engine = LookUpEngine(scenario.engine);
  if (!engine.ok()) return engine.status();
  for (const auto& [name, value] : scenario.params) {
    for (const EngineParam& param : (*engine)->params) {
      if (param.name == name && param.fault && value != param.default_value) {
        return absl::InvalidArgumentError(absl::StrCat(
            "parity runs scenarios without faults, and ", name, "=", value,
            " injects one (where it strikes follows the timing of the run)"));
      }
    }
  }
  absl::StatusOr<BoundEngine> simulated =
      BindEngine(scenario.engine, scenario.params, EngineEnvironment{.ssd = scenario.ssd});
  if (!simulated.ok()) return simulated.status();
  absl::StatusOr<BoundEngine> real = BindEngine(
      scenario.engine, scenario.params, EngineEnvironment{.ssd = scenario.ssd, .simulated = false});
  if (!real.ok()) return real.status();

  const std::filesystem::path folder(options.folder);
  std::error_code error;
  for (const char* side : {"sim", "real"}) {
    std::filesystem::create_directories(folder / side, error);
    if (error) {
      return absl::FailedPreconditionError(
          absl::StrCat((folder / side).string(), ": ", error.message()));
    }
  }
  ParityRun run{.logical_sectors = simulated->logical_sectors,
                .sim_logical = (folder / "sim" / "logical.img").string(),
                .real_logical = (folder / "real" / "logical.img").string(),
                .ops = scenario.workload.ops.size()};

  // The simulator.
  std::vector<std::pair<std::string, bool>> sim_devices;  // name, pmem
  {
    sim::World world(scenario.seed);
    SimulatedDevices devices(world, nullptr);
    absl::StatusOr<std::unique_ptr<Stack>> stack = simulated->factory(world, devices);
    if (!stack.ok()) return OnSide("simulator", stack.status());
    if (absl::Status ran = RunInWorld(world, kSimulatedLimit, [&] {
          return RunSerially(world, **stack, scenario.workload, run.sim_logical);
        });
        !ran.ok()) {
      return OnSide("simulator", ran);
    }
    for (const std::unique_ptr<sim::SimSsd>& disk : devices.disks()) {
      const std::string path = (folder / "sim" / (disk->name() + ".img")).string();
      if (absl::Status wrote = WriteDiskImage(disk->visible(), path); !wrote.ok()) return wrote;
      run.devices.push_back({.name = disk->name(), .sim_path = path});
    }
    for (const std::unique_ptr<sim::SimPmem>& pmem : devices.pmems()) {
      const std::string path = (folder / "sim" / (pmem->name() + ".pmem")).string();
      absl::StatusOr<int> out = posix::CreateFile(path, pmem->size());
      if (!out.ok()) return out.status();
      const posix::ScopedFd file(*out);
      if (absl::Status wrote = posix::WriteFully(file.get(), path, pmem->visible(), 0); !wrote.ok()) {
        return wrote;
      }
      run.devices.push_back({.name = pmem->name(), .sim_path = path, .pmem = true});
    }
  }

  // Real files.
  absl::StatusOr<std::unique_ptr<posix::UringReactor>> reactor = posix::UringReactor::Create();
  if (!reactor.ok()) return reactor.status();
  {
    sim::World world(scenario.seed, **reactor);
    FileDevices devices(**reactor, (folder / "real").string(), {.buffered = options.buffered});
    absl::StatusOr<std::unique_ptr<Stack>> stack = real->factory(world, devices);
    if (!stack.ok()) return OnSide("real files", stack.status());
    if (absl::Status ran = RunInWorld(world, std::nullopt, [&] {
          return RunSerially(world, **stack, scenario.workload, run.real_logical);
        });
        !ran.ok()) {
      return OnSide("real files", ran);
    }
    for (ParityDevice& device : run.devices) {
      device.real_path =
          (folder / "real" / (device.name + (device.pmem ? ".pmem" : ".img"))).string();
    }
  }
  return run;
}

}  // namespace powercut::verifier
