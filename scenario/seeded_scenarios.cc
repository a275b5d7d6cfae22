#include "scenario/seeded_scenarios.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "bindings/engine_registry.h"
#include "bindings/raid1/raid1_binding.h"
#include "bindings/writecache/writecache_binding.h"
#include "sim/prng.h"

namespace powercut::verifier {
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

// The logical device size of a seed: `usual` for 3 in 4 seeds; else, from a stream of
// its own (so a seed's other draws do not change), 2^32 - 8 .. 2^32 + 8 sectors, the
// last few sectors below 2^40, or a size drawn across the whole range 2^11 .. 2^40.
uint64_t DrawDeviceSectors(const sim::Prng& root, uint64_t usual) {
  sim::Prng prng = root.Fork("device-size");
  constexpr uint64_t k2To32 = uint64_t{1} << 32;
  switch (prng.Uniform(16)) {
    case 12:
    case 13:
      return k2To32 - 8 + prng.Uniform(17);
    case 14:
      return kMaxLogicalSectors - prng.Uniform(9);
    case 15:
      return (uint64_t{1} << (11 + prng.Uniform(29))) + prng.Uniform(4096);
    default:
      return usual;
  }
}

// Later power cuts for 1 seed in 4, from a stream of their own (so a seed's other
// draws do not change): a second cut, and for half of those a third, each after a
// workload of its own (up to half the first's operations).
std::vector<LaterCut> DrawLaterCuts(const sim::Prng& root, WorkloadShape shape) {
  sim::Prng prng = root.Fork("later-cuts");
  if (prng.Uniform(4) != 0) return {};
  shape.max_ops = std::max<uint32_t>(shape.max_ops / 2, 1);
  std::vector<LaterCut> cuts(1 + prng.Uniform(2));
  for (LaterCut& cut : cuts) cut.ops = GenerateWorkload(prng, shape).ops;
  return cuts;
}

// A scenario of the seed of `root` whose workload is drawn from its "workload" stream,
// and its later cuts from theirs.
Scenario Seeded(std::string engine, const sim::Prng& root, const WorkloadShape& shape) {
  Scenario scenario;
  scenario.engine = std::move(engine);
  scenario.seed = root.seed();
  sim::Prng prng = root.Fork("workload");
  scenario.workload = GenerateWorkload(prng, shape);
  scenario.later_cuts = DrawLaterCuts(root, shape);
  return scenario;
}

// Control operations for 1 seed in 3, from a stream of their own (so a seed's other
// draws do not change): one to three of `commands`, each by a drawn client at a drawn
// place of a drawn run (the first, or one after a later cut).
void DrawControls(const sim::Prng& root, const std::vector<std::string>& commands,
                  Scenario& scenario) {
  sim::Prng prng = root.Fork("controls");
  if (commands.empty() || prng.Uniform(3) != 0) return;
  const uint64_t count = 1 + prng.Uniform(3);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t run = prng.Uniform(scenario.later_cuts.size() + 1);
    std::vector<Op>& ops = OpsOfRun(scenario, run);
    const auto at = static_cast<std::ptrdiff_t>(prng.Uniform(ops.size() + 1));
    ops.insert(ops.begin() + at,
               Op{.kind = OpKind::kControl,
                  .client = static_cast<uint32_t>(prng.Uniform(scenario.workload.clients)),
                  .control = commands[prng.Uniform(commands.size())]});
  }
}

// The progress property after the first workload (Scenario::check_progress) for 1 seed
// in 4, from a stream of its own.
void DrawProgress(const sim::Prng& root, Scenario& scenario) {
  scenario.check_progress = root.Fork("progress").Uniform(4) == 0;
}

// The operator's commands for a mirror set of `mirrors`: re-add and restart, and
// failing a member unless something else fails members (faults, a vanishing member, an
// old device put back: two failures could leave no current copy, which is no bug).
std::vector<std::string> Raid1Controls(const Scenario& scenario, uint64_t mirrors) {
  std::vector<std::string> commands = {"readd", "restart"};
  for (const auto& [name, value] : scenario.params) {
    if (value != 0 && (name == "vanish_member" ||
                       name == "old_member" || name == "old_bitmap_file")) {
      return commands;
    }
  }
  if (scenario.faults) return commands;
  for (uint64_t k = 0; k < mirrors; ++k) commands.push_back(absl::StrCat("fail ", k));
  return commands;
}

Scenario Linear(const sim::Prng& root) {
  const uint64_t sectors = DrawDeviceSectors(root, 2048);
  Scenario scenario = Seeded("linear", root, Shape(sectors, 0));
  scenario.params = {{"logical_sectors", sectors}};
  return scenario;
}

