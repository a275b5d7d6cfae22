#include "tools/powercut/crash_loop_command.h"

#include <filesystem>
#include <system_error>

#include "nlohmann/json.hpp"
#include "scenario/scenario.h"
#include "tools/powercut/failure_json.h"
#include "tools/powercut/scenario_file.h"

namespace powercut::tools {

int RunCrashLoopCommand(const CrashLoopCommandOptions& options, std::ostream& out,
                        std::ostream& err) {
  absl::StatusOr<verifier::Scenario> scenario =
      LoadScenarioFrom(options.file, options.family, options.seed);
  if (!scenario.ok()) {
    err << "powercut crashloop: " << scenario.status().message() << "\n";
    return 2;
  }
  std::error_code error;
  std::filesystem::create_directories(options.dir, error);
  if (error) {
    err << "powercut crashloop: " << options.dir << ": " << error.message() << "\n";
    return 2;
  }
  absl::StatusOr<verifier::CrashLoopResult> loop =
      verifier::RunScenarioCrashLoop(*scenario, options.dir, options.kills, options.buffered);
  if (!loop.ok()) {
    err << "powercut crashloop: " << loop.status().message() << "\n";
    return 2;
  }
  if (options.json) {
    nlohmann::ordered_json report = {{"rounds", loop->rounds},
                                     {"killed_mid_run", loop->killed},
                                     {"sectors_judged", loop->sectors_checked},
                                     {"calibration_ms", loop->calibration_ms},
                                     {"passed", loop->passed}};
    if (!loop->passed) report["failure"] = FailureJson(loop->failure);
    out << report.dump(2) << "\n";
  } else if (loop->passed) {
    out << "PASS: " << loop->rounds << " rounds of " << scenario->engine << " on real files, "
        << loop->killed << " killed mid-run (SIGKILL) and recovered, " << loop->sectors_checked
        << " sectors judged (the shortest unkilled workload took " << loop->calibration_ms << " ms)\n";
  } else {
    out << "FAIL: " << loop->failure.Group() << ", " << loop->failure.Where() << ": "
        << loop->failure.text << "\n";
  }
  if (loop->passed) std::filesystem::remove_all(options.dir, error);
  return loop->passed ? 0 : 1;
}

}  // namespace powercut::tools
