// The stack, registry entry and scenario families of the copy-on-write store
// (cow_binding.h).
#include "cow_binding.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sim/prng.h"

namespace cowstore {
namespace {

namespace verifier = powercut::verifier;

class CowStack : public verifier::Stack {
 public:
  explicit CowStack(std::unique_ptr<CowStore> store) : store_(std::move(store)) {}

  powercut::io::BlockDevice& logical() override { return *store_; }
  absl::Status Start() override { return store_->Start(); }

  std::optional<verifier::Violation> CheckStarted() override {
    if (std::optional<std::string> problem = store_->CheckConsistency()) {
      return verifier::Violation{.text = absl::StrCat("cow store after start: ", *problem)};
    }
    return std::nullopt;
  }

 private:
  std::unique_ptr<CowStore> store_;
};

using Field = verifier::ParamField<CowStackOptions>;

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      {{"logical_sectors", 2048, 8, uint64_t{1} << 24,
        "size of the logical device, a multiple of 8 (4 KiB blocks)"},
       [](const CowStackOptions& o) { return o.store.logical_sectors; },
       [](CowStackOptions& o, uint64_t v) { o.store.logical_sectors = v; }},
      {{"journal_sectors", 8, 1, 4096, "journal records (one sector each) between checkpoints"},
       [](const CowStackOptions& o) { return o.store.journal_sectors; },
       [](CowStackOptions& o, uint64_t v) { o.store.journal_sectors = v; }},
      {{"spare_blocks", 64, 1, uint64_t{1} << 20,
        "physical blocks beyond the logical ones (room for copies not yet committed)"},
       [](const CowStackOptions& o) { return o.store.spare_blocks; },
       [](CowStackOptions& o, uint64_t v) { o.store.spare_blocks = v; }},
      {{"broken", 0, 0, 1, "1: commit journal records without flushing their data first"},
       [](const CowStackOptions& o) -> uint64_t { return o.store.broken ? 1 : 0; },
       [](CowStackOptions& o, uint64_t v) { o.store.broken = v == 1; }},
  };
  return fields;
}

}  // namespace

verifier::StackFactory CowStackFactory(CowStackOptions options) {
  return [options](powercut::sim::World& world,
                   verifier::Devices& devices) -> absl::StatusOr<std::unique_ptr<verifier::Stack>> {
    absl::StatusOr<Geometry> geometry = Geometry::Make(
        options.store.logical_sectors, options.store.journal_sectors, options.store.spare_blocks);
    if (!geometry.ok()) return geometry.status();
    absl::StatusOr<verifier::Disk> disk = devices.AddDisk(
        {.name = "ssd", .sectors = geometry->DeviceSectors(), .simulated = options.ssd});
    if (!disk.ok()) return disk.status();
    absl::StatusOr<std::unique_ptr<CowStore>> store =
        CowStore::Create(world.scheduler(), *disk->device, options.store);
    if (!store.ok()) return store.status();
    return std::unique_ptr<verifier::Stack>(new CowStack(std::move(*store)));
  };
}

const verifier::EngineEntry& CowEngine() {
  static const verifier::EngineEntry entry{
      .name = "cow",
      .summary = "a copy-on-write block store with a superblock pair and a mapping journal "
                 "(examples/cow_store)",
      .params = verifier::ParamTable(Fields()),
      .bind = [](const verifier::ParamValues& values,
                 const verifier::EngineEnvironment& environment)
          -> absl::StatusOr<verifier::BoundEngine> {
        if (environment.faults) {
          return absl::InvalidArgumentError("cow: the engine takes no fault plan");
        }
        CowStackOptions options = verifier::OptionsFromParams(Fields(), values);
        options.ssd = environment.ssd;
        absl::StatusOr<Geometry> geometry =
            Geometry::Make(options.store.logical_sectors, options.store.journal_sectors,
                           options.store.spare_blocks);
        if (!geometry.ok()) return geometry.status();
        // Per block: two maps, the table buffers, pins; the free set per physical block.
        const uint64_t fixed = 64 * geometry->logical_blocks() + 64 * geometry->physical_blocks();
        return verifier::BoundEngine{.factory = CowStackFactory(options),
                                     .logical_sectors = options.store.logical_sectors,
                                     .memory = {.fixed_bytes = fixed}};
      },
  };
  return entry;
}

verifier::Scenario CowScenario(uint64_t seed, bool broken) {
  powercut::sim::Prng prng = powercut::sim::Prng(seed).Fork("cow-options");
  // One seed in four: a device of a few blocks with as few spares, so writes wait for
  // commits to free blocks and reads race the reuse of what they read.
  const bool tiny = prng.Uniform(4) == 0;
  const uint64_t sectors = kBlockSectors * (tiny ? prng.Range(2, 16) : prng.Range(64, 512));
  const uint64_t spares[] = {8, 16, 64};
  verifier::Scenario scenario =
      verifier::SeededScenario("cow", seed, sectors, static_cast<uint32_t>(kBlockSectors));
  scenario.params = {{"logical_sectors", sectors},
                     {"journal_sectors", prng.Range(1, 16)},
                     {"spare_blocks", tiny ? prng.Range(1, 4) : spares[prng.Uniform(3)]}};
  if (prng.Uniform(4) == 0) {
    // Slow reads, fast writes and flushes: a read outlives the commit that frees its
    // block, which must then stay out of the free list until the read ends.
    scenario.ssd.read_latency = {powercut::runtime::Microseconds(500),
                                 powercut::runtime::Milliseconds(3)};
    scenario.ssd.write_latency = {powercut::runtime::Microseconds(10),
                                  powercut::runtime::Microseconds(100)};
    scenario.ssd.flush_latency = {powercut::runtime::Microseconds(10),
                                  powercut::runtime::Microseconds(100)};
  }
  if (broken) scenario.params.push_back({"broken", 1});
  return scenario;
}

absl::Status RegisterCow() {
  if (absl::Status registered = verifier::RegisterEngine(CowEngine()); !registered.ok()) {
    return registered;
  }
  for (const bool broken : {false, true}) {
    absl::Status registered = verifier::RegisterScenarioFamily(
        {.name = broken ? "cow-broken" : "cow",
         .engine = "cow",
         .draw = [broken](uint64_t seed) { return CowScenario(seed, broken); }});
    if (!registered.ok()) return registered;
  }
  return absl::OkStatus();
}

}  // namespace cowstore
