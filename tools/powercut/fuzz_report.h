// FuzzReport: a campaign's summary (fuzz_campaign.h) as one self-contained HTML page,
// OUT/report.html, that a person opens the next morning.
//
// The page: the campaign's facts (first seed, shard, jobs, time, seeds and crash images
// with rates, determinism re-checks, workers replaced); charts of seeds and failures
// over time, seeds per family and probe hits, with the probes never hit listed; seeds
// per swarm choice; then,
// for each failure group, its counts, first failure, reproduce command, the shrunk
// replay file's text and a picture (inline SVG) of the last IOs before the power cut
// of that file's run, one lane per device, the cut a red line.
//
// Self-contained: nothing is fetched when the page is opened. The charts are drawn by
// Chart.js, read at write time from the Debian package libjs-chart.js and inlined;
// without it the same numbers are tables, and the page says which package is missing.
// Every text from the summary or a replay file is HTML-escaped.
//
// Runs: each group's replay file is run in a child process (fork, no exec) bounded in
// wall-clock time, so a replay that hangs or dies costs its picture only, and the
// caller never runs a simulation. Call from a single-threaded process.
#ifndef POWERCUT_TOOLS_POWERCUT_FUZZ_REPORT_H_
#define POWERCUT_TOOLS_POWERCUT_FUZZ_REPORT_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "tools/powercut/fuzz_campaign.h"

namespace powercut::tools {

// Where libjs-chart.js installs Chart.js.
inline constexpr char kDebianChartJsPath[] = "/usr/share/javascript/chart.js/chart.min.js";

struct FuzzReportOptions {
  std::string chart_library = kDebianChartJsPath;  // absent or unreadable: tables
  double timeline_seconds = 60;  // wall-clock for each group's replay run, then it is killed
  size_t timeline_ios = 60;      // the IOs drawn: the last ones started before the cut
};

// Writes the page to `path`; a Status error only when it cannot be written. A group
// whose replay file is missing, does not parse or does not finish in time gets a note
// saying so instead of its picture.
absl::Status WriteFuzzReport(const FuzzSummary& summary, const std::string& path,
                             const FuzzReportOptions& options = {});

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_FUZZ_REPORT_H_
