#include "tools/powercut/parity_command.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/io/sector_range.h"
#include "harness/sector_stamp.h"
#include "nlohmann/json.hpp"
#include "scenario/parity.h"
#include "tools/powercut/image_files.h"
#include "tools/powercut/inspect_command.h"
#include "tools/powercut/scenario_file.h"

namespace powercut::tools {
namespace {

using nlohmann::ordered_json;

constexpr int kExitSame = 0;
constexpr int kExitDiffer = 1;
constexpr int kExitUsage = 2;

// Metadata fields that follow the clock or the file's name, never the workload: left
// out of the comparison, with the reason the report prints.
const std::map<std::string, std::string>& ExcludedFields() {
  static const std::map<std::string, std::string> excluded = {
      {"Filename", "the image's path, different by construction"},
      {"Update Time", "wall clock on real files, virtual time in the simulator"},
      {"Creation Time", "wall clock on real files, virtual time in the simulator"},
      {"Events", "counts superblock updates, which follow the bitmap daemon's timer"},
      {"Events Cleared", "the event count when bits were last cleared (daemon timing)"},
      {"Checksum", "covers the time and event fields above"},
      {"seq_count", "counts commits, which the autocommit timer also makes"},
  };
  return excluded;
}

// How `powercut inspect` decodes device `name` of `engine`, or nothing for a device
// without metadata of its own (an origin, a linear target's disk).
std::optional<InspectCommandOptions> MetadataFormat(const verifier::Scenario& scenario,
                                                    const std::string& name) {
  if (scenario.engine == "writecache" && name == "cache") {
    InspectCommandOptions options{.format = "writecache"};
    for (const auto& [param, value] : scenario.params) {
      if (param == "start_sector") options.start_sector = value;
    }
    return options;
  }
  if (scenario.engine == "raid1" && name.starts_with("ssd")) return InspectCommandOptions{.format = "md"};
  if (scenario.engine == "raid1" && name == "bitmap") return InspectCommandOptions{.format = "bitmap"};
  return std::nullopt;
}

// One field that differs.
struct FieldDifference {
  std::string field;
  std::string simulated;
  std::string real;
};

// Decodes both images and lists the fields that differ (excluded ones aside).
absl::StatusOr<std::vector<FieldDifference>> CompareMetadata(InspectCommandOptions options,
                                                             const verifier::ParityDevice& device,
                                                             std::set<std::string>& excluded) {
  options.image = device.sim_path;
  absl::StatusOr<std::vector<inspect::Report>> simulated = InspectImage(options);
  if (!simulated.ok()) return simulated.status();
  options.image = device.real_path;
  absl::StatusOr<std::vector<inspect::Report>> real = InspectImage(options);
  if (!real.ok()) return real.status();
  std::vector<FieldDifference> differences;
  if (simulated->size() != real->size()) {
    differences.push_back({"reports", absl::StrCat(simulated->size()), absl::StrCat(real->size())});
    return differences;
  }
  for (size_t r = 0; r < simulated->size(); ++r) {
    std::map<std::string, std::string> real_fields((*real)[r].fields.begin(), (*real)[r].fields.end());
    for (const auto& [field, value] : (*simulated)[r].fields) {
      if (ExcludedFields().contains(field)) {
        excluded.insert(field);
        continue;
      }
      const std::string& other = real_fields[field];
      if (other != value) differences.push_back({field, value, other});
    }
    if ((*simulated)[r].problems != (*real)[r].problems) {
      differences.push_back({"inconsistencies", absl::StrJoin((*simulated)[r].problems, "; "),
                             absl::StrJoin((*real)[r].problems, "; ")});
    }
  }
  return differences;
}

// What one side holds at `sector` of its logical dump, for the report.
std::string Holds(const std::string& path, uint64_t sector) {
  absl::StatusOr<std::vector<std::byte>> bytes = ReadImageSector(path, sector);
  if (!bytes.ok()) return std::string(bytes.status().message());
  return verifier::DecodeSector(*bytes, sector).Describe();
}

// Sectors whose last operation in `workload` (run in order) was a discard: each may
// read as zeroes or as any data written to it before (the BlockDevice contract), so the
// two sides may legally differ there.
std::vector<io::SectorRange> DiscardedLast(const verifier::Workload& workload) {
  std::vector<io::SectorRange> discarded;
  for (const verifier::Op& op : workload.ops) {
    if (op.kind == verifier::OpKind::kDiscard) {
      discarded.push_back({op.sector, op.sectors});
      discarded = io::Unite(std::move(discarded));
    } else if (op.kind == verifier::OpKind::kWrite) {
      std::vector<io::SectorRange> kept;
      for (const io::SectorRange& range : discarded) {
        if (range.first < op.sector) kept.push_back({range.first, std::min(range.end(), op.sector) - range.first});
        const uint64_t end = op.sector + op.sectors;
        if (range.end() > end) kept.push_back({std::max(range.first, end), range.end() - std::max(range.first, end)});
      }
      discarded = std::move(kept);
    }
  }
  return discarded;
}

// A discarded sector may differ when each side holds zeroes or data once written there.
bool LegalAfterDiscard(uint64_t sector, std::span<const std::byte> bytes) {
  const verifier::DecodedSector decoded = verifier::DecodeSector(bytes, sector);
  return decoded.kind == verifier::SectorKind::kZero ||
         (decoded.kind == verifier::SectorKind::kStamped && decoded.target_sector == sector);
}

}  // namespace

int RunParityCommand(const ParityCommandOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<verifier::Scenario> scenario =
      LoadScenarioFrom(options.file, options.family, options.seed);
  if (!scenario.ok()) {
    err << "powercut parity: " << scenario.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<verifier::ParityRun> run =
      verifier::RunParity(*scenario, {.folder = options.dir, .buffered = options.buffered});
  if (!run.ok()) {
    err << "powercut parity: " << run.status().message() << "\n";
    return kExitUsage;
  }
  bool same = true;
  ordered_json report = {{"engine", scenario->engine},
                         {"ops", run->ops},
                         {"logical_sectors", run->logical_sectors}};
  std::string text = absl::StrCat("parity: ", scenario->engine, ", ", run->ops,
                                  " ops run one after another, on the simulator and on files in ",
                                  options.dir, "\n");

  const std::vector<io::SectorRange> discarded = DiscardedLast(scenario->workload);
  absl::StatusOr<ImageDifference> logical = CompareImages(
      run->sim_logical, run->real_logical,
      [&discarded](uint64_t sector, std::span<const std::byte> a, std::span<const std::byte> b) {
        return !io::Clip(discarded, sector, 1).empty() && LegalAfterDiscard(sector, a) &&
               LegalAfterDiscard(sector, b);
      });
  if (!logical.ok()) {
    err << "powercut parity: " << logical.status().message() << "\n";
    return kExitUsage;
  }
  ordered_json logical_json = {{"compared_sectors", logical->compared_sectors},
                               {"differing_sectors", logical->differing_sectors},
                               {"discarded_sectors_differing", logical->tolerated_sectors}};
  if (logical->first) {
    same = false;
    const std::string simulated = Holds(run->sim_logical, *logical->first);
    const std::string real = Holds(run->real_logical, *logical->first);
    logical_json["first_difference"] = {{"sector", *logical->first},
                                        {"simulator", simulated},
                                        {"real", real}};
    absl::StrAppend(&text, "logical device: ", logical->differing_sectors, " of ",
                    logical->compared_sectors, " sectors differ; first at sector ", *logical->first,
                    ": simulator has ", simulated, ", real files have ", real, "\n");
  } else {
    absl::StrAppend(&text, "logical device: identical (", logical->compared_sectors,
                    " sectors with data compared", logical->tolerated_sectors > 0
                        ? absl::StrCat("; ", logical->tolerated_sectors,
                                       " discarded sectors differ, each side holding zeroes or "
                                       "data written there before, as a discard allows")
                        : "",
                    ")\n");
  }
  report["logical"] = logical_json;

  std::set<std::string> excluded;
  ordered_json devices = ordered_json::array();
  for (const verifier::ParityDevice& device : run->devices) {
    ordered_json entry = {{"name", device.name}, {"simulator", device.sim_path}, {"real", device.real_path}};
    absl::StatusOr<ImageDifference> raw = CompareImages(device.sim_path, device.real_path);
    if (raw.ok()) {
      entry["raw_differing_sectors"] = raw->differing_sectors;
      absl::StrAppend(&text, device.name, ": raw images ",
                      raw->first ? absl::StrCat("differ in ", raw->differing_sectors,
                                                " sectors, first at ", *raw->first)
                                 : std::string("identical"));
    }
    if (std::optional<InspectCommandOptions> format = MetadataFormat(*scenario, device.name)) {
      absl::StatusOr<std::vector<FieldDifference>> fields =
          CompareMetadata(*format, device, excluded);
      if (!fields.ok()) {
        same = false;
        entry["metadata_error"] = std::string(fields.status().message());
        absl::StrAppend(&text, "; metadata does not decode: ", fields.status().message());
      } else {
        ordered_json differing = ordered_json::array();
        for (const FieldDifference& field : *fields) {
          differing.push_back({{"field", field.field}, {"simulator", field.simulated}, {"real", field.real}});
          absl::StrAppend(&text, "\n  ", field.field, ": simulator '", field.simulated,
                          "', real files '", field.real, "'");
        }
        same = same && fields->empty();
        entry["metadata_format"] = format->format;
        entry["metadata_differences"] = differing;
        if (fields->empty()) absl::StrAppend(&text, "; ", format->format, " metadata: same fields");
      }
    }
    absl::StrAppend(&text, "\n");
    devices.push_back(entry);
  }
  report["devices"] = devices;
  ordered_json excluded_json = ordered_json::object();
  for (const std::string& field : excluded) {
    excluded_json[field] = ExcludedFields().at(field);
    absl::StrAppend(&text, "excluded: ", field, " (", ExcludedFields().at(field), ")\n");
  }
  report["excluded_fields"] = excluded_json;
  report["same"] = same;
  absl::StrAppend(&text, same ? "SAME\n" : "DIFFERENT\n");
  out << (options.json ? report.dump(2) + "\n" : text);
  return same ? kExitSame : kExitDiffer;
}

}  // namespace powercut::tools
