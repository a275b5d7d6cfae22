// Failure reports: every property failure becomes a replay file and a command.
//
// ReportFailure writes the failing scenario (with `expect: fail` and the failure as its
// comment) to the failure folder — $POWERCUT_FAILURE_DIR if set, else
// <temp dir>/powercut-failures — under a name derived from its contents, and returns a
// paragraph with the failure, the replay file's text and the exact command that
// reproduces it (`powercut replay FILE`, or `powercut_with_mutants replay FILE` for a
// scenario that names a mutant).
#ifndef POWERCUT_SCENARIO_FAILURE_REPORT_H_
#define POWERCUT_SCENARIO_FAILURE_REPORT_H_

#include <string>

#include "absl/status/status.h"

#include "harness/crash_check.h"
#include "scenario/scenario.h"

namespace powercut::verifier {

// OK when the failure folder can be made and written to; FailedPrecondition naming the
// folder and the reason otherwise (a campaign checks before it runs a seed).
absl::Status CheckFailureFolder();

struct SavedFailure {
  std::string path;     // empty if the file could not be written (see `error`)
  std::string error;    // why it could not: the folder and the reason
  std::string text;     // the replay file
  // e.g. "powercut replay /tmp/powercut-failures/x.replay"; when the file could not be
  // written, the command that recreates it (`recreate`) followed by the replay of it.
  std::string command;
};

// Writes the replay file for a failing scenario and returns where it went. `recreate`
// is a command that writes the same file to FILE (a family's seed: `powercut scenario
// --family F --seed N ... -o FILE`), for when the file cannot be written here.
SavedFailure SaveFailure(const Scenario& scenario, const CrashCheckResult& result,
                         const std::string& recreate = "");

// The program a printed command names: `powercut`, or `powercut_with_mutants` for a
// scenario with a mutant, unless SetCliName chose another (RunCli sets it to its own
// program name when that is neither: a project's CLI over its own engine).
std::string CliName(const std::string& mutant);
void SetCliName(std::string name);

// `powercut scenario ...` that recreates the scenario of seed `seed` of `family` with
// `images` crash images and `mutant` (empty: none), and with `swarm` its swarm choice
// (scenario/swarm.h), writing it to FILE.
std::string ScenarioCommand(const std::string& family, uint64_t seed, uint32_t images,
                            const std::string& mutant, bool swarm = false);

std::string ReportFailure(const Scenario& scenario, const CrashCheckResult& result);

}  // namespace powercut::verifier

#endif  // POWERCUT_SCENARIO_FAILURE_REPORT_H_
