// RunCli: the command-line front end (tools/powercut/cli_main.h).
//
// Exit codes (documented in docs/cli.md): 0 every check passed, 1 a property failed,
// 2 a usage or input error. This is the only file that includes CLI11.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scenario/failure_report.h"
#include "tools/powercut/cli_main.h"
#include "scenario/seeded_scenarios.h"
#include "tools/powercut/campaign.h"
#include "tools/powercut/crash_loop_command.h"
#include "tools/powercut/fuzz_command.h"
#include "tools/powercut/image_command.h"
#include "tools/powercut/image_files.h"
#include "tools/powercut/inspect_command.h"
#include "tools/powercut/mutants_command.h"
#include "tools/powercut/parity_command.h"
#include "tools/powercut/real_crash_command.h"
#include "tools/powercut/replay_command.h"
#include "tools/powercut/scenario_command.h"
#include "tools/powercut/shrink_command.h"

namespace {

using powercut::tools::CampaignOptions;

constexpr int kExitPass = 0;
constexpr int kExitPropertyFailure = 1;
constexpr int kExitFailureNotSaved = 3;  // a property failed and its replay file is missing
constexpr int kExitUsage = 2;

// A subcommand: `app` once registered, `run` executes it after a successful parse. The
// options it fills live as long as `run`.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

// "a, b, c<last>d".
std::string JoinNames(const std::vector<std::string>& names, const std::string& last) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? last : ", ") + names[i];
  }
  return out;
}

std::string EngineNames(const std::string& last) {
  std::vector<std::string> names;
  for (const powercut::verifier::EngineEntry* engine : powercut::verifier::Engines()) {
    names.push_back(engine->name);
  }
  return JoinNames(names, last);
}

std::string FamilyNames(const std::string& last) {
  std::vector<std::string> names;
  for (const powercut::verifier::ScenarioFamily& family : powercut::verifier::ScenarioFamilies()) {
    names.push_back(family.name);
  }
  return JoinNames(names, last);
}

struct RunArgs {
  CampaignOptions campaign;
  std::string engines;
  std::string families;
  bool json = false;
};

// The signal that asked a campaign to stop (SIGINT, SIGTERM), 0 if none. The handler
// only sets it and restores the default action, so a second signal ends the process
// even inside a seed that does not finish.
volatile std::sig_atomic_t g_stop_signal = 0;

void RequestStop(int signal) {
  g_stop_signal = signal;
  std::signal(signal, SIG_DFL);
}

int RunCampaignCommand(const RunArgs& args) {
  absl::StatusOr<std::vector<powercut::verifier::ScenarioFamily>> selected =
      args.engines.empty() && args.families.empty()
          ? powercut::tools::AllFamilies()
          : powercut::tools::SelectFamilies(args.engines, args.families);
  if (!selected.ok()) {
    std::cerr << "powercut run: " << selected.status().message() << "\n";
    return kExitUsage;
  }
  if (absl::Status folder = powercut::verifier::CheckFailureFolder(); !folder.ok()) {
    std::cerr << "powercut run: " << folder.message() << "\n";
    return kExitUsage;
  }
  const bool tty = isatty(fileno(stderr)) != 0;
  auto progress = [tty](const std::string& line) {
    if (tty) {
      std::cerr << "\r" << line << "\033[K" << std::flush;
    }
  };
  CampaignOptions options = args.campaign;
  options.stop_requested = [] { return g_stop_signal != 0; };
  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  powercut::tools::CampaignSummary summary =
      powercut::tools::RunCampaign(*selected, options, progress);
  if (tty) std::cerr << "\r\033[K";
  std::cout << (args.json ? powercut::tools::FormatSummaryJson(summary)
                          : powercut::tools::FormatSummaryTable(summary));
  if (summary.interrupted) return 128 + g_stop_signal;  // as a shell reports the signal
  uint64_t unsaved = 0;
  for (const powercut::tools::FamilySummary& family : summary.families) {
    unsaved += family.unsaved_failures;
  }
  if (unsaved > 0) {
    std::cerr << "powercut run: " << unsaved
              << " failing seed(s) have no replay file (it could not be written; see each "
                 "failure for why and the command that recreates it)\n";
    return kExitFailureNotSaved;
  }
  return summary.passed() ? kExitPass : kExitPropertyFailure;
}

