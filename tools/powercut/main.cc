// powercut: the command-line front end.
//
// Exit codes (documented in docs/cli.md): 0 every check passed, 1 a property failed,
// 2 a usage or input error. This is the only file that includes CLI11.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "scenario/seeded_scenarios.h"
#include "tools/powercut/campaign.h"
#include "tools/powercut/inspect_command.h"
#include "tools/powercut/mutants_command.h"
#include "tools/powercut/replay_command.h"
#include "tools/powercut/scenario_command.h"
#include "tools/powercut/shrink_command.h"

namespace {

constexpr int kExitPass = 0;
constexpr int kExitPropertyFailure = 1;
constexpr int kExitUsage = 2;

int RunCommand(const powercut::tools::CampaignOptions& options, const std::string& engines,
               const std::string& families, bool json) {
  absl::StatusOr<std::vector<powercut::verifier::ScenarioFamily>> selected =
      engines.empty() && families.empty() ? powercut::tools::AllFamilies()
                                          : powercut::tools::SelectFamilies(engines, families);
  if (!selected.ok()) {
    std::cerr << "powercut run: " << selected.status().message() << "\n";
    return kExitUsage;
  }
  const bool tty = isatty(fileno(stderr)) != 0;
  auto progress = [tty](const std::string& line) {
    if (tty) {
      std::cerr << "\r" << line << "\033[K" << std::flush;
    }
  };
  powercut::tools::CampaignSummary summary =
      powercut::tools::RunCampaign(*selected, options, progress);
  if (tty) std::cerr << "\r\033[K";
  std::cout << (json ? powercut::tools::FormatSummaryJson(summary)
                     : powercut::tools::FormatSummaryTable(summary));
  return summary.passed() ? kExitPass : kExitPropertyFailure;
}

// "a, b, c<last>d": every engine's name.
std::string EngineNames(const std::string& last) {
  const std::vector<const powercut::verifier::EngineEntry*>& engines = powercut::verifier::Engines();
  std::string names;
  for (size_t i = 0; i < engines.size(); ++i) {
    names += (i == 0 ? "" : i + 1 == engines.size() ? last : ", ") + engines[i]->name;
  }
  return names;
}

// "a, b, c<last>d": every scenario family's name.
std::string FamilyNames(const std::string& last) {
  const std::vector<powercut::verifier::ScenarioFamily>& families = powercut::verifier::ScenarioFamilies();
  std::string names;
  for (size_t i = 0; i < families.size(); ++i) {
    names += (i == 0 ? "" : i + 1 == families.size() ? last : ", ") + families[i].name;
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"powercut: deterministic crash-consistency verifier for block-storage engines"};
  app.require_subcommand(1);

  powercut::tools::CampaignOptions run_options;
  bool run_json = false;
  CLI::App* run = app.add_subcommand(
      "run", "Run the default campaign: seeded workloads, power cuts and crash images over "
             "every engine, with a summary table");
  run->add_option("--seeds", run_options.seeds, "Seeds per engine")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  run->add_option("--first-seed", run_options.first_seed, "First seed")->capture_default_str();
  run->add_option("--max-seconds", run_options.max_seconds, "Wall-clock bound for the campaign")
      ->check(CLI::Range(0.001, 1e7))
      ->capture_default_str();
  run->add_option("--images", run_options.images_per_seed, "Crash images checked per seed")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run->add_flag_callback(
      "--check-determinism", [&run_options] { run_options.determinism_every = 1; },
      "Re-run every seed and compare trace hashes (same as --determinism-every 1)");
  run->add_option("--determinism-every", run_options.determinism_every,
                  "Re-run every N-th seed and compare trace hashes (0: never)")
      ->capture_default_str();
  std::string run_engines, run_families;
  run->add_option("--engines", run_engines,
                  "Comma-separated engines whose scenario families to check (" +
                      EngineNames(", ") + "; default: every family)");
  run->add_option("--families", run_families,
                  "Comma-separated scenario families to check (" + FamilyNames(", ") +
                      "; default: every family)");
  run->add_flag("--json", run_json, "Print the summary as JSON");

  powercut::tools::ReplayCommandOptions replay_options;
  CLI::App* replay = app.add_subcommand(
      "replay", "Re-run a replay file bit-for-bit; exit 0 if it gives the verdict it expects");
  replay->add_option("file", replay_options.file, "Replay file (docs/replay-format.md)")
      ->required();
  replay->add_flag("--timeline", replay_options.timeline,
                   "Print one line per event (time, actor, op, id, sectors, flags)");
  replay->add_option("--trace", replay_options.trace_path,
                     "Write a Chrome/Perfetto trace JSON (open in ui.perfetto.dev)");
  replay->add_flag("--json", replay_options.json, "Print the result as JSON");
  replay->add_flag("--check-determinism", replay_options.check_determinism,
                   "Run the file twice; fail unless both runs give the same verdict and trace hash");

  powercut::tools::ShrinkCommandOptions shrink_options;
  CLI::App* shrink = app.add_subcommand(
      "shrink", "Minimise a failing replay file (fewer ops, clients, sizes, faults; an "
                "earlier crash) while it still fails the same way");
  shrink->add_option("file", shrink_options.file, "Failing replay file")->required();
  shrink->add_option("-o,--output", shrink_options.output,
                     "Write the shrunk replay file here (default: standard output)");
  shrink->add_option("--max-runs", shrink_options.max_runs, "Budget of scenario runs")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
      ->capture_default_str();

  powercut::tools::InspectCommandOptions inspect_options;
  CLI::App* inspect = app.add_subcommand(
      "inspect", "Decode on-media metadata of an image (mdadm -X / --examine / dmsetup "
                 "status wording) and report inconsistencies");
  inspect->add_option("image", inspect_options.image, "Image file")->required();
  inspect->add_option("--format", inspect_options.format,
                      "bitmap: an external bitmap file; md: a RAID1 member image; writecache: "
                      "a dm-writecache cache device")
      ->required()
      ->check(CLI::IsMember({"bitmap", "md", "writecache"}));
  inspect->add_option("--start-sector", inspect_options.start_sector,
                      "writecache: the table's start_sector (where the cache area begins)");
  inspect->add_option("--origin-sectors", inspect_options.origin_sectors,
                      "writecache: size of the origin in sectors, to report entries past its end");
  inspect->add_flag("--json", inspect_options.json, "Print the decoded fields as JSON");

  powercut::tools::ScenarioCommandOptions scenario_options;
  CLI::App* scenario = app.add_subcommand(
      "scenario", "Print seed N of a seeded scenario family (what `run` checks for that seed) "
                  "as a replay file");
  scenario->add_option("--family", scenario_options.family, FamilyNames(" or "))
      ->required();
  scenario->footer(powercut::tools::EngineParametersHelp());
  scenario->add_option("--seed", scenario_options.seed, "Seed")->required();
  scenario->add_option("--images", scenario_options.images, "Crash images the file asks for")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  scenario->add_option("--comment", scenario_options.comment,
                       "Comment for the file (default: names the family and seed)");
  scenario->add_option("-o,--output", scenario_options.output,
                       "Write the replay file here (default: standard output)");

  powercut::tools::MutantsCommandOptions mutants_options;
  CLI::App* mutants = app.add_subcommand(
      "mutants", "The mutation matrix: is every deliberate bug killed, within how many "
                 "seeds and seconds (needs powercut_with_mutants)");
  mutants->add_option("--seeds", mutants_options.seeds, "Seed budget per mutant")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
      ->capture_default_str();
  mutants->add_option("--images", mutants_options.images, "Crash images per seed")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  mutants->add_option("--trials", mutants_options.trials,
                      "Hunt each mutant over this many disjoint seed ranges; report medians")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  mutants->add_option("--only", mutants_options.only, "Run only this mutant");
  mutants->add_flag("--json", mutants_options.json, "Print the matrix as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (run->parsed()) return RunCommand(run_options, run_engines, run_families, run_json);
  if (shrink->parsed()) return powercut::tools::RunShrinkCommand(shrink_options, std::cout, std::cerr);
  if (inspect->parsed()) return powercut::tools::RunInspectCommand(inspect_options, std::cout, std::cerr);
  if (scenario->parsed()) {
    return powercut::tools::RunScenarioCommand(scenario_options, std::cout, std::cerr);
  }
  if (mutants->parsed()) return powercut::tools::RunMutantsCommand(mutants_options, std::cout, std::cerr);
  if (replay->parsed()) return powercut::tools::RunReplayCommand(replay_options, std::cout, std::cerr);
  return kExitUsage;
}
