// report.html in a real browser: a short campaign over a broken engine (the mutant
// wc_sb_no_fua) gives failure groups, its report is opened by headless Chromium with
// every host name unresolvable, and the DOM after the scripts ran must show every
// chart drawn by the inlined Chart.js and a timeline with its power cut per group.
//
// Exit 0 when it did, 1 when not, 77 (ctest SKIP_RETURN_CODE) when no Chromium is
// installed: `chromium`, `chromium-browser`, `google-chrome` on PATH, or the binary
// named by $POWERCUT_CHROMIUM. Chart.js (libjs-chart.js) is a dependency; its absence
// is a failure.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/posix/temp_dir_for_test.h"
#include "scenario/seeded_scenarios.h"
#include "tools/powercut/fuzz_campaign.h"
#include "tools/powercut/fuzz_report.h"

namespace powercut::tools {
namespace {

constexpr int kSkip = 77;

std::string FindChromium() {
  if (const char* named = std::getenv("POWERCUT_CHROMIUM"); named != nullptr && *named != '\0') {
    return named;
  }
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (const char* name :
       {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      const std::string candidate = absl::StrCat(dir, "/", name);
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "";
}

// What the command writes on its standard output.
std::string Output(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// Non-overlapping occurrences of `part` in `text`.
size_t Count(const std::string& text, const std::string& part) {
  return std::vector<absl::string_view>(absl::StrSplit(text, part)).size() - 1;
}

int Run() {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    std::cout << "SKIP: no Chromium (chromium, chromium-browser, google-chrome on PATH, or "
                 "$POWERCUT_CHROMIUM); apt-get install chromium to run this test\n";
    return kSkip;
  }
  if (!std::filesystem::exists(kDebianChartJsPath)) {
    std::cout << "FAIL: " << kDebianChartJsPath
              << " absent (scripts/setup.sh installs libjs-chart.js)\n";
    return 1;
  }
  posix::TempDir dir("fuzz_report_chromium_test");
  FuzzOptions options;
  options.families = {*verifier::FindScenarioFamily("writecache")};
  options.out_dir = dir.File("out");
  options.corpus_dir = dir.File("corpus");
  options.jobs = 2;
  options.duration_seconds = 1;
  options.first_seed = 1000;
  options.mutant = "wc_sb_no_fua";
  absl::StatusOr<FuzzSummary> summary = RunFuzzCampaign(options, {});
  if (!summary.ok() || summary->groups.empty()) {
    std::cout << "FAIL: the campaign gave no failure group: " << summary.status() << "\n";
    return 1;
  }
  const std::string report = dir.File("out/report.html");
  if (absl::Status written = WriteFuzzReport(*summary, report); !written.ok()) {
    std::cout << "FAIL: " << written << "\n";
    return 1;
  }
  const std::string dom = Output(absl::StrCat(
      "timeout 120 ", chromium, " --headless --disable-gpu --no-sandbox --no-first-run ",
      "--user-data-dir=", dir.File("profile"), " '--host-resolver-rules=MAP * ~NOTFOUND' ",
      "--dump-dom file://", report, " 2>", dir.File("chromium.log")));
  const size_t canvases = Count(dom, "<canvas");
  const std::string drawn = absl::StrCat("data-charts-drawn=\"", canvases, "\"");
  bool ok = true;
  const auto check = [&](bool passed, const std::string& what) {
    std::cout << (passed ? "ok: " : "FAIL: ") << what << "\n";
    ok = ok && passed;
  };
  check(!dom.empty(), absl::StrCat(chromium, " dumped the page's DOM"));
  check(canvases >= 2,
        absl::StrCat(canvases, " chart canvases (at least seeds over time and families)"));
  check(dom.find(drawn) != std::string::npos, absl::StrCat("the page's script drew them: ", drawn));
  check(dom.find("data-charts-error=\"") == std::string::npos, "no script error");
  check(Count(dom, "box-sizing: border-box") >= canvases, "Chart.js sized every canvas");
  check(Count(dom, "<svg class=\"timeline\"") == summary->groups.size(),
        absl::StrCat("one IO timeline per failure group (", summary->groups.size(), ")"));
  check(Count(dom, "<line class=\"power-cut\"") == summary->groups.size(),
        "a power cut line in each");
  if (!ok) {  // the page and Chromium's messages outlive the temporary folder
    const std::filesystem::path kept = std::filesystem::temp_directory_path();
    std::error_code ignored;
    for (const char* name : {"out/report.html", "chromium.log"}) {
      const std::filesystem::path to =
          kept / absl::StrCat("fuzz_report_chromium_test.",
                              std::filesystem::path(name).filename().string());
      std::filesystem::copy_file(dir.File(name), to,
                                 std::filesystem::copy_options::overwrite_existing, ignored);
      std::cout << "kept " << to.string() << "\n";
    }
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace powercut::tools

int main() { return powercut::tools::Run(); }