Command AddRun(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CampaignOptions& options = args->campaign;
  CLI::App* run = app.add_subcommand(
      "run", "Run the default campaign: seeded workloads, power cuts and crash images over "
             "every scenario family, with a summary table");
  run->add_option("--seeds", options.seeds, "Seeds per family")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  run->add_option("--first-seed", options.first_seed, "First seed")->capture_default_str();
  run->add_option("--max-seconds", options.max_seconds, "Wall-clock bound for the campaign")
      ->check(CLI::Range(0.001, 1e7))
      ->capture_default_str();
  run->add_option("--images", options.images_per_seed, "Crash images checked per seed")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  run->add_flag_callback(
      "--check-determinism", [&options] { options.determinism_every = 1; },
      "Re-run every seed and compare trace hashes (same as --determinism-every 1)");
  run->add_option("--determinism-every", options.determinism_every,
                  "Re-run every N-th seed and compare trace hashes (0: never)")
      ->capture_default_str();
  run->add_option("--engines", args->engines,
                  "Comma-separated engines whose scenario families to check (" +
                      EngineNames(", ") + "; default: every family)");
  run->add_option("--families", args->families,
                  "Comma-separated scenario families to check (" + FamilyNames(", ") +
                      "; default: every family)");
  run->add_flag("--json", args->json, "Print the summary as JSON");
  return {run, [args] { return RunCampaignCommand(*args); }};
}

// --max-memory SIZE: the memory a scenario may need (verifier::MemoryEstimate).
void AddMaxMemory(CLI::App& command, uint64_t& bytes) {
  command
      .add_option_function<std::string>(
          "--max-memory",
          [&bytes](const std::string& text) {
            absl::StatusOr<uint64_t> size = powercut::tools::ParseSize(text);
            if (!size.ok()) throw CLI::ValidationError("--max-memory", std::string(size.status().message()));
            bytes = *size;
          },
          "Refuse (exit 2) a scenario whose estimated memory exceeds SIZE (e.g. 16G; 0: no limit; "
          "docs/cli.md, \"Memory\")")
      ->default_str("16G");
}

Command AddReplay(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::ReplayCommandOptions>();
  CLI::App* replay = app.add_subcommand(
      "replay", "Re-run a replay file bit-for-bit; exit 0 if it gives the verdict it expects");
  replay->add_option("file", options->file, "Replay file (docs/replay-format.md)")->required();
  replay->add_flag("--timeline", options->timeline,
                   "Print one line per event of the whole check (time, actor, op, id, sectors, "
                   "flags): the run, each crash image, each recovery");
  replay->add_option("--trace", options->trace_path,
                     "Write a Chrome/Perfetto trace JSON (open in ui.perfetto.dev)");
  replay->add_flag("--json", options->json, "Print the result as JSON");
  replay->add_flag("--check-determinism", options->check_determinism,
                   "Run the file twice; fail unless both runs give the same verdict and trace hash");
  AddMaxMemory(*replay, options->max_memory_bytes);
  return {replay, [options] {
            return powercut::tools::RunReplayCommand(*options, std::cout, std::cerr);
          }};
}

Command AddShrink(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::ShrinkCommandOptions>();
  CLI::App* shrink = app.add_subcommand(
      "shrink", "Minimise a failing replay file (fewer ops, clients, sizes, faults; an "
                "earlier crash) while it still fails the same way");
  shrink->add_option("file", options->file, "Failing replay file")->required();
  shrink->add_option("-o,--output", options->output,
                     "Write the shrunk replay file here (default: standard output)");
  shrink->add_option("--max-runs", options->max_runs, "Budget of scenario runs")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
      ->capture_default_str();
  AddMaxMemory(*shrink, options->max_memory_bytes);
  return {shrink, [options] {
            return powercut::tools::RunShrinkCommand(*options, std::cout, std::cerr);
          }};
}

Command AddInspect(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::InspectCommandOptions>();
  CLI::App* inspect = app.add_subcommand(
      "inspect", "Decode on-media metadata of an image (mdadm -X / --examine / dmsetup "
                 "status wording) and report inconsistencies");
  inspect->add_option("image", options->image, "Image file")->required();
  inspect->add_option("--format", options->format,
                      "bitmap: an external bitmap file; md: a RAID1 member image; writecache: "
                      "a dm-writecache cache device")
      ->required()
      ->check(CLI::IsMember({"bitmap", "md", "writecache"}));
  inspect->add_option("--start-sector", options->start_sector,
                      "writecache: the table's start_sector (where the cache area begins)");
  inspect->add_option("--origin-sectors", options->origin_sectors,
                      "writecache: size of the origin in sectors, to report entries past its end");
  inspect->add_flag("--json", options->json, "Print the decoded fields as JSON");
  return {inspect, [options] {
            return powercut::tools::RunInspectCommand(*options, std::cout, std::cerr);
          }};
}

