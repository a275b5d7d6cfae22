#include "properties/failure_report.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "properties/replay_file.h"
#include "sim/prng.h"

namespace powercut::props {
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

std::string ReportFailure(const Scenario& scenario, const CrashCheckResult& result) {
  Scenario failing = scenario;
  failing.expect = Verdict::kFail;
  if (failing.comment.empty()) failing.comment = result.failure;
  const std::string text = FormatReplay(failing);
  const std::filesystem::path dir = FailureDir();
  const std::filesystem::path path =
      dir / absl::StrFormat("%s-seed%d-%016x.replay", scenario.engine, scenario.seed,
                            sim::HashLabel(text));
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  std::ofstream out(path);
  out << text;
  const bool saved = !error && static_cast<bool>(out);
  const std::string binary = scenario.mutant.empty() ? "powercut" : "powercut_with_mutants";
  return absl::StrCat(result.failure, "\n\nReplay file", saved ? absl::StrCat(" (", path.string(), ")") : " (could not be saved)",
                      ":\n", text, "\nReproduce with:\n  ", binary, " replay ",
                      saved ? path.string() : "FILE", "\n");
}

}  // namespace powercut::props
