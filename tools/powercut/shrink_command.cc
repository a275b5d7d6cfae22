#include "tools/powercut/shrink_command.h"

#include <fstream>

#include "absl/strings/str_format.h"
#include "scenario/replay_file.h"
#include "tools/powercut/scenario_file.h"
#include "tools/powercut/shrink.h"

namespace powercut::tools {

int RunShrinkCommand(const ShrinkCommandOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<verifier::Scenario> scenario = LoadScenarioFile(options.file);
  if (!scenario.ok()) {
    err << "powercut shrink: " << scenario.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<ShrinkResult> shrunk = Shrink(*scenario, options.max_runs, options.max_memory_bytes, nullptr);
  if (!shrunk.ok()) {
    err << "powercut shrink: " << options.file << ": " << shrunk.status().message() << "\n";
    return shrunk.status().code() == absl::StatusCode::kInvalidArgument ? 1 : 2;
  }
  const std::string before = verifier::FormatReplay(*scenario);
  const std::string after = verifier::FormatReplay(shrunk->scenario);
  const verifier::Scenario& small = shrunk->scenario;
  err << absl::StrFormat(
      "shrunk '%s' failure in %d runs: ops %d -> %d, clients %d -> %d, crash step %s -> %d, "
      "images %d -> %d, faults %s -> %s, file %d -> %d bytes\n",
      shrunk->category, shrunk->runs, verifier::OpCount(*scenario), verifier::OpCount(small),
      scenario->workload.clients, small.workload.clients,
      scenario->crash_after_steps ? absl::StrFormat("%d", *scenario->crash_after_steps) : "seeded",
      small.crash_after_steps.value_or(0), scenario->images, small.images,
      scenario->faults ? "yes" : "no", small.faults ? "yes" : "no", before.size(), after.size());
  if (options.output.empty()) {
    out << after;
    return 0;
  }
  std::ofstream file(options.output);
  file << after;
  if (!file) {
    err << "powercut shrink: cannot write " << options.output << "\n";
    return 2;
  }
  return 0;
}

}  // namespace powercut::tools
