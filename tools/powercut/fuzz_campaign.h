// FuzzCampaign: the nightly campaign (`powercut fuzz`). Hours of seeds over the scenario
// families in worker processes, every failure saved, grouped and shrunk, a summary a
// person or a report reads the next morning.
//
// Work: item i is seed first_seed + (i / F) * N + (K - 1) of family i % F (F families,
// shard K of N): N machines given the same first seed and shards 1..N never check the
// same seed, and one machine's items are the same whatever its job count.
//
// Isolation: each of `jobs` worker processes (fork, no exec) takes items over a pipe,
// checks them (harness watchdogs included) and answers with one JSON line; a worker
// that runs past the per-seed wall-clock limit is killed, one that dies (a signal, an
// abort, the kernel's OOM killer) is reaped; either way its seed is a failure of its
// own with a replay file, and a new worker takes its place. The parent never runs a
// simulation.
//
// Failures: a failing seed's replay file is written by its worker into OUT/failures/
// (POWERCUT_FAILURE_DIR), for the first three of each group the worker meets. Failures
// of one family with the same kind, invariant and phase (and assertion location) form a
// group; at the end the first seed of every group is shrunk in a process of its own
// (bounded in runs and wall-clock time) and written to the corpus folder under a
// stable name, <family>--<group>--<phase>.replay. A group whose file is already there
// is known (from an earlier night); its file is replaced only by a smaller one. Seeds
// that hung or killed their worker are kept unshrunk.
//
// Report: after summary.json, OUT/report.html, one self-contained page
// (tools/powercut/fuzz_report.h); a report that cannot be written is a warning.
//
// Time: wall-clock time bounds the campaign and each seed and is printed as rates; it
// never reaches a simulation, so every seed it checks replays bit for bit.
//
// Threading: call from a single-threaded process (it forks). Installs no signal
// handlers (`stop_requested` is polled); workers are spoken to over socket pairs with
// MSG_NOSIGNAL, so one that died is no SIGPIPE.
#ifndef POWERCUT_TOOLS_POWERCUT_FUZZ_CAMPAIGN_H_
#define POWERCUT_TOOLS_POWERCUT_FUZZ_CAMPAIGN_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::tools {

struct FuzzOptions {
  std::vector<verifier::ScenarioFamily> families;
  double duration_seconds = 60;
  uint64_t max_seeds = 0;  // also stop once this many work items were handed out (0: none)
  uint32_t jobs = 1;
  uint64_t first_seed = 1;
  uint32_t shard = 1;   // K of --shard K/N, 1-based
  uint32_t shards = 1;  // N
  std::string out_dir;  // summary.json and failures/
  std::string corpus_dir;  // shrunk replay files, one per failure group
  uint32_t images_per_seed = 4;
  double seed_timeout_seconds = 300;  // wall-clock per seed, then the worker is killed
  // Address space per worker (RLIMIT_AS; 0: none): a seed past it runs out of memory,
  // an `out of memory` failure of its own. Not with sanitizers, whose shadow memory
  // needs the address space.
  uint64_t worker_memory_bytes = 0;
  uint64_t determinism_every = 200;   // every N-th item is checked twice (0: never)
  uint64_t shrink_runs = 2000;
  double shrink_seconds = 300;        // wall-clock per shrink
  std::string mutant;                 // test builds: every seed with this mutant
  bool swarm = true;                  // each seed applies its swarm choice (scenario/swarm.h)
  std::function<bool()> stop_requested;
};

struct FuzzGroup {
  std::string key;     // <family>--<group>--<phase>, also the corpus file's name
  std::string family;
  std::string group;   // Failure::Group(), or "hang (seed time limit)", "worker died"
  std::string phase;
  uint64_t failures = 0;
  uint64_t first_seed = 0;
  std::string first_text;   // the first failure's paragraph (shortened)
  std::string replay;       // the first failure's replay file
  std::string reproduce;    // the command that reproduces it
  std::string corpus_file;  // the shrunk (or kept) file in the corpus folder, if written
  uint64_t shrunk_ops = 0;
  uint64_t original_ops = 0;
  bool known = false;       // the corpus already had a file under this name
  std::string shrink_error; // why it was not shrunk, when it was not
};

struct FuzzFamilyCounts {
  std::string name;
  uint64_t seeds = 0;
  uint64_t failures = 0;
  uint64_t crash_images = 0;
  uint64_t sectors_checked = 0;
};

struct FuzzSample {  // the campaign so far, every few seconds (charts)
  double seconds = 0;
  uint64_t seeds = 0;
  uint64_t failures = 0;
};

struct FuzzProbe {  // a named rare path (engine/probe/probe.h) and how often it ran
  std::string name;
  std::string what;
  uint64_t hits = 0;
};

struct FuzzSummary {
  uint64_t first_seed = 0;
  uint32_t shard = 1, shards = 1, jobs = 1;  // shard 0: a merge of all shards
  double duration_seconds = 0;
  double elapsed_seconds = 0;
  bool interrupted = false;
  uint64_t seeds = 0;
  uint64_t failures = 0;
  uint64_t crash_images = 0;
  uint64_t sectors_checked = 0;
  uint64_t determinism_checks = 0;
  uint64_t determinism_failures = 0;
  uint64_t workers_replaced = 0;
  std::vector<FuzzFamilyCounts> families;
  std::vector<FuzzGroup> groups;
  std::vector<FuzzSample> samples;
  std::vector<FuzzProbe> probes;  // every probe of the catalog, hit or not
  std::map<std::string, uint64_t> swarm;  // seeds per swarm choice of each dimension (SwarmApplied)
  std::string summary_path;
  std::string report_path;   // OUT/report.html (tools/powercut/fuzz_report.h), once written
  std::string report_error;  // why it was not
};

// A one-line status, about twice a second.
struct FuzzProgress {
  double elapsed_seconds = 0;
  double seconds_left = 0;
  uint64_t seeds = 0;
  uint64_t crash_images = 0;
  uint64_t failures = 0;
  size_t groups = 0;
  size_t probes_hit = 0;
  std::string phase;  // "checking", "shrinking 2/5"
};

// Status errors for what stops the campaign itself (folders, fork, pipes); failing
// seeds are in the summary, which is also written to OUT/summary.json.
absl::StatusOr<FuzzSummary> RunFuzzCampaign(const FuzzOptions& options,
                                            const std::function<void(const FuzzProgress&)>& progress);

// The seed of work item `item` (see Work above).
uint64_t FuzzSeedOf(const FuzzOptions& options, uint64_t item);

// "8h", "30m", "90s", "1h30m", "45" (seconds); InvalidArgument otherwise.
absl::StatusOr<double> ParseDuration(std::string_view text);

// "K/N" for shard K of N, "all/N" for a merge of all N (fuzz_merge.h).
std::string FuzzShardName(const FuzzSummary& summary);

// The summary as JSON (what summary.json holds).
std::string FormatFuzzSummaryJson(const FuzzSummary& summary);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_FUZZ_CAMPAIGN_H_
