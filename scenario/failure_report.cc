#include "scenario/failure_report.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "scenario/replay_file.h"
#include "sim/prng.h"

namespace powercut::verifier {
namespace {

std::filesystem::path FailureDir() {
  if (const char* dir = std::getenv("POWERCUT_FAILURE_DIR"); dir != nullptr && *dir != '\0') {
    return dir;
  }
  std::error_code error;
  std::filesystem::path temp = std::filesystem::temp_directory_path(error);
  if (error) temp = "/tmp";
  return temp / "powercut-failures";
}

}  // namespace

absl::Status CheckFailureFolder() {
  const std::filesystem::path dir = FailureDir();
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the failure folder ", dir.string(), " cannot be made: ", error.message(),
        " (set POWERCUT_FAILURE_DIR to a writable folder)"));
  }
  const std::filesystem::path probe = dir / ".powercut-write-probe";
  {
    std::ofstream out(probe);
    out << "probe";
    if (!out) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the failure folder ", dir.string(),
          " is not writable (set POWERCUT_FAILURE_DIR to a writable folder)"));
    }
  }
  std::filesystem::remove(probe, error);
  return absl::OkStatus();
}

namespace {

std::string& CliNameOverride() {
  static std::string name;
  return name;
}

}  // namespace

void SetCliName(std::string name) { CliNameOverride() = std::move(name); }

std::string CliName(const std::string& mutant) {
  if (!CliNameOverride().empty()) return CliNameOverride();
  return mutant.empty() ? "powercut" : "powercut_with_mutants";
}

std::string ScenarioCommand(const std::string& family, uint64_t seed, uint32_t images,
                            const std::string& mutant, bool swarm) {
  return absl::StrCat(CliName(mutant), " scenario --family ",
                      family, " --seed ", seed, " --images ", images,
                      mutant.empty() ? "" : absl::StrCat(" --mutant ", mutant), swarm ? " --swarm" : "",
                      " -o FILE");
}

SavedFailure SaveFailure(const Scenario& scenario, const CrashCheckResult& result,
                         const std::string& recreate) {
  Scenario failing = scenario;
  failing.expect = Verdict::kFail;
  if (failing.comment.empty()) failing.comment = result.failure.text;
  SavedFailure saved;
  saved.text = FormatReplay(failing);
  const std::filesystem::path dir = FailureDir();
  const std::filesystem::path path =
      dir / absl::StrFormat("%s-seed%d-%016x.replay", scenario.engine, scenario.seed,
                            sim::HashLabel(saved.text));
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  std::ofstream out(path);
  out << saved.text;
  if (!error && out) {
    saved.path = path.string();
  } else {
    saved.error = absl::StrCat("could not be saved in ", dir.string(), ": ",
                               error ? error.message() : std::string("not writable"));
  }
  const std::string replay =
      absl::StrCat(CliName(scenario.mutant), " replay ");
  if (!saved.path.empty()) {
    saved.command = replay + saved.path;
  } else if (!recreate.empty()) {
    saved.command = absl::StrCat(recreate, " && ", replay, "FILE");
  } else {
    saved.command = absl::StrCat("save the replay file's text as FILE, then ", replay, "FILE");
  }
  return saved;
}

std::string ReportFailure(const Scenario& scenario, const CrashCheckResult& result) {
  const SavedFailure saved = SaveFailure(scenario, result);
  return absl::StrCat(result.failure.text, "\n\nReplay file",
                      saved.path.empty() ? absl::StrCat(" (", saved.error, ")")
                                         : absl::StrCat(" (", saved.path, ")"),
                      ":\n", saved.text, "\nReproduce with:\n  ", saved.command, "\n");
}

}  // namespace powercut::verifier