Scenario WriteCacheWith(WriteCacheStackOptions options, const sim::Prng& root) {
  // The origin holds whole cache blocks.
  options.logical_sectors -= options.logical_sectors % (options.params.block_size / 512);
  Scenario scenario = Seeded("writecache", root,
                             Shape(options.logical_sectors, options.params.block_size / 512));
  scenario.params = WriteCacheParams(options);
  scenario.ssd = options.ssd;
  // With IO errors injected, no suspend: a resume after the cache's error re-reads its
  // metadata, as the kernel's does, and so drops acknowledged writes the failed commit
  // left uncommitted (docs/writecache.md, "Suspend after an error").
  std::vector<std::string> commands;
  for (const char* command : kWriteCacheControls) {
    if (options.fault_device == 0 || std::string_view(command) != "suspend") commands.push_back(command);
  }
  DrawControls(root, commands, scenario);
  // Errors stop writeback (the cache's sticky error): no progress to ask for.
  if (options.fault_device == 0) DrawProgress(root, scenario);
  return scenario;
}

Scenario WriteCache(const sim::Prng& root) {
  sim::Prng prng = root.Fork("writecache-options");
  return WriteCacheWith(DrawWriteCacheOptions(prng, DrawDeviceSectors(root, 1024)), root);
}

Scenario WriteCacheDrain(const sim::Prng& root) {
  sim::Prng prng = root.Fork("writecache-drain-options");
  Scenario scenario = WriteCacheWith(DrawDrainOptions(prng), root);
  // The windows this family hunts are short: the crash may fall anywhere in the run.
  scenario.crash_after_steps = 1 + prng.Uniform(8 * scenario.workload.ops.size() + 16);
  return scenario;
}

Scenario WriteCachePmem(const sim::Prng& root) {
  sim::Prng prng = root.Fork("writecache-pmem-options");
  return WriteCacheWith(DrawPmemOptions(prng, DrawDeviceSectors(root, 1024)), root);
}

// SSD mode with IO errors on the cache or the origin while the workload runs: the
// engine's error paths (a failed metadata or writeback IO makes the cache fail for
// good, as the kernel's does; a failed data write leaves its block undefined).
Scenario WriteCacheFaults(const sim::Prng& root) {
  sim::Prng prng = root.Fork("writecache-faults-options");
  WriteCacheStackOptions options = DrawWriteCacheOptions(prng, DrawDeviceSectors(root, 1024));
  options.fault_device = static_cast<uint32_t>(1 + prng.Uniform(2));
  Scenario scenario = WriteCacheWith(options, root);
  faults::FaultPlan plan;
  plan.io_error_ppm = static_cast<uint32_t>(2'000 + prng.Uniform(100'000));
  const faults::FaultOps ops[] = {faults::kFaultAllOps, faults::kFaultWrite, faults::kFaultRead,
                                  static_cast<faults::FaultOps>(faults::kFaultWrite | faults::kFaultFlush)};
  plan.io_error_ops = ops[prng.Uniform(4)];
  scenario.faults = plan;
  return scenario;
}

// Half the seeds of each raid1 family put the bitmap in a file on its own device, and
// a third of them stop the array cleanly at one of the first flushes and assemble it
// again. Each from a stream of its own, so the other draws of a seed do not change.
void DrawBitmapAndRestart(const sim::Prng& root, Scenario& scenario) {
  if (root.Fork("raid1-bitmap").Uniform(2) == 1) {
    scenario.params.push_back({"external_bitmap", 1});
  }
  sim::Prng restart = root.Fork("raid1-restart");
  if (restart.Uniform(3) == 0) scenario.params.push_back({"restart_at_flush", 1 + restart.Uniform(3)});
}

// The bitmap chunk for a `sectors` device: `usual` for 7 seeds in 8, else a power of two
// anywhere in the legal range, 1 sector to 2^22 (from a stream of its own, so the seed's
// other draws do not change); as Raid1ChunkFor allows (at most 65,536 chunks).
uint64_t DrawRaid1Chunk(const sim::Prng& root, uint64_t sectors, uint64_t usual) {
  sim::Prng prng = root.Fork("chunk-size");
  if (prng.Uniform(8) != 0) return Raid1ChunkFor(sectors, usual);
  return Raid1ChunkFor(sectors, uint64_t{1} << prng.Uniform(23));
}