// Options both image commands take.
void AddImageOptions(CLI::App& command, powercut::tools::ImageCommandOptions& options) {
  command.add_option("engine", options.engine, "writecache or raid1")
      ->required()
      ->check(CLI::IsMember({"writecache", "raid1"}));
  command.add_option("words", options.words,
                     "writecache: the kernel's table, s|p ORIGIN CACHE BLOCK_SIZE [N ARG...]; "
                     "raid1: the member paths")
      ->required();
  command.add_option("--bitmap", options.bitmap,
                     "raid1: internal, or the external bitmap file (mdadm --bitmap=FILE)")
      ->capture_default_str();
  command.add_flag("--force", options.force,
                   "Write even where libblkid finds a signature powercut did not make (a file "
                   "system, partition table, LVM, md of another kind)");
  command.add_flag("--buffered", options.buffered,
                   "Where the file system refuses O_DIRECT, go through the page cache");
}

Command AddFormat(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::ImageCommandOptions>();
  CLI::App* format = app.add_subcommand(
      "format", "Make fresh images (files or block devices) the kernel loads: a dm-writecache "
                "cache for a table, or md 1.2 RAID1 members with a write-intent bitmap");
  AddImageOptions(*format, *options);
  format->add_option("--origin-size", options->origin_size,
                     "writecache: create the origin file this big (64M, 1G, ...) if missing");
  format->add_option("--cache-size", options->cache_size,
                     "writecache: create the cache file this big if missing");
  format->add_option("--size", options->member_size,
                     "raid1: create each member file this big if missing");
  format->add_option("--bitmap-chunk", options->bitmap_chunk,
                     "raid1: bytes of data per bitmap bit (mdadm --bitmap-chunk)")
      ->capture_default_str();
  return {format, [options] {
            return powercut::tools::RunFormatCommand(*options, std::cout, std::cerr);
          }};
}

Command AddRecover(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::ImageCommandOptions>();
  CLI::App* recover = app.add_subcommand(
      "recover", "Open existing images (the kernel's or powercut's) with the engine's own "
                 "recovery and report or export what it finds; writes nothing to them unless "
                 "--in-place");
  AddImageOptions(*recover, *options);
  recover->add_option("--dump", options->dump, "Write the logical device's contents to this file");
  recover->add_flag("--json", options->json, "Print what recovery found as JSON");
  recover->add_flag("--writeback,--resync", options->finish,
                    "Finish the job: write every cached block back to the origin (writecache) "
                    "or resync the dirty chunks and stop clean (raid1)");
  CLI::Option* out = recover->add_option(
      "--out", options->out_dir, "Work on sparse copies of the images made in this folder");
  recover->add_flag("--in-place", options->in_place, "Write to the given images themselves")
      ->excludes(out);
  return {recover, [options] {
            return powercut::tools::RunRecoverCommand(*options, std::cout, std::cerr);
          }};
}

// The scenario a command runs: a replay file, or seed N of a family.
void AddScenarioChoice(CLI::App& command, std::string& file, std::string& family,
                       std::optional<uint64_t>& seed) {
  command.add_option("file", file, "Replay file (or give --family and --seed)");
  command.add_option("--family", family, FamilyNames(" or "));
  command.add_option("--seed", seed, "Seed of the family");
}

// Options of the commands that run on image files: the folder, --buffered, --json.
void AddOnFilesOptions(CLI::App& command, std::string& dir, const std::string& dir_help,
                       bool& buffered, bool& json) {
  command.add_option("--dir", dir, dir_help)->required();
  command.add_flag("--buffered", buffered,
                   "Where the file system refuses O_DIRECT, go through the page cache");
  command.add_flag("--json", json, "Print the result as JSON");
}

