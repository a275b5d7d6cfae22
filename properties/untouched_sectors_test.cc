// The crash check judges the sectors a run touched, the sectors the recovered device
// says may hold data, and a sample (harness/judged_sectors.h), not every sector. This
// suite proves there is no silent hole: garbage planted in a crash image, on the device
// below the engine, at a sector the workload never touched, is caught as garbage at
// that logical sector, for every engine and at device sizes from 2^11 to 2^40 sectors
// (the broken thing here is the device, planted after the power cut).
#include <memory>
#include <utility>
#include <vector>

#include "bindings/linear/linear_binding.h"
#include "bindings/raid1/raid1_binding.h"
#include "bindings/writecache/writecache_binding.h"
#include "engine/io/io_batch.h"
#include "gtest/gtest.h"
#include "harness/crash_check.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace powercut::verifier {
namespace {

// Remembers the disks a stack asks for (in order), made by `inner`.
class RecordingDevices : public Devices {
 public:
  explicit RecordingDevices(Devices& inner) : inner_(inner) {}
  absl::StatusOr<Disk> AddDisk(DiskSpec spec) override {
    absl::StatusOr<Disk> disk = inner_.AddDisk(std::move(spec));
    if (disk.ok()) disks.push_back(*disk);
    return disk;
  }
  absl::StatusOr<Pmem> AddPmem(PmemSpec spec) override { return inner_.AddPmem(std::move(spec)); }
  bool recovering() const override { return inner_.recovering(); }

  std::vector<Disk> disks;

 private:
  Devices& inner_;
};

// A recovered stack whose devices get a garbage sector before its recovery starts.
class PlantedStack : public Stack {
 public:
  PlantedStack(sim::World& world, std::unique_ptr<Stack> inner,
               std::vector<std::pair<io::BlockDevice*, uint64_t>> plants)
      : world_(world), inner_(std::move(inner)), plants_(std::move(plants)) {}

  io::BlockDevice& logical() override { return inner_->logical(); }
  absl::Status Start() override {
    const std::vector<std::byte> garbage(io::kSectorSize, std::byte{0xa5});
    for (const auto& [device, sector] : plants_) {
      if (absl::Status s = io::WriteSync(world_.scheduler(), *device, sector, garbage, io::kFua);
          !s.ok()) {
        return s;
      }
    }
    return inner_->Start();
  }
  OracleOptions oracle_options() const override { return inner_->oracle_options(); }
  std::optional<Violation> CheckCrashImage(const CrashImages& images) const override {
    return inner_->CheckCrashImage(images);
  }
  std::optional<Violation> CheckStarted() override { return inner_->CheckStarted(); }
  std::optional<Violation> CheckRun() override { return inner_->CheckRun(); }

 private:
  sim::World& world_;
  std::unique_ptr<Stack> inner_;
  std::vector<std::pair<io::BlockDevice*, uint64_t>> plants_;
};

enum class Engine { kLinear, kWriteCache, kRaid1 };

struct Planted {
  StackFactory factory;
  uint32_t block_sectors = 1;
};

// `engine` over `sectors`, planting garbage at logical sector `target` on the device
// below it when it recovers (on every member, for the mirror: one copy alone may never
// be read).
Planted PlantingStack(Engine engine, uint64_t sectors, uint64_t target) {
  StackFactory inner;
  std::vector<uint64_t> where;  // the device sector to plant on each disk, in order
  uint32_t block = 1;
  switch (engine) {
    case Engine::kLinear: {
      LinearStackOptions options;
      options.logical_sectors = sectors;
      inner = LinearStackFactory(options);
      where = {options.start_sector + target};
      break;
    }
    case Engine::kWriteCache: {
      WriteCacheStackOptions options;
      options.logical_sectors = sectors;
      block = options.params.block_size / io::kSectorSize;
      inner = WriteCacheStackFactory(options);
      where = {target};  // the origin
      break;
    }
    case Engine::kRaid1: {
      Raid1StackOptions options;
      options.logical_sectors = sectors;
      options.chunk_sectors = Raid1ChunkFor(sectors, options.chunk_sectors);
      inner = Raid1StackFactory(options);
      where.assign(options.mirrors, Raid1StackGeometry(options)->data_offset + target);
      break;
    }
  }
  StackFactory factory = [inner, where](sim::World& world,
                                        Devices& devices) -> absl::StatusOr<std::unique_ptr<Stack>> {
    RecordingDevices recording(devices);
    absl::StatusOr<std::unique_ptr<Stack>> stack = inner(world, recording);
    if (!stack.ok() || !devices.recovering()) return stack;
    std::vector<std::pair<io::BlockDevice*, uint64_t>> plants;
    for (size_t i = 0; i < where.size(); ++i) {
      plants.emplace_back(recording.disks[i].simulated, where[i]);
    }
    return std::make_unique<PlantedStack>(world, *std::move(stack), std::move(plants));
  };
  return {factory, block};
}

bool Touched(const Workload& workload, uint64_t sector, uint64_t block) {
  for (const Op& op : workload.ops) {
    if (op.kind != OpKind::kWrite && op.kind != OpKind::kDiscard) continue;
    const uint64_t first = op.sector / block * block;
    const uint64_t end = (op.sector + op.sectors + block - 1) / block * block;
    if (sector >= first && sector < end) return true;
  }
  return false;
}

RC_GTEST_PROP(UntouchedSectors, GarbagePlantedWhereNothingWroteIsCaughtAtThatSector, ()) {
  const auto engine = *rc::gen::element(Engine::kLinear, Engine::kWriteCache, Engine::kRaid1);
  const uint64_t sectors = *rc::gen::element<uint64_t>(
      2048, uint64_t{1} << 24, (uint64_t{1} << 32) + 8, (uint64_t{1} << 40) - 8);
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1'000'000);
  WorkloadShape shape;
  shape.device_sectors = sectors;
  shape.alignment_sectors = engine == Engine::kWriteCache ? 8 : 0;
  sim::Prng prng(seed);
  const Workload workload = GenerateWorkload(prng, shape);
  // The target: drawn anywhere, or next to a touched range, and not touched itself.
  uint64_t target = prng.Uniform(sectors);
  if (prng.Uniform(2) == 0 && !workload.ops.empty()) {
    const Op& op = workload.ops[prng.Uniform(workload.ops.size())];
    target = std::min(op.sector + op.sectors + 8 + prng.Uniform(8), sectors - 1);
  }
  const uint64_t block = engine == Engine::kWriteCache ? 8 : 1;
  RC_PRE(!Touched(workload, target, block));
  const Planted planted = PlantingStack(engine, sectors, target);
  const CrashCheckResult result =
      RunCrashCheck(planted.factory, workload, {.seed = seed, .images = 1});
  RC_ASSERT(!result.passed);
  RC_ASSERT(result.failure.kind == FailureKind::kGarbage);
  RC_ASSERT(result.failure.sector == target);
}

}  // namespace
}  // namespace powercut::verifier