Scenario Raid1(const sim::Prng& root) {
  const uint64_t sectors = DrawDeviceSectors(root, 2048);
  Scenario scenario = Seeded("raid1", root, Shape(sectors, 0));
  scenario.params = {{"mirrors", 2}, {"logical_sectors", sectors}};
  if (const uint64_t chunk = DrawRaid1Chunk(root, sectors, 64); chunk != 64) {
    scenario.params.push_back({"chunk_sectors", chunk});
  }
  DrawBitmapAndRestart(root, scenario);
  DrawControls(root, Raid1Controls(scenario, 2), scenario);
  DrawProgress(root, scenario);
  return scenario;
}

Scenario Raid1Faults(const sim::Prng& root) {
  sim::Prng prng = root.Fork("raid1-faults-options");
  const uint64_t mirrors = 2 + prng.Uniform(2);
  const uint64_t chunks[] = {8, 32, 64, 256};
  const uint64_t sectors = DrawDeviceSectors(root, 1024);
  Scenario scenario = Seeded("raid1", root, Shape(sectors, 0));
  scenario.params = {{"mirrors", mirrors},
                     {"logical_sectors", sectors},
                     {"chunk_sectors", DrawRaid1Chunk(root, sectors, chunks[prng.Uniform(4)])}};
  // Slow members stretch the run over several daemon periods, so bits are cleared
  // (and must be kept) while clients write, fail and flush.
  if (const uint64_t slow = prng.Uniform(3); slow != 0) {
    scenario.ssd.read_latency = {runtime::Microseconds(50), runtime::Milliseconds(40)};
    scenario.ssd.write_latency = {runtime::Microseconds(50), runtime::Milliseconds(300 * slow * slow)};
    scenario.ssd.flush_latency = {runtime::Microseconds(100), runtime::Milliseconds(400 * slow * slow)};
  }
  scenario.ssd.volatile_cache = prng.Uniform(5) != 0;
  const uint64_t member = prng.Uniform(mirrors);
  const uint64_t kind = prng.Uniform(4);
  if (kind == 1 || kind == 3) {
    faults::FaultPlan plan;
    plan.io_error_ppm = static_cast<uint32_t>(10'000 + prng.Uniform(240'000));
    const faults::FaultOps ops[] = {faults::kFaultAllOps, faults::kFaultWrite,
                                    static_cast<faults::FaultOps>(faults::kFaultWrite |
                                                                  faults::kFaultFlush)};
    plan.io_error_ops = ops[prng.Uniform(3)];
    scenario.faults = plan;
    scenario.params.push_back({"fault_member", member});
  }
  if (kind >= 2) {
    scenario.params.push_back({"vanish_member", 1 + (kind == 3 ? (member + 1) % mirrors : member)});
    // Not before the first assembly is done (about eight IOs per member).
    scenario.params.push_back({"vanish_after_ios", 16 + prng.Uniform(200)});
    // A member gone for good while another one failed too would be a double failure of
    // a two-way mirror, which no RAID1 survives.
    const bool persists = prng.Uniform(3) == 0 && !(kind == 3 && mirrors == 2);
    scenario.params.push_back({"vanish_persists", persists ? 1u : 0u});
  }
  if (prng.Uniform(3) == 0) {
    scenario.params.push_back({"write_mostly_mask", uint64_t{1} << (mirrors - 1)});
    scenario.params.push_back({"write_behind", prng.Uniform(2) * (1 + prng.Uniform(64))});
  }
  if (prng.Uniform(3) == 0) scenario.params.push_back({"tight_layout", 1});
  DrawBitmapAndRestart(root, scenario);
  DrawControls(root, Raid1Controls(scenario, mirrors), scenario);
  DrawProgress(root, scenario);
  return scenario;
}

