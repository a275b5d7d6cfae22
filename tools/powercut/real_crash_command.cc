#include "tools/powercut/real_crash_command.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/posix/file_io.h"
#include "harness/device_dump.h"
#include "nlohmann/json.hpp"
#include "scenario/scenario.h"
#include "tools/powercut/failure_json.h"
#include "tools/powercut/scenario_file.h"

namespace powercut::tools {
namespace {

using nlohmann::ordered_json;

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitUsage = 2;

// Keeps what a failing check saw: its crash images (disks and persistent memory) and each
// disk's IO log.
absl::Status KeepEvidence(const verifier::RealCrashCheckResult& run, const std::string& dir) {
  const std::filesystem::path folder = std::filesystem::path(dir) / "failure";
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) return absl::FailedPreconditionError(absl::StrCat(folder.string(), ": ", error.message()));
  for (size_t d = 0; d < run.device_names.size(); ++d) {
    std::ofstream log(std::filesystem::path(dir) / (run.device_names[d] + ".io.log"));
    log << run.io_logs[d];
  }
  for (size_t i = 0; i < run.crashes.size(); ++i) {
    for (size_t d = 0; d < run.crashes[i].disks.size(); ++d) {
      const std::string path = (folder / absl::StrCat("image", i, "-", run.device_names[d], ".img")).string();
      if (absl::Status wrote = verifier::WriteDiskImage(run.crashes[i].disks[d], path); !wrote.ok()) {
        return wrote;
      }
    }
    for (size_t p = 0; p < run.crashes[i].pmems.size(); ++p) {
      const std::string path = (folder / absl::StrCat("image", i, "-", run.pmem_names[p], ".pmem")).string();
      absl::StatusOr<int> made = posix::CreateFile(path, run.crashes[i].pmems[p].size());
      if (!made.ok()) return made.status();
      const posix::ScopedFd file(*made);
      if (absl::Status wrote = posix::WriteFully(file.get(), path, run.crashes[i].pmems[p], 0);
          !wrote.ok()) {
        return wrote;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

int RunRealCrashCommand(const RealCrashCommandOptions& options, std::ostream& out,
                        std::ostream& err) {
  absl::StatusOr<verifier::Scenario> scenario =
      LoadScenarioFrom(options.file, options.family, options.seed);
  if (!scenario.ok()) {
    err << "powercut realcrash: " << scenario.status().message() << "\n";
    return kExitUsage;
  }
  ordered_json runs = ordered_json::array();
  uint64_t images = 0;
  for (uint64_t r = 0; r < options.runs; ++r) {
    verifier::Scenario attempt = *scenario;
    attempt.seed = scenario->seed + r;
    if (r > 0) attempt.crash_after_steps.reset();
    const std::string folder = (std::filesystem::path(options.dir) / absl::StrCat("run", r)).string();
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error) {
      err << "powercut realcrash: " << folder << ": " << error.message() << "\n";
      return kExitUsage;
    }
    absl::StatusOr<verifier::RealCrashCheckResult> run =
        verifier::RunScenarioOnFiles(attempt, folder, options.buffered,
                                     options.max_memory_bytes);
    if (!run.ok()) {
      err << "powercut realcrash: " << run.status().message() << "\n";
      return kExitUsage;
    }
    const verifier::CrashCheckResult& check = run->check;
    images += check.images_checked;
    runs.push_back({{"seed", attempt.seed},
                    {"crash_step", check.crash_step},
                    {"crashed_mid_run", check.crashed_mid_run},
                    {"images", check.images_checked},
                    {"sectors_judged", check.sectors_checked},
                    {"passed", check.passed}});
    if (!check.passed) {
      const absl::Status kept = KeepEvidence(*run, folder);
      if (options.json) {
        out << ordered_json{{"runs", runs}, {"failure", FailureJson(check.failure)}}.dump(2) << "\n";
      } else {
        out << "FAIL run " << r << " (seed " << attempt.seed << "): " << check.failure.Group()
            << ", " << check.failure.Where() << ": " << check.failure.text << "\n"
            << (kept.ok() ? absl::StrCat("crash images and IO logs kept in ", folder)
                          : absl::StrCat("could not keep the evidence: ", kept.message()))
            << "\n";
      }
      return kExitFail;
    }
    std::filesystem::remove_all(folder, error);
  }
  if (options.json) {
    out << ordered_json{{"runs", runs}, {"images_checked", images}}.dump(2) << "\n";
  } else {
    out << "PASS: " << options.runs << " runs of " << scenario->engine
        << " on real files, " << images << " crash images from their IO recovered and judged\n";
  }
  return kExitPass;
}

}  // namespace powercut::tools