Command AddParity(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::ParityCommandOptions>();
  CLI::App* parity = app.add_subcommand(
      "parity", "Run one scenario's workload on the simulator and on real files, then compare "
                "the logical devices sector by sector and the engine's metadata field by field");
  AddScenarioChoice(*parity, options->file, options->family, options->seed);
  AddOnFilesOptions(*parity, options->dir, "Folder for both sides' images (sim/, real/)",
                    options->buffered, options->json);
  return {parity, [options] {
            return powercut::tools::RunParityCommand(*options, std::cout, std::cerr);
          }};
}

Command AddRealCrash(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::RealCrashCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "realcrash", "Run a scenario on real files (io_uring), cut the power, and recover and "
                   "judge crash images drawn from what the run's IO left");
  AddScenarioChoice(*command, options->file, options->family, options->seed);
  AddOnFilesOptions(*command, options->dir,
                    "Folder for the image files and, on a failure, the crash images and IO logs",
                    options->buffered, options->json);
  command->add_option("--runs", options->runs, "Runs, with seeds seed, seed+1, ...")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
      ->capture_default_str();
  AddMaxMemory(*command, options->max_memory_bytes);
  return {command, [options] {
            return powercut::tools::RunRealCrashCommand(*options, std::cout, std::cerr);
          }};
}

Command AddCrashLoop(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::CrashLoopCommandOptions>();
  CLI::App* command = app.add_subcommand(
      "crashloop", "Run a scenario's workload in a child process on real files, kill it with "
                   "SIGKILL at random instants, recover and judge after each kill");
  AddScenarioChoice(*command, options->file, options->family, options->seed);
  AddOnFilesOptions(*command, options->dir, "Folder for the image files", options->buffered,
                    options->json);
  command->add_option("--kills", options->kills, "Rounds after the calibration run")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
      ->capture_default_str();
  return {command, [options] {
            return powercut::tools::RunCrashLoopCommand(*options, std::cout, std::cerr);
          }};
}

Command AddFuzz(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::FuzzCommandOptions>();
  CLI::App* fuzz = app.add_subcommand(
      "fuzz", "The nightly campaign: seeds for a given time in worker processes, every failure "
              "saved, grouped by kind, invariant and phase, shrunk into a corpus folder, and a "
              "summary.json (docs/cli.md)");
  fuzz->add_option("--duration", options->duration, "How long: 8h, 30m, 90s, 1h30m")
      ->capture_default_str();
  fuzz->add_option("--max-seeds", options->max_seeds,
                   "Also stop after this many seeds in all (0: only the duration)")
      ->capture_default_str();
  fuzz->add_option("--jobs", options->jobs, "Worker processes (default: one per core)")
      ->check(CLI::Range(1, 1024));
  fuzz->add_option("--engines", options->engines,
                   "Comma-separated engines whose families to check (" + EngineNames(", ") +
                       "; default: every family)");
  fuzz->add_option("--families", options->families,
                   "Comma-separated scenario families (" + FamilyNames(", ") + ")");
  fuzz->add_option("--first-seed", options->first_seed,
                   "Where the seeds start (default: drawn and printed)");
  fuzz->add_option("--shard", options->shard,
                   "K/N: check only the K-th of N disjoint parts of the seed space (N machines, "
                   "same first seed)")
      ->capture_default_str();
  fuzz->add_option("--out", options->out_dir, "Folder for summary.json and failures/")
      ->capture_default_str();
  fuzz->add_option("--corpus", options->corpus_dir,
                   "Folder for the shrunk replay files, one per failure group (default: OUT/corpus)");
  fuzz->add_option("--images", options->images, "Crash images checked per seed")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  fuzz->add_option("--seed-timeout", options->seed_timeout_seconds,
                   "Wall-clock seconds a seed may take before its worker is killed (a hang)")
      ->check(CLI::Range(0.01, 1e6))
      ->capture_default_str();
  fuzz->add_option("--worker-memory", options->worker_memory,
                   "Address space per worker (e.g. 4G; 0: none): a seed past it is an out-of-memory "
                   "failure of its own (not with sanitizer builds)")
      ->capture_default_str();
  fuzz->add_option("--determinism-every", options->determinism_every,
                   "Check every N-th seed twice and compare trace hashes (0: never)")
      ->capture_default_str();
  fuzz->add_option("--shrink-runs", options->shrink_runs, "Scenario runs per shrink")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
      ->capture_default_str();
  fuzz->add_option("--shrink-seconds", options->shrink_seconds, "Wall-clock seconds per shrink")
      ->check(CLI::Range(0.01, 1e6))
      ->capture_default_str();
  fuzz->add_option("--mutant", options->mutant, "Every seed with this mutant (powercut_with_mutants)");
  fuzz->add_flag("!--no-swarm", options->swarm,
                 "Check every seed's whole workload (by default each seed keeps only the op kinds "
                 "its swarm choice draws: scenario/swarm.h)");
  fuzz->add_flag("--json", options->json, "Print the summary as JSON");
  return {fuzz, [options] {
            options->stop_requested = [] { return g_stop_signal != 0; };
            std::signal(SIGINT, RequestStop);
            std::signal(SIGTERM, RequestStop);
            const int code = powercut::tools::RunFuzzCommand(*options, std::cout, std::cerr);
            return code < 0 ? 128 + g_stop_signal : code;
          }};
}

