// Replay files: a Scenario as small, versioned, human-readable, diff-friendly text.
//
// The format (version 2) is documented in docs/replay-format.md. In short: a header
// line `powercut-replay 2`, then one `key: value` per line, `op:` lines for the
// workload, a `cut:` line before the ops of each later power cut (version 2 only), and
// a final `end` line (so a truncated file is rejected). Lines starting with '#' and
// blank lines are ignored. Version 1 files (one power cut) still load, and a scenario
// that needs nothing of version 2 (later cuts, control operations, `progress: check`)
// is written as version 1.
//
// ParseReplay rejects, with the line number and a reason: unknown versions, unknown
// keys, duplicated single-valued keys, malformed or out-of-range numbers, missing
// required fields and anything after `end`; then the scenario itself is validated
// (verifier::Validate). FormatReplay writes every field explicitly, defaults included, so
// a file keeps its meaning when defaults change. Parse(Format(s)) == s.
#ifndef POWERCUT_SCENARIO_REPLAY_FILE_H_
#define POWERCUT_SCENARIO_REPLAY_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "scenario/scenario.h"

namespace powercut::verifier {

inline constexpr int kReplayFormatVersion = 2;

absl::StatusOr<Scenario> ParseReplay(std::string_view text);
std::string FormatReplay(const Scenario& scenario);

}  // namespace powercut::verifier

#endif  // POWERCUT_SCENARIO_REPLAY_FILE_H_
