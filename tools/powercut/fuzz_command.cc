#include "tools/powercut/fuzz_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <iostream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "engine/mutant/mutant.h"
#include "sim/prng.h"
#include "tools/powercut/campaign.h"
#include "tools/powercut/fuzz_campaign.h"
#include "tools/powercut/fuzz_merge.h"
#include "tools/powercut/fuzz_report.h"
#include "tools/powercut/image_files.h"

namespace powercut::tools {
namespace {

// A first seed nobody chose: from the wall clock, spread by the project's PRNG, in
// 1 .. 2^40. Printed; it only picks where the campaign starts.
uint64_t DrawFirstSeed() {
  const auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return 1 + sim::Prng(static_cast<uint64_t>(now)).Uniform(uint64_t{1} << 40);
}

std::string FormatTable(const FuzzSummary& s) {
  std::string out = absl::StrFormat("first seed %d, shard %s\n", s.first_seed, FuzzShardName(s));
  out += absl::StrFormat("%-18s %10s %10s %12s\n", "family", "seeds", "failures", "crash images");
  for (const FuzzFamilyCounts& f : s.families) {
    absl::StrAppendFormat(&out, "%-18s %10d %10d %12d\n", f.name, f.seeds, f.failures, f.crash_images);
  }
  absl::StrAppendFormat(&out,
                        "\n%d seeds (%.0f/s), %d crash images, %d failures in %d groups, "
                        "determinism %d/%d, %d workers replaced, %.0f s%s\n",
                        s.seeds, static_cast<double>(s.seeds) / std::max(s.elapsed_seconds, 1e-9),
                        s.crash_images, s.failures, s.groups.size(),
                        s.determinism_checks - s.determinism_failures, s.determinism_checks,
                        s.workers_replaced, s.elapsed_seconds, s.interrupted ? " (interrupted)" : "");
  std::string never_hit;
  size_t hit = 0;
  for (const FuzzProbe& p : s.probes) {
    if (p.hits > 0) {
      ++hit;
    } else {
      absl::StrAppend(&never_hit, never_hit.empty() ? "" : ", ", p.name);
    }
  }
  absl::StrAppendFormat(&out, "probes: %d of %d hit%s\n", hit, s.probes.size(),
                        never_hit.empty() ? "" : absl::StrCat("; NEVER HIT: ", never_hit));
  if (!s.swarm.empty()) {
    // Op-kind choices are named "writes..."; fault kinds and features by their prefix.
    uint64_t fewest = UINT64_MAX, op_choices = 0, fault_choices = 0, feature_choices = 0;
    for (const auto& [choice, seeds] : s.swarm) {
      if (choice.starts_with("faults: ")) {
        ++fault_choices;
      } else if (choice.starts_with("features: ")) {
        ++feature_choices;
      } else {
        ++op_choices;
        fewest = std::min(fewest, seeds);
      }
    }
    absl::StrAppendFormat(&out,
                          "swarm: %d of 16 op-kind choices checked, at least %d seeds each; %d fault-kind "
                          "and %d feature choices\n",
                          op_choices, fewest == UINT64_MAX ? 0 : fewest, fault_choices, feature_choices);
  }
  for (const FuzzGroup& g : s.groups) {
    absl::StrAppendFormat(&out, "\n%s: %d failing seeds, first seed %d\n  %s\n  reproduce: %s\n", g.key,
                          g.failures, g.first_seed, g.first_text.substr(0, 300), g.reproduce);
    if (!g.corpus_file.empty()) {
      absl::StrAppendFormat(&out, "  corpus: %s (%s%s)\n", g.corpus_file,
                            g.known ? "already known" : "new",
                            g.shrunk_ops != 0 ? absl::StrFormat(", shrunk %d -> %d ops", g.original_ops, g.shrunk_ops)
                                              : std::string());
    }
    if (!g.shrink_error.empty()) absl::StrAppendFormat(&out, "  not shrunk: %s\n", g.shrink_error);
  }
  absl::StrAppendFormat(&out, "summary: %s\n", s.summary_path);
  if (!s.report_path.empty()) absl::StrAppendFormat(&out, "report: %s\n", s.report_path);
  absl::StrAppendFormat(&out, "%s\n", s.failures == 0 ? "PASS" : "FAIL");
  return out;
}

}  // namespace

int RunFuzzCommand(const FuzzCommandOptions& options, std::ostream& out, std::ostream& err) {
  FuzzOptions fuzz;
  absl::StatusOr<double> duration = ParseDuration(options.duration);
  if (!duration.ok()) {
    err << "powercut fuzz: --duration: " << duration.status().message() << "\n";
    return 2;
  }
  fuzz.duration_seconds = *duration;
  fuzz.max_seeds = options.max_seeds;
  const std::vector<std::string> shard = absl::StrSplit(options.shard, '/');
  if (shard.size() != 2 || !absl::SimpleAtoi(shard[0], &fuzz.shard) ||
      !absl::SimpleAtoi(shard[1], &fuzz.shards) || fuzz.shard == 0 || fuzz.shard > fuzz.shards) {
    err << "powercut fuzz: --shard must be K/N with 1 <= K <= N, not '" << options.shard << "'\n";
    return 2;
  }
  if (!options.mutant.empty()) {
    if (!mutant::Available()) {
      err << "powercut fuzz: this build has no mutants compiled in; use powercut_with_mutants\n";
      return 2;
    }
    if (mutant::Find(options.mutant) == nullptr) {
      err << "powercut fuzz: unknown mutant '" << options.mutant << "'\n";
      return 2;
    }
  }
  absl::StatusOr<std::vector<verifier::ScenarioFamily>> families =
      options.engines.empty() && options.families.empty() ? AllFamilies()
                                                          : SelectFamilies(options.engines, options.families);
  if (!families.ok()) {
    err << "powercut fuzz: " << families.status().message() << "\n";
    return 2;
  }
  fuzz.families = *families;
  fuzz.jobs = options.jobs != 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  fuzz.first_seed = options.first_seed ? *options.first_seed : DrawFirstSeed();
  fuzz.out_dir = options.out_dir;
  fuzz.corpus_dir = options.corpus_dir.empty() ? options.out_dir + "/corpus" : options.corpus_dir;
  fuzz.images_per_seed = options.images;
  fuzz.seed_timeout_seconds = options.seed_timeout_seconds;
  absl::StatusOr<uint64_t> worker_memory = ParseSize(options.worker_memory);
  if (!worker_memory.ok()) {
    err << "powercut fuzz: --worker-memory: " << worker_memory.status().message() << "\n";
    return 2;
  }
  fuzz.worker_memory_bytes = *worker_memory;
  fuzz.determinism_every = options.determinism_every;
  fuzz.shrink_runs = options.shrink_runs;
  fuzz.shrink_seconds = options.shrink_seconds;
  fuzz.mutant = options.mutant;
  fuzz.swarm = options.swarm;
  fuzz.stop_requested = options.stop_requested;
  err << "powercut fuzz: first seed " << fuzz.first_seed
      << (options.first_seed ? "" : " (drawn; --first-seed repeats it)") << ", shard " << fuzz.shard
      << "/" << fuzz.shards << ", " << fuzz.jobs << " jobs, " << fuzz.families.size()
      << " families, " << fuzz.duration_seconds << " s\n";

  const bool tty = isatty(fileno(stderr)) != 0;
  auto last_line = std::chrono::steady_clock::now();
  auto progress = [&](const FuzzProgress& p) {
    const std::string line = absl::StrFormat(
        "%s  %.0fs left  %d seeds (%.0f/s)  %d crash images (%.0f/s)  %d failures in %d groups  "
        "%d probes hit",
        p.phase, p.seconds_left, p.seeds, static_cast<double>(p.seeds) / std::max(p.elapsed_seconds, 1e-9),
        p.crash_images, static_cast<double>(p.crash_images) / std::max(p.elapsed_seconds, 1e-9), p.failures,
        p.groups, p.probes_hit);
    if (tty) {
      err << "\r" << line << "\033[K" << std::flush;
    } else if (std::chrono::steady_clock::now() - last_line > std::chrono::seconds(10)) {
      last_line = std::chrono::steady_clock::now();
      err << line << "\n";
    }
  };
  absl::StatusOr<FuzzSummary> summary = RunFuzzCampaign(fuzz, progress);
  if (tty) err << "\r\033[K";
  if (!summary.ok()) {
    err << "powercut fuzz: " << summary.status().message() << "\n";
    return 2;
  }
  if (!summary->report_error.empty()) err << "powercut fuzz: warning: report.html: " << summary->report_error << "\n";
  out << (options.json ? FormatFuzzSummaryJson(*summary) : FormatTable(*summary));
  if (summary->interrupted) return -1;  // the caller knows the signal
  return summary->failures == 0 ? 0 : 1;
}

int RunFuzzMergeCommand(const FuzzMergeCommandOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<FuzzSummary> shards;
  for (const std::string& dir : options.shard_dirs) {
    const std::string path = (std::filesystem::path(dir) / "summary.json").string();
    std::ifstream in(path);
    if (!in) {
      err << "powercut fuzz-merge: cannot read " << path << "\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<FuzzSummary> shard = ParseFuzzSummaryJson(text.str());
    if (!shard.ok()) {
      err << "powercut fuzz-merge: " << path << ": " << shard.status().message() << "\n";
      return 2;
    }
    shards.push_back(*std::move(shard));
  }
  const std::string corpus = options.corpus_dir.empty() ? options.out_dir + "/corpus" : options.corpus_dir;
  absl::StatusOr<FuzzSummary> merged = MergeFuzzSummaries(shards, corpus);
  if (!merged.ok()) {
    err << "powercut fuzz-merge: " << merged.status().message() << "\n";
    return 2;
  }
  std::error_code error;
  std::filesystem::create_directories(options.out_dir, error);
  merged->summary_path = (std::filesystem::path(options.out_dir) / "summary.json").string();
  std::ofstream summary(merged->summary_path);
  summary << FormatFuzzSummaryJson(*merged);
  if (!summary.flush()) {
    err << "powercut fuzz-merge: cannot write " << merged->summary_path << "\n";
    return 2;
  }
  const std::string report = (std::filesystem::path(options.out_dir) / "report.html").string();
  if (absl::Status written = WriteFuzzReport(*merged, report); written.ok()) {
    merged->report_path = report;
  } else {
    err << "powercut fuzz-merge: warning: report.html: " << written.message() << "\n";
  }
  out << (options.json ? FormatFuzzSummaryJson(*merged) : FormatTable(*merged));
  return merged->failures == 0 ? 0 : 1;
}

}  // namespace powercut::tools
