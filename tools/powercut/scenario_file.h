// Loading a replay file from disk into a Scenario, with errors worded for the CLI
// ("cannot open F", "F: line 7: ..."). Files over 64 MiB are refused, and so is anything
// but a regular file (a FIFO would block the open forever), before it is opened.
#ifndef POWERCUT_TOOLS_POWERCUT_SCENARIO_FILE_H_
#define POWERCUT_TOOLS_POWERCUT_SCENARIO_FILE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "scenario/scenario.h"

namespace powercut::tools {

absl::StatusOr<verifier::Scenario> LoadScenarioFile(const std::string& path);

// For the commands that make one power cut (parity, realcrash, crashloop): a replay
// file (`file`), or seed `seed` of family `family` without its later cuts and progress
// check (the seed's first workload and cut); exactly one of the two. InvalidArgument
// naming what is missing, too much or unknown. (A file with several cuts loads; the
// commands refuse it. A file's `progress: check` is a simulated world's idle time: the
// commands on real files do not ask it.)
absl::StatusOr<verifier::Scenario> LoadScenarioFrom(const std::string& file,
                                                    const std::string& family,
                                                    std::optional<uint64_t> seed);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_SCENARIO_FILE_H_
