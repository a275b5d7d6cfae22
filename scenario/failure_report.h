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
  std::string command;  // e.g. "powercut replay /tmp/powercut-failures/x.replay"
};

// Writes the replay file for a failing scenario and returns where it went.
SavedFailure SaveFailure(const Scenario& scenario, const CrashCheckResult& result);

std::string ReportFailure(const Scenario& scenario, const CrashCheckResult& result);

}  // namespace powercut::verifier

#endif  // POWERCUT_SCENARIO_FAILURE_REPORT_H_
