#include "properties/seeded_scenarios.h"

#include "properties/raid1_stack.h"
#include "properties/writecache_stack.h"
#include "sim/prng.h"

namespace powercut::props {
namespace {

WorkloadShape Shape(uint64_t device_sectors, uint32_t alignment_sectors) {
  WorkloadShape shape;
  shape.device_sectors = device_sectors;
  shape.clients = 3;
  shape.max_ops = 60;
  shape.max_io_sectors = 32;
  shape.alignment_sectors = alignment_sectors;
  return shape;
}

// A scenario for `seed` whose workload is drawn from the seed's "workload" stream.
Scenario Seeded(std::string engine, uint64_t seed, const WorkloadShape& shape) {
  Scenario scenario;
  scenario.engine = std::move(engine);
  scenario.seed = seed;
  sim::Prng prng = sim::Prng(seed).Fork("workload");
  scenario.workload = GenerateWorkload(prng, shape);
  return scenario;
}

Scenario Linear(uint64_t seed) {
  Scenario scenario = Seeded("linear", seed, Shape(2048, 0));
  scenario.params = {{"logical_sectors", 2048}};
  return scenario;
}

Scenario WritecacheWith(const WritecacheStackOptions& options, uint64_t seed) {
  Scenario scenario = Seeded("writecache", seed,
                             Shape(options.logical_sectors, options.params.block_size / 512));
  scenario.params = WritecacheScenarioParams(options);
  scenario.ssd = options.ssd;
  return scenario;
}

Scenario Writecache(uint64_t seed) {
  sim::Prng prng = sim::Prng(seed).Fork("writecache-options");
  return WritecacheWith(DrawWritecacheOptions(prng, 1024), seed);
}

Scenario WritecacheDrain(uint64_t seed) {
  sim::Prng prng = sim::Prng(seed).Fork("writecache-drain-options");
  Scenario scenario = WritecacheWith(DrawDrainOptions(prng), seed);
  // The windows this family hunts are short: the crash may fall anywhere in the run.
  scenario.crash_after_steps = 1 + prng.Uniform(8 * scenario.workload.ops.size() + 16);
  return scenario;
}

Scenario WritecachePmem(uint64_t seed) {
  sim::Prng prng = sim::Prng(seed).Fork("writecache-pmem-options");
  return WritecacheWith(DrawPmemOptions(prng, 1024), seed);
}

Scenario Raid1(uint64_t seed) {
  Scenario scenario = Seeded("raid1", seed, Shape(2048, 0));
  scenario.params = {{"mirrors", 2}, {"logical_sectors", 2048}};
  return scenario;
}

}  // namespace

const std::vector<ScenarioFamily>& ScenarioFamilies() {
  static const std::vector<ScenarioFamily> families = {
      {"linear", "linear", Linear},
      {"writecache", "writecache", Writecache},
      {"writecache-drain", "writecache", WritecacheDrain},
      {"writecache-pmem", "writecache", WritecachePmem},
      {"raid1", "raid1", Raid1},
  };
  return families;
}

const ScenarioFamily* FindScenarioFamily(const std::string& name) {
  for (const ScenarioFamily& family : ScenarioFamilies()) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

}  // namespace powercut::props