Command AddFuzzMerge(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::FuzzMergeCommandOptions>();
  CLI::App* merge = app.add_subcommand(
      "fuzz-merge", "Merge the OUT folders of a campaign's shards (fuzz --shard K/N) into one "
                    "summary.json and report.html");
  merge->add_option("shards", options->shard_dirs, "The shards' OUT folders")->required();
  merge->add_option("--out", options->out_dir, "Folder for the merged summary.json and report.html")
      ->required();
  merge->add_option("--corpus", options->corpus_dir,
                    "Folder for the smallest replay of each failure group (default: OUT/corpus)");
  merge->add_flag("--json", options->json, "Print the merged summary as JSON");
  return {merge, [options] { return powercut::tools::RunFuzzMergeCommand(*options, std::cout, std::cerr); }};
}

Command AddScenario(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::ScenarioCommandOptions>();
  CLI::App* scenario = app.add_subcommand(
      "scenario", "Print seed N of a seeded scenario family (what `run` checks for that seed) "
                  "as a replay file");
  scenario->add_option("--family", options->family, FamilyNames(" or "))->required();
  scenario->footer(powercut::tools::EngineParametersHelp());
  scenario->add_option("--seed", options->seed, "Seed")->required();
  scenario->add_option("--images", options->images, "Crash images the file asks for")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  scenario->add_option("--mutant", options->mutant,
                       "Name this mutant in the file (powercut_with_mutants mutants --help lists them)");
  scenario->add_flag("--swarm", options->swarm,
                     "Keep only the op kinds of the seed's swarm choice, as powercut fuzz checks it");
  scenario->add_option("--comment", options->comment,
                       "Comment for the file (default: names the family and seed)");
  scenario->add_option("-o,--output", options->output,
                       "Write the replay file here (default: standard output)");
  return {scenario, [options] {
            return powercut::tools::RunScenarioCommand(*options, std::cout, std::cerr);
          }};
}

Command AddMutants(CLI::App& app) {
  auto options = std::make_shared<powercut::tools::MutantsCommandOptions>();
  CLI::App* mutants = app.add_subcommand(
      "mutants", "The mutation matrix: is every deliberate bug killed, within how many "
                 "seeds and seconds (needs powercut_with_mutants)");
  mutants->add_option("--seeds", options->seeds, "Seed budget per mutant")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32))
      ->capture_default_str();
  mutants->add_option("--images", options->images, "Crash images per seed")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  mutants->add_option("--trials", options->trials,
                      "Hunt each mutant over this many disjoint seed ranges; report medians")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  mutants->add_option("--only", options->only, "Run only this mutant");
  mutants->add_flag("--json", options->json, "Print the matrix as JSON");
  return {mutants, [options] {
            return powercut::tools::RunMutantsCommand(*options, std::cout, std::cerr);
          }};
}

}  // namespace

namespace powercut::tools {

int RunCli(int argc, char** argv) {
  if (argc > 0) {
    const std::string program = std::filesystem::path(argv[0]).filename().string();
    if (program != "powercut" && program != "powercut_with_mutants") verifier::SetCliName(program);
  }
  CLI::App app{"powercut: deterministic crash-consistency verifier for block-storage engines"};
  app.require_subcommand(1);
  const std::vector<Command> commands = {AddRun(app),      AddReplay(app),   AddShrink(app),
                                         AddInspect(app),  AddFormat(app),   AddRecover(app),
                                         AddParity(app),   AddRealCrash(app), AddCrashLoop(app),
                                         AddScenario(app), AddMutants(app),  AddFuzz(app),
                                         AddFuzzMerge(app)};
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
  for (const Command& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  return kExitUsage;
}

}  // namespace powercut::tools
