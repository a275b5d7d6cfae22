#include "properties/scenario.h"

#include "absl/strings/str_cat.h"
#include "engine/mutant/mutant.h"
#include "properties/linear_stack.h"
#include "properties/raid1_stack.h"
#include "properties/writecache_stack.h"

namespace powercut::props {
namespace {

constexpr uint64_t kMaxLogicalSectors = uint64_t{1} << 31;  // 1 TiB

const std::vector<EngineParam>& LinearParams() {
  static const std::vector<EngineParam> params = {
      {"logical_sectors", 4096, 8, kMaxLogicalSectors, "size of the mapped device"},
      {"start_sector", 24, 0, uint64_t{1} << 30, "offset of the mapping on the SSD"},
  };
  return params;
}

const std::vector<EngineParam>& Raid1Params() {
  static const std::vector<EngineParam> params = {
      {"mirrors", 2, 2, 4, "number of mirrors (members)"},
      {"logical_sectors", 4096, 8, kMaxLogicalSectors, "size of the array"},
      {"chunk_sectors", 64, 1, uint64_t{1} << 22, "bitmap chunk, a power of two"},
      {"daemon_sleep_s", 1, 1, 3600, "bitmap daemon period (virtual seconds)"},
      {"write_mostly_mask", 0, 0, 15, "bit i: member i is write-mostly"},
      {"write_behind", 0, 0, 16383, "write-behind writes outstanding at most"},
      {"tight_layout", 0, 0, 1, "data right after the bitmap's last sector"},
      {"fault_member", 0, 0, 3, "the member the fault plan applies to"},
      {"vanish_member", 0, 0, 4, "0: none; k: member k-1 vanishes"},
      {"vanish_after_ios", 0, 0, uint64_t{1} << 32, "IOs the vanishing member completes first"},
      {"vanish_persists", 0, 0, 1, "the vanished member is gone at recovery too"},
      {"external_bitmap", 0, 0, 1, "the bitmap is a file on its own device, not on the members"},
      {"restart_at_flush", 0, 0, 1000, "0: never; k: the k-th flush stops the array cleanly and assembles it again"},
      {"readd_at_flush", 0, 0, 1000, "0: never; k: from the k-th flush on, the first one that finds a member faulty re-adds it"},
      {"old_member", 0, 0, 4, "0: none; k: member k-1 is put back at the recovery as it was created"},
      {"old_bitmap_file", 0, 0, 1, "the bitmap file is put back at the recovery as it was created"},
  };
  return params;
}

// The scenario's value for `name`, or its default.
uint64_t Param(const Scenario& scenario, const std::vector<EngineParam>& known,
               const std::string& name) {
  for (const auto& [key, value] : scenario.params) {
    if (key == name) return value;
  }
  for (const EngineParam& param : known) {
    if (param.name == name) return param.default_value;
  }
  return 0;
}

Raid1StackOptions Raid1OptionsOf(const Scenario& scenario) {
  Raid1StackOptions options;
  options.mirrors = static_cast<uint32_t>(Param(scenario, Raid1Params(), "mirrors"));
  options.logical_sectors = Param(scenario, Raid1Params(), "logical_sectors");
  options.chunk_sectors = Param(scenario, Raid1Params(), "chunk_sectors");
  options.daemon_sleep_s = static_cast<uint32_t>(Param(scenario, Raid1Params(), "daemon_sleep_s"));
  options.write_mostly_mask =
      static_cast<uint32_t>(Param(scenario, Raid1Params(), "write_mostly_mask"));
  options.write_behind = static_cast<uint32_t>(Param(scenario, Raid1Params(), "write_behind"));
  options.tight_layout = Param(scenario, Raid1Params(), "tight_layout") != 0;
  options.fault_member = static_cast<uint32_t>(Param(scenario, Raid1Params(), "fault_member"));
  options.vanish_member = static_cast<uint32_t>(Param(scenario, Raid1Params(), "vanish_member"));
  options.vanish_after_ios = Param(scenario, Raid1Params(), "vanish_after_ios");
  options.vanish_persists = Param(scenario, Raid1Params(), "vanish_persists") != 0;
  options.external_bitmap = Param(scenario, Raid1Params(), "external_bitmap") != 0;
  options.restart_at_flush =
      static_cast<uint32_t>(Param(scenario, Raid1Params(), "restart_at_flush"));
  options.readd_at_flush = static_cast<uint32_t>(Param(scenario, Raid1Params(), "readd_at_flush"));
  options.old_member = static_cast<uint32_t>(Param(scenario, Raid1Params(), "old_member"));
  options.old_bitmap_file = Param(scenario, Raid1Params(), "old_bitmap_file") != 0;
  options.ssd = scenario.ssd;
  options.faults = scenario.faults;
  return options;
}

absl::StatusOr<StackFactory> MakeFactory(const Scenario& scenario) {
  if (scenario.engine == "linear") {
    LinearStackOptions options;
    options.logical_sectors = Param(scenario, LinearParams(), "logical_sectors");
    options.start_sector = Param(scenario, LinearParams(), "start_sector");
    options.ssd = scenario.ssd;
    options.faults = scenario.faults;
    return LinearStackFactory(options);
  }
  if (scenario.engine == "writecache") {
    absl::StatusOr<WritecacheStackOptions> options = WritecacheOptionsFromParams(
        [&](const std::string& name) { return Param(scenario, WritecacheEngineParams(), name); });
    if (!options.ok()) return options.status();
    options->ssd = scenario.ssd;
    return WritecacheStackFactory(*options);
  }
  if (scenario.engine == "raid1") {
    return Raid1StackFactory(Raid1OptionsOf(scenario));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown engine '", scenario.engine, "'"));
}

// Restores the previously active mutant when a run ends.
class MutantScope {
 public:
  MutantScope() : previous_(mutant::Active()) {}
  ~MutantScope() { (void)mutant::SetActive(previous_); }

 private:
  mutant::Id previous_;
};

}  // namespace

std::vector<std::string> EngineNames() { return {"linear", "writecache", "raid1"}; }

absl::StatusOr<std::vector<EngineParam>> EngineParams(const std::string& engine) {
  if (engine == "linear") return LinearParams();
  if (engine == "writecache") return WritecacheEngineParams();
  if (engine == "raid1") return Raid1Params();
  return absl::InvalidArgumentError(absl::StrCat("unknown engine '", engine, "'"));
}

absl::StatusOr<uint64_t> LogicalSectors(const Scenario& scenario) {
  absl::StatusOr<std::vector<EngineParam>> known = EngineParams(scenario.engine);
  if (!known.ok()) return known.status();
  return Param(scenario, *known, "logical_sectors");
}

absl::Status Validate(const Scenario& scenario) {
  absl::StatusOr<std::vector<EngineParam>> known = EngineParams(scenario.engine);
  if (!known.ok()) return known.status();
  for (const auto& [key, value] : scenario.params) {
    const EngineParam* param = nullptr;
    for (const EngineParam& p : *known) {
      if (p.name == key) param = &p;
    }
    if (param == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("engine '", scenario.engine, "' has no parameter '", key, "'"));
    }
    if (value < param->min || value > param->max) {
      return absl::InvalidArgumentError(absl::StrCat("parameter ", key, " = ", value,
                                                     " is outside [", param->min, ", ",
                                                     param->max, "]"));
    }
  }
  const uint64_t sectors = *LogicalSectors(scenario);
  if (scenario.workload.clients == 0 || scenario.workload.clients > 1024) {
    return absl::InvalidArgumentError("clients must be between 1 and 1024");
  }
  for (size_t i = 0; i < scenario.workload.ops.size(); ++i) {
    const Op& op = scenario.workload.ops[i];
    if (op.client >= scenario.workload.clients) {
      return absl::InvalidArgumentError(absl::StrCat("op ", i + 1, " (", ToString(op),
                                                     ") names a client beyond ",
                                                     scenario.workload.clients - 1));
    }
    if (op.kind == OpKind::kFlush) continue;
    if (op.sectors == 0 || op.sector >= sectors || op.sectors > sectors - op.sector) {
      return absl::InvalidArgumentError(absl::StrCat(
          "op ", i + 1, " (", ToString(op), ") is outside the ", sectors, "-sector device"));
    }
  }
  if (scenario.images == 0 || scenario.images > 100000) {
    return absl::InvalidArgumentError("images must be between 1 and 100000");
  }
  if (!scenario.mutant.empty()) {
    const mutant::Info* info = mutant::Find(scenario.mutant);
    if (info == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown mutant '", scenario.mutant, "'"));
    }
    if (!mutant::Available()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the scenario needs mutant '", scenario.mutant,
          "', and this build has none compiled in; use powercut_with_mutants"));
    }
  }
  if (scenario.engine == "writecache") {
    if (scenario.faults) {
      return absl::InvalidArgumentError("engine 'writecache' does not take a fault plan yet");
    }
    absl::StatusOr<WritecacheStackOptions> options = WritecacheOptionsFromParams(
        [&](const std::string& name) { return Param(scenario, *known, name); });
    if (!options.ok()) return options.status();
  }
  if (scenario.engine == "raid1") {
    const Raid1StackOptions options = Raid1OptionsOf(scenario);
    absl::StatusOr<raid1::Raid1Geometry> geometry = Raid1StackGeometry(options);
    if (!geometry.ok()) return geometry.status();
    if (options.fault_member >= options.mirrors || options.vanish_member > options.mirrors) {
      return absl::InvalidArgumentError(absl::StrCat("fault_member ", options.fault_member,
                                                     " or vanish_member ", options.vanish_member,
                                                     " names no member of ", options.mirrors));
    }
    if (options.old_member > options.mirrors) {
      return absl::InvalidArgumentError(absl::StrCat("old_member ", options.old_member,
                                                     " names no member of ", options.mirrors));
    }
    if (options.old_bitmap_file && !options.external_bitmap) {
      return absl::InvalidArgumentError("old_bitmap_file needs external_bitmap=1");
    }
    // An old member is no copy of the data: with the other member of a two-way mirror
    // vanished too (stale or gone at the recovery), none is left to recover from.
    if (options.old_member != 0 && options.vanish_member != 0 &&
        options.vanish_member != options.old_member && options.mirrors == 2) {
      return absl::InvalidArgumentError(
          "old_member beside a vanishing member leaves a two-way mirror no current copy");
    }
    if ((options.write_mostly_mask >> options.mirrors) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "write_mostly_mask ", options.write_mostly_mask, " names members beyond ",
          options.mirrors - 1));
    }
    // Fault sectors address the member below the array.
    if (scenario.faults) return faults::Validate(*scenario.faults, geometry->member_sectors);
  }
  if (scenario.faults) {
    // Fault sectors address the SSD below the engine.
    const uint64_t ssd_sectors = Param(scenario, *known, "start_sector") + sectors + 8;
    if (absl::Status valid = faults::Validate(*scenario.faults, ssd_sectors); !valid.ok()) {
      return valid;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CrashCheckResult> RunScenario(const Scenario& scenario,
                                             const ScenarioRunOptions& options) {
  if (absl::Status valid = Validate(scenario); !valid.ok()) return valid;
  absl::StatusOr<StackFactory> factory = MakeFactory(scenario);
  if (!factory.ok()) return factory.status();
  MutantScope restore;
  const mutant::Info* info = scenario.mutant.empty() ? nullptr : mutant::Find(scenario.mutant);
  if (absl::Status set = mutant::SetActive(info ? info->id : mutant::Id::kNone); !set.ok()) {
    return set;
  }
  Workload workload = scenario.workload;
  workload.device_sectors = *LogicalSectors(scenario);
  CrashCheckOptions check{.seed = scenario.seed,
                          .crash_after_steps = scenario.crash_after_steps,
                          .images = scenario.images,
                          .observer = options.observer};
  return RunCrashCheck(*factory, workload, check);
}

}  // namespace powercut::props
