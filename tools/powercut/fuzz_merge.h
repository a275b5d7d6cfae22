// Merging shards: a campaign split over machines (`powercut fuzz --shard K/N`, e.g. a
// Slurm array: scripts/slurm/fuzz.sbatch) leaves one OUT folder per shard; `powercut
// fuzz-merge` reads their summary.json files and writes one summary.json and one
// report.html for the whole night.
//
// What adds up: seeds, crash images, sectors, failures, determinism re-checks, workers
// replaced, jobs, per-family counts, probe hits, swarm counts, and the samples (each
// instant's sum of what every shard had reached by then). Failure groups are merged by
// key: failing seeds add up, the first failure is the one of the smallest first seed,
// and the corpus file kept is the smallest of the shards' files, copied into the
// merged corpus folder under the group's stable name. Shards must come from one
// campaign: the same first seed and shard count, each shard once.
#ifndef POWERCUT_TOOLS_POWERCUT_FUZZ_MERGE_H_
#define POWERCUT_TOOLS_POWERCUT_FUZZ_MERGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/powercut/fuzz_campaign.h"

namespace powercut::tools {

// What FormatFuzzSummaryJson wrote; InvalidArgument for anything else.
absl::StatusOr<FuzzSummary> ParseFuzzSummaryJson(std::string_view text);

// The merged summary of `shards` (see above); corpus files are copied into
// `corpus_dir` (made if missing). InvalidArgument for shards of different campaigns or
// a shard given twice.
absl::StatusOr<FuzzSummary> MergeFuzzSummaries(const std::vector<FuzzSummary>& shards,
                                               const std::string& corpus_dir);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_FUZZ_MERGE_H_
