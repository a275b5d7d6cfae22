#include "tools/powercut/replay_command.h"

#include <fstream>
#include <optional>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "tools/powercut/chrome_trace.h"
#include "tools/powercut/failure_json.h"
#include "tools/powercut/scenario_file.h"

namespace powercut::tools {
namespace {

constexpr int kReproduced = 0;
constexpr int kNotReproduced = 1;
constexpr int kUnusable = 2;

// One timeline line per event; the check's section events (actor "check") become
// headers: the power cut, each crash image's draws, each recovery.
std::string TimelineLine(const sim::TraceEvent& event) {
  if (event.actor != "check") return sim::Trace::Format(event);
  const int64_t ns = event.time.count();
  if (event.op == "power.cut") {
    return absl::StrFormat("%4d.%06dms ---------- POWER CUT at step %d%s ----------", ns / 1'000'000,
                           ns % 1'000'000, event.id,
                           event.flags == "mid-run" ? "" : " (after the workload)");
  }
  if (event.op == "crash.image") {
    return absl::StrFormat("---------- crash image %d: what the power cut left on each device "
                           "----------",
                           event.id);
  }
  if (event.op == "recovery") {
    return absl::StrFormat("---------- recovery from crash image %d (a new world), then the "
                           "read-back ----------",
                           event.id);
  }
  return sim::Trace::Format(event);
}

}  // namespace

int RunReplayCommand(const ReplayCommandOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<verifier::Scenario> scenario = LoadScenarioFile(options.file);
  if (!scenario.ok()) {
    err << "powercut replay: " << scenario.status().message() << "\n";
    return kUnusable;
  }
  ChromeTrace chrome;
  verifier::ScenarioRunOptions run{.max_memory_bytes = options.max_memory_bytes};
  if (options.timeline || !options.trace_path.empty()) {
    run.observer = [&](const sim::TraceEvent& event) {
      if (options.timeline) out << TimelineLine(event) << "\n";
      if (!options.trace_path.empty()) chrome.Add(event);
    };
  }
  absl::StatusOr<verifier::CrashCheckResult> result = verifier::RunScenario(*scenario, run);
  if (!result.ok()) {
    err << "powercut replay: " << options.file << ": " << result.status().message() << "\n";
    return kUnusable;
  }
  if (!options.trace_path.empty()) {
    std::ofstream trace(options.trace_path);
    trace << chrome.Json();
    if (!trace) {
      err << "powercut replay: cannot write " << options.trace_path << "\n";
      return kUnusable;
    }
  }
  std::optional<verifier::CrashCheckResult> second;
  if (options.check_determinism) {
    absl::StatusOr<verifier::CrashCheckResult> again =
        verifier::RunScenario(*scenario, {.max_memory_bytes = options.max_memory_bytes});
    if (!again.ok()) {
      err << "powercut replay: " << options.file << ": " << again.status().message() << "\n";
      return kUnusable;
    }
    second = *std::move(again);
  }
  const bool deterministic = !second || (second->trace_hash == result->trace_hash &&
                                         second->passed == result->passed);
  const bool expected_pass = scenario->expect == verifier::Verdict::kPass;
  const bool reproduced = result->passed == expected_pass && deterministic;
  if (options.json) {
    nlohmann::json json = {{"file", options.file},
                           {"verdict", result->passed ? "pass" : "fail"},
                           {"expected", expected_pass ? "pass" : "fail"},
                           {"reproduced", reproduced},
                           {"seed", scenario->seed},
                           {"crash_step", result->crash_step},
                           {"crash_time_ns", result->crash_time.count()},
                           {"crashed_mid_run", result->crashed_mid_run},
                           {"power_cuts", result->power_cuts},
                           {"later_cut_steps", result->later_cut_steps},
                           {"images_checked", result->images_checked},
                           {"sectors_judged", result->sectors_checked},
                           {"trace_hash", absl::StrFormat("%016x", result->trace_hash)},
                           {"memory_estimate_bytes", verifier::MemoryEstimate(*scenario).value_or(0)},
                           {"failure", nullptr}};
    if (!result->passed) json["failure"] = FailureJson(result->failure);
    if (second) json["deterministic"] = deterministic;
    out << json.dump(2) << "\n";
  } else {
    out << absl::StrFormat(
        "%s: engine %s, seed %d, power cut at step %d (%s), %d crash image(s), %d sectors "
        "judged, trace %016x\n",
        options.file, scenario->engine, scenario->seed, result->crash_step,
        result->crashed_mid_run ? "mid-run" : "after the workload", result->images_checked,
        result->sectors_checked, result->trace_hash);
    if (!result->later_cut_steps.empty()) {
      out << absl::StrFormat("then %d later power cut(s), at steps %s of their runs\n",
                             result->later_cut_steps.size(),
                             absl::StrJoin(result->later_cut_steps, ", "));
    }
    if (!result->passed) out << "FAIL: " << result->failure.text << "\n";
    if (second) {
      out << (deterministic
                  ? std::string("deterministic: a second run gave the same verdict and trace hash\n")
                  : absl::StrFormat("NOT deterministic: the second run gave verdict %s, trace %016x\n",
                                    second->passed ? "pass" : "fail", second->trace_hash));
    }
    out << "verdict " << (result->passed ? "pass" : "fail") << ", expected "
        << (expected_pass ? "pass" : "fail") << ": "
        << (reproduced ? "reproduced" : "NOT reproduced") << "\n";
  }
  return reproduced ? kReproduced : kNotReproduced;
}

}  // namespace powercut::tools