// Old devices put back at the recovery: a member as it was created (a full re-add,
// I11) or, with a bitmap file, sometimes the file as it was created (stale: a full
// resync, I10); for a third of the seeds another member vanishes before the power cut
// (a bitmap-based re-add beside the full one); for half of them faulty members are
// re-added while the array runs.
Scenario Raid1ReAdd(const sim::Prng& root) {
  sim::Prng prng = root.Fork("raid1-readd-options");
  const uint64_t mirrors = 2 + prng.Uniform(2);
  const uint64_t chunks[] = {8, 32, 64};
  const uint64_t sectors = DrawDeviceSectors(root, 1024);
  Scenario scenario = Seeded("raid1", root, Shape(sectors, 0));
  scenario.params = {{"mirrors", mirrors},
                     {"logical_sectors", sectors},
                     {"chunk_sectors", DrawRaid1Chunk(root, sectors, chunks[prng.Uniform(3)])}};
  const bool external = prng.Uniform(2) == 1;
  if (external) scenario.params.push_back({"external_bitmap", 1});
  const uint64_t old = 1 + prng.Uniform(mirrors);
  const bool old_file = external && prng.Uniform(3) == 0;
  const bool vanish = prng.Uniform(3) == 0;
  // Half the seeds re-add faulty members while the array runs (from a stream of its
  // own): a member vanishes if none does yet, comes back at one of the first flushes
  // and is re-added (I11).
  sim::Prng hot = root.Fork("raid1-hot-readd");
  const bool hot_readd = hot.Uniform(2) == 0;
  if (vanish || hot_readd) {
    scenario.params.push_back({"vanish_member", 1 + old % mirrors});
    scenario.params.push_back(
        {"vanish_after_ios", hot_readd ? 10 + hot.Uniform(20) : 16 + prng.Uniform(200)});
  }
  if (hot_readd) scenario.params.push_back({"readd_at_flush", 1 + hot.Uniform(3)});
  if (old_file) {
    scenario.params.push_back({"old_bitmap_file", 1});
  } else if (mirrors > 2 || !(vanish || hot_readd)) {
    // (An old member beside a vanished one would leave two mirrors no current copy.)
    scenario.params.push_back({"old_member", old});
    // A third of these seeds (from a stream of their own) put IO errors on the old
    // member during the recovery: its re-add, the resync copying to it. Not with later
    // power cuts: a cut during a recovery can leave that member the only fresh one (its
    // superblock update kept, the others' lost), and a resync that cannot read its only
    // source refuses to start, as md's does: two failures, not a bug.
    sim::Prng faulty = root.Fork("raid1-readd-faults");
    if (faulty.Uniform(3) == 0 && scenario.later_cuts.empty()) {
      faults::FaultPlan plan;
      plan.io_error_ppm = static_cast<uint32_t>(20'000 + faulty.Uniform(200'000));
      const faults::FaultOps ops[] = {faults::kFaultAllOps, faults::kFaultWrite, faults::kFaultRead,
                                      static_cast<faults::FaultOps>(faults::kFaultWrite |
                                                                    faults::kFaultFlush)};
      plan.io_error_ops = ops[faulty.Uniform(4)];
      scenario.faults = plan;
      scenario.params.push_back({"fault_member", old - 1});
      scenario.params.push_back({"faults_at_recovery", 1});
    }
  }
  DrawControls(root, Raid1Controls(scenario, mirrors), scenario);
  DrawProgress(root, scenario);
  return scenario;
}

// A built-in family: drawn from a generator, the seeded draw being the generator of the seed.
ScenarioFamily BuiltIn(std::string name, std::string engine, Scenario (*draw_from)(const sim::Prng&)) {
  return {std::move(name), std::move(engine),
          [draw_from](uint64_t seed) { return draw_from(sim::Prng(seed)); }, draw_from};
}

std::vector<ScenarioFamily>& FamilyTable() {
  static std::vector<ScenarioFamily> families = {
      BuiltIn("linear", "linear", Linear),
      BuiltIn("writecache", "writecache", WriteCache),
      BuiltIn("writecache-drain", "writecache", WriteCacheDrain),
      BuiltIn("writecache-pmem", "writecache", WriteCachePmem),
      BuiltIn("writecache-faults", "writecache", WriteCacheFaults),
      BuiltIn("raid1", "raid1", Raid1),
      BuiltIn("raid1-faults", "raid1", Raid1Faults),
      BuiltIn("raid1-readd", "raid1", Raid1ReAdd),
  };
  return families;
}

}  // namespace

const std::vector<ScenarioFamily>& ScenarioFamilies() { return FamilyTable(); }

absl::Status RegisterScenarioFamily(ScenarioFamily family) {
  if (family.name.empty() || family.engine.empty() || !family.draw) {
    return absl::InvalidArgumentError("a scenario family needs a name, an engine and a draw function");
  }
  if (FindScenarioFamily(family.name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("a scenario family called '", family.name, "' is already known"));
  }
  if (FindEngine(family.engine) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("family '", family.name, "': no engine called '",
                                                   family.engine, "' is registered"));
  }
  FamilyTable().push_back(std::move(family));
  return absl::OkStatus();
}

Scenario SeededScenario(std::string engine, uint64_t seed, uint64_t device_sectors,
                        uint32_t alignment_sectors) {
  return Seeded(std::move(engine), sim::Prng(seed), Shape(device_sectors, alignment_sectors));
}

Scenario DrawScenario(const ScenarioFamily& family, const sim::Prng& root) {
  return family.draw_from ? family.draw_from(root) : family.draw(root.seed());
}

const ScenarioFamily* FindScenarioFamily(const std::string& name) {
  for (const ScenarioFamily& family : ScenarioFamilies()) {
    if (family.name == name) return &family;
  }
  return nullptr;
}

}  // namespace powercut::verifier
