#include "tools/powercut/scenario_file.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "scenario/replay_file.h"
#include "scenario/seeded_scenarios.h"

namespace powercut::tools {
namespace {

constexpr std::streamsize kMaxReplayBytes = 64 << 20;

}  // namespace

absl::StatusOr<verifier::Scenario> LoadScenarioFile(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": no such file"));
  }
  if (!error && status.type() != std::filesystem::file_type::regular) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file (a directory, FIFO, socket or device); a "
                           "replay file is read whole"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  in.seekg(0, std::ios::end);
  const std::streamsize size = in.tellg();
  if (size < 0 || size > kMaxReplayBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a readable file of at most 64 MiB"));
  }
  in.seekg(0);
  std::string text(static_cast<size_t>(size), '\0');
  in.read(text.data(), size);
  if (!in) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  absl::StatusOr<verifier::Scenario> scenario = verifier::ParseReplay(text);
  if (!scenario.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", scenario.status().message()));
  }
  return scenario;
}

absl::StatusOr<verifier::Scenario> LoadScenarioFrom(const std::string& file,
                                                    const std::string& family,
                                                    std::optional<uint64_t> seed) {
  if (!file.empty()) {
    if (!family.empty() || seed) {
      return absl::InvalidArgumentError("give a replay file or --family and --seed, not both");
    }
    return LoadScenarioFile(file);
  }
  if (family.empty() || !seed) {
    return absl::InvalidArgumentError("give a replay file, or --family and --seed");
  }
  const verifier::ScenarioFamily* found = verifier::FindScenarioFamily(family);
  if (found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown family '", family, "'"));
  }
  verifier::Scenario scenario = found->draw(*seed);
  scenario.later_cuts.clear();
  scenario.check_progress = false;
  return scenario;
}

}  // namespace powercut::tools
