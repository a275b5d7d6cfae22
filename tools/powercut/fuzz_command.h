// `powercut fuzz`: the nightly campaign (tools/powercut/fuzz_campaign.h) from the
// command line: options checked, the first seed drawn when not given (and printed, so
// the campaign can be repeated), a live progress line on a terminal and plain lines
// every ten seconds otherwise, the summary (table or JSON) at the end and in
// OUT/summary.json.
//
// Exit code: 0 no seed failed, 1 some did (each group shrunk into the corpus folder),
// 2 a usage or input error, 128+signal when interrupted (the summary covers what ran).
#ifndef POWERCUT_TOOLS_POWERCUT_FUZZ_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_FUZZ_COMMAND_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace powercut::tools {

struct FuzzCommandOptions {
  std::string duration = "1h";
  uint64_t max_seeds = 0;
  uint32_t jobs = 0;  // 0: one per core
  std::string engines;
  std::string families;
  std::optional<uint64_t> first_seed;
  std::string shard = "1/1";
  std::string out_dir = "powercut-fuzz";
  std::string corpus_dir;  // default OUT/corpus
  uint32_t images = 4;
  double seed_timeout_seconds = 300;
  std::string worker_memory = "0";  // SIZE (tools/powercut/image_files.h ParseSize)
  uint64_t determinism_every = 200;
  uint64_t shrink_runs = 2000;
  double shrink_seconds = 300;
  std::string mutant;
  bool swarm = true;
  bool json = false;
  std::function<bool()> stop_requested;
};

int RunFuzzCommand(const FuzzCommandOptions& options, std::ostream& out, std::ostream& err);

// `powercut fuzz-merge DIR... --out OUT [--corpus DIR]`: the shards' summaries
// (DIR/summary.json) merged (fuzz_merge.h) into OUT/summary.json and OUT/report.html,
// the smallest replay of each group copied into the corpus folder (default
// OUT/corpus). Exit 0 no failure, 1 failures, 2 bad input (a missing or foreign
// summary, shards of different campaigns).
struct FuzzMergeCommandOptions {
  std::vector<std::string> shard_dirs;
  std::string out_dir;
  std::string corpus_dir;
  bool json = false;
};

int RunFuzzMergeCommand(const FuzzMergeCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_FUZZ_COMMAND_H_
