#include "tools/powercut/fuzz_report.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "scenario/scenario.h"
#include "sim/trace.h"
#include "tools/powercut/scenario_file.h"

namespace powercut::tools {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A replay file longer than this is shown cut (an unshrunk seed can be long).
constexpr size_t kReplayShownBytes = 64 * 1024;
// The seeds-over-time table, without charts, picks at most this many samples.
constexpr size_t kSampleRowsWithoutCharts = 100;

std::string Html(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Text that goes inside a <script> element: nothing in it may end the element or open
// an HTML comment there ("<\/" and "<\!" mean the same to JavaScript).
std::string ScriptText(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"</", "<\\/"}, {"<!--", "<\\!--"}});
}

// JSON inside a <script type="application/json">: '<' only occurs in strings, where
// \u003c means the same.
std::string ScriptJson(const json& value) {
  return absl::StrReplaceAll(value.dump(-1, ' ', false, json::error_handler_t::replace),
                             {{"<", "\\u003c"}});
}

std::string Seconds(double seconds) {
  const auto total = static_cast<uint64_t>(seconds + 0.5);
  if (total < 60) return absl::StrFormat("%.1fs", seconds);
  if (total < 3600) return absl::StrFormat("%dm %02ds", total / 60, total % 60);
  return absl::StrFormat("%dh %02dm %02ds", total / 3600, total / 60 % 60, total % 60);
}

std::string Millis(int64_t ns) { return absl::StrFormat("%.6fms", static_cast<double>(ns) / 1e6); }

// ---- The IO timeline of a replay file's run, up to the power cut --------------------

struct TimelineBar {  // one IO, from submission to completion (or the cut)
  std::string lane;   // the device
  uint64_t id = 0;    // the device's IO id
  std::string op;     // read, write, discard, flush, fence
  std::string label;  // "write #17 sec 128+8 FUA"
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  bool in_flight = false;  // still running at the power cut
};

struct TimelineMark {  // an instant on a device: a fault, a pmem store or flush
  std::string lane;
  std::string label;
  int64_t time_ns = 0;
};

struct IoTimeline {
  int64_t cut_ns = 0;
  uint64_t cut_step = 0;
  bool cut_mid_run = false;
  bool failed = false;  // the run failed, as the group's did
  std::vector<TimelineBar> bars;
  std::vector<TimelineMark> marks;
};

// Keeps, for each power cut, the last `ios` IOs started before it in the run it ended,
// and the marks among them (a scenario with several cuts has a run per cut: each new
// world, marked by a "recovery" event, starts a new one).
class TimelineRecorder {
 public:
  explicit TimelineRecorder(size_t ios) : ios_(std::max<size_t>(ios, 1)) {}

  void Add(const sim::TraceEvent& event) {
    const std::string lane(event.actor);
    const std::string op(event.op);
    if (lane == "check") {
      if (op == "power.cut") Cut(event);
      if (op == "recovery") Restart();
      return;
    }
    if (cut_) return;
    if (op == "run") return;  // a fiber scheduled, not IO
    std::string label = op;
    if (event.id != 0) absl::StrAppend(&label, " #", event.id);
    if (event.sectors != 0) absl::StrAppend(&label, " sec ", event.sector, "+", event.sectors);
    if (!event.flags.empty()) absl::StrAppend(&label, " ", std::string(event.flags));
    // A block device's flush has no range and completes; a pmem flush names its byte
    // range and takes effect at the next fence, an instant.
    const bool starts_io = op == "read" || op == "write" || op == "discard" || op == "fence" ||
                           (op == "flush" && event.sectors == 0);
    if (starts_io) {
      const uint64_t order = next_order_++;
      bars_[order] =
          TimelineBar{lane, event.id, op, label, event.time.count(), event.time.count(), false};
      open_[{lane, event.id}] = order;
      while (bars_.size() > ios_) {
        open_.erase({bars_.begin()->second.lane, bars_.begin()->second.id});
        bars_.erase(bars_.begin());
      }
      return;
    }
    if (absl::EndsWith(op, ".done") && op != "preflush.done") {
      auto it = open_.find({lane, event.id});
      if (it != open_.end()) {
        bars_[it->second].end_ns = event.time.count();
        open_.erase(it);
      }
      return;
    }
    marks_.push_back(TimelineMark{lane, label, event.time.count()});
    if (marks_.size() > ios_) marks_.pop_front();
  }

  // The timeline of the run that `after_cut` power cuts came before (the one a failure
  // with Failure::after_cut belongs to), or of the last run.
  IoTimeline Take(bool failed, uint32_t after_cut) const {
    if (cuts_.empty()) return IoTimeline{.failed = failed};
    IoTimeline timeline = cuts_[std::min<size_t>(after_cut, cuts_.size() - 1)];
    timeline.failed = failed;
    return timeline;
  }

 private:
  void Cut(const sim::TraceEvent& event) {
    if (cut_) return;
    cut_ = true;
    IoTimeline timeline{.cut_ns = event.time.count(),
                        .cut_step = event.id,
                        .cut_mid_run = event.flags == "mid-run"};
    for (const auto& [key, order] : open_) {
      bars_[order].end_ns = timeline.cut_ns;
      bars_[order].in_flight = true;
    }
    for (const auto& [order, bar] : bars_) timeline.bars.push_back(bar);
    const int64_t from = timeline.bars.empty() ? 0 : timeline.bars.front().start_ns;
    for (const TimelineMark& mark : marks_) {
      if (mark.time_ns >= from) timeline.marks.push_back(mark);
    }
    cuts_.push_back(std::move(timeline));
  }

  // A new world: its run records from scratch.
  void Restart() {
    cut_ = false;
    bars_.clear();
    open_.clear();
    marks_.clear();
  }

  size_t ios_;
  bool cut_ = false;
  std::vector<IoTimeline> cuts_;
  uint64_t next_order_ = 0;
  std::map<uint64_t, TimelineBar> bars_;                       // by submission order
  std::map<std::pair<std::string, uint64_t>, uint64_t> open_;  // (device, IO id) -> order
  std::deque<TimelineMark> marks_;
};

json TimelineJson(const IoTimeline& t) {
  json bars = json::array();
  for (const TimelineBar& b : t.bars) {
    bars.push_back({b.lane, b.id, b.op, b.label, b.start_ns, b.end_ns, b.in_flight});
  }
  json marks = json::array();
  for (const TimelineMark& m : t.marks) marks.push_back({m.lane, m.label, m.time_ns});
  return {{"cut_ns", t.cut_ns}, {"cut_step", t.cut_step}, {"cut_mid_run", t.cut_mid_run},
          {"failed", t.failed}, {"bars", bars},           {"marks", marks}};
}

IoTimeline TimelineFromJson(const json& j) {
  IoTimeline t{.cut_ns = j.at("cut_ns").get<int64_t>(),
               .cut_step = j.at("cut_step").get<uint64_t>(),
               .cut_mid_run = j.at("cut_mid_run").get<bool>(),
               .failed = j.at("failed").get<bool>()};
  for (const json& b : j.at("bars")) {
    t.bars.push_back(TimelineBar{.lane = b.at(0).get<std::string>(),
                                 .id = b.at(1).get<uint64_t>(),
                                 .op = b.at(2).get<std::string>(),
                                 .label = b.at(3).get<std::string>(),
                                 .start_ns = b.at(4).get<int64_t>(),
                                 .end_ns = b.at(5).get<int64_t>(),
                                 .in_flight = b.at(6).get<bool>()});
  }
  for (const json& m : j.at("marks")) {
    t.marks.push_back(TimelineMark{.lane = m.at(0).get<std::string>(),
                                   .label = m.at(1).get<std::string>(),
                                   .time_ns = m.at(2).get<int64_t>()});
  }
  return t;
}

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// The run of `file` in a child process: its timeline as JSON over a pipe, or
// {"error": ...}. Killed past options.timeline_seconds of wall-clock time.
absl::StatusOr<IoTimeline> TimelineOfReplay(const std::string& file,
                                            const FuzzReportOptions& options) {
  if (file.empty()) return absl::NotFoundError("no replay file was written for this group");
  absl::StatusOr<verifier::Scenario> scenario = LoadScenarioFile(file);
  if (!scenario.ok()) return scenario.status();
  int ends[2];
  if (pipe(ends) != 0) return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  const pid_t pid = fork();
  if (pid < 0) {
    close(ends[0]);
    close(ends[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    close(ends[0]);
    TimelineRecorder recorder(options.timeline_ios);
    absl::StatusOr<verifier::CrashCheckResult> result = verifier::RunScenario(
        *scenario, {.observer = [&](const sim::TraceEvent& event) { recorder.Add(event); }});
    const json answer = result.ok() ? TimelineJson(recorder.Take(!result->passed,
                                                                 result->failure.after_cut))
                                    : json{{"error", std::string(result.status().message())}};
    WriteAll(ends[1], answer.dump(-1, ' ', false, json::error_handler_t::replace));
    _exit(0);
  }
  close(ends[1]);
  const Clock::time_point deadline =
      Clock::now() +
      std::chrono::milliseconds(static_cast<int64_t>(options.timeline_seconds * 1000));
  std::string answer;
  bool answered = false;  // the child closed its end
  bool timed_out = false;
  int read_error = 0;
  while (!answered) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fd{.fd = ends[0], .events = POLLIN, .revents = 0};
    const int ready = poll(&fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) {
      read_error = errno;
      break;
    }
    if (ready <= 0) continue;
    char buffer[65536];
    const ssize_t n = read(ends[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      read_error = errno;
      break;
    }
    answered = n == 0;
    answer.append(buffer, static_cast<size_t>(n));
  }
  close(ends[0]);
  if (!answered) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrFormat(
        "its run did not finish within %gs of wall-clock time", options.timeline_seconds));
  }
  if (!answered)
    return absl::InternalError(
        absl::StrCat("reading its run's answer: ", std::strerror(read_error)));
  if (WIFSIGNALED(status)) {
    return absl::InternalError(absl::StrCat("its run died (signal ", WTERMSIG(status), ")"));
  }
  const json parsed = json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return absl::InternalError("its run gave no timeline");
  if (parsed.contains("error")) return absl::InternalError(parsed["error"].get<std::string>());
  return TimelineFromJson(parsed);
}

std::string OpColor(const std::string& op) {
  if (op == "write") return "#3b73c4";
  if (op == "read") return "#4a9d5b";
  if (op == "flush") return "#e08a1e";
  if (op == "discard") return "#8a8a8a";
  return "#8e5ac8";  // fence
}

// Lanes (devices, by name) of rows: IOs of one device that overlap go on rows of their own.
std::string TimelineSvg(const IoTimeline& t) {
  constexpr int kWidth = 1000, kLabels = 130, kRight = 110, kTop = 28, kRow = 12, kLanePad = 6;
  const int64_t from = t.bars.empty() ? (t.marks.empty() ? t.cut_ns : t.marks.front().time_ns)
                                      : t.bars.front().start_ns;
  // The time axis is stretched where IOs are dense: three quarters of a position is the
  // instant's rank among all the instants drawn, a quarter its time. Order is exact,
  // long gaps still look long, and the ticks give the virtual time.
  std::vector<int64_t> instants = {from, t.cut_ns};
  for (const TimelineBar& b : t.bars) instants.insert(instants.end(), {b.start_ns, b.end_ns});
  for (const TimelineMark& m : t.marks) instants.push_back(m.time_ns);
  std::sort(instants.begin(), instants.end());
  instants.erase(std::unique(instants.begin(), instants.end()), instants.end());
  const double span = static_cast<double>(std::max<int64_t>(t.cut_ns - from, 1));
  const double ranks = static_cast<double>(std::max<size_t>(instants.size() - 1, 1));
  const auto x = [&](int64_t ns) {
    const auto rank = static_cast<double>(std::lower_bound(instants.begin(), instants.end(), ns) -
                                          instants.begin());
    return kLabels + (0.75 * rank / ranks + 0.25 * static_cast<double>(ns - from) / span) *
                         (kWidth - kLabels - kRight);
  };
  std::set<std::string> lane_names;
  for (const TimelineBar& b : t.bars) lane_names.insert(b.lane);
  for (const TimelineMark& m : t.marks) lane_names.insert(m.lane);
  std::map<std::string, std::vector<int64_t>> row_ends;  // lane -> each row's last end
  std::vector<int> bar_row;
  for (const TimelineBar& b : t.bars) {
    std::vector<int64_t>& ends = row_ends[b.lane];
    size_t row = 0;
    while (row < ends.size() && ends[row] > b.start_ns) ++row;
    if (row == ends.size()) ends.push_back(b.end_ns);
    ends[row] = std::max(b.end_ns, b.start_ns + 1);
    bar_row.push_back(static_cast<int>(row));
  }
  const auto lane_height = [&](const std::string& lane) {
    return static_cast<int>(std::max<size_t>(row_ends[lane].size(), 1)) * kRow + 2 * kLanePad;
  };
  std::map<std::string, int> lane_top;
  int height = kTop;
  for (const std::string& lane : lane_names) {
    lane_top[lane] = height;
    height += lane_height(lane);
  }
  const int bottom = height;
  height += 8;
  std::string svg = absl::StrFormat(
      "<svg class=\"timeline\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" role=\"img\">\n",
      kWidth, height, kWidth, height);
  bool alternate = false;
  for (const std::string& lane : lane_names) {
    absl::StrAppendFormat(&svg,
                          "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"lane%s\"/>"
                          "<text x=\"4\" y=\"%d\" class=\"lane-name\">%s</text>\n",
                          lane_top[lane], kWidth - kRight + 10, lane_height(lane),
                          alternate ? " alt" : "", lane_top[lane] + lane_height(lane) / 2 + 4,
                          Html(lane));
    alternate = !alternate;
  }
  for (int tick = 0; tick <= 4; ++tick) {
    const int64_t ns =
        instants[std::min(instants.size() - 1, static_cast<size_t>(ranks * tick / 4))];
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
                          "<text x=\"%.1f\" y=\"%d\" class=\"tick\">%s</text>\n",
                          x(ns), kTop - 6, x(ns), bottom, x(ns), kTop - 10, Html(Millis(ns)));
  }
  for (size_t i = 0; i < t.bars.size(); ++i) {
    const TimelineBar& b = t.bars[i];
    const double left = x(b.start_ns);
    const double width = std::max(x(b.end_ns) - left, 2.0);
    const std::string title =
        absl::StrCat(b.lane, " ", b.label, ", ", Millis(b.start_ns), " to ", Millis(b.end_ns),
                     b.in_flight ? " (in flight at the power cut)" : "");
    absl::StrAppendFormat(&svg,
                          "<rect class=\"io%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                          "fill=\"%s\"><title>%s</title></rect>\n",
                          b.in_flight ? " in-flight" : "", left,
                          lane_top[b.lane] + kLanePad + bar_row[i] * kRow + 1, width, kRow - 2,
                          OpColor(b.op), Html(title));
  }
  for (const TimelineMark& m : t.marks) {
    const int top = lane_top[m.lane];
    absl::StrAppendFormat(&svg,
                          "<line class=\"mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\">"
                          "<title>%s</title></line>\n",
                          x(m.time_ns), top + 2, x(m.time_ns), top + lane_height(m.lane) - 2,
                          Html(absl::StrCat(m.lane, " ", m.label, " at ", Millis(m.time_ns))));
  }
  absl::StrAppendFormat(&svg,
                        "<line class=\"power-cut\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                        "stroke=\"#d00\" stroke-width=\"2\"/>"
                        "<text x=\"%.1f\" y=\"%d\" class=\"cut-label\">power cut</text>"
                        "<text x=\"%.1f\" y=\"%d\" class=\"cut-label\">step %d</text>\n",
                        x(t.cut_ns), kTop - 6, x(t.cut_ns), bottom, x(t.cut_ns) + 5, kTop + 10,
                        x(t.cut_ns) + 5, kTop + 22, t.cut_step);
  svg += "</svg>\n";
  return svg;
}

std::string TimelineSection(const FuzzGroup& group, const FuzzReportOptions& options) {
  absl::StatusOr<IoTimeline> timeline = TimelineOfReplay(group.corpus_file, options);
  if (!timeline.ok()) {
    return absl::StrCat("<p class=\"note\">No IO timeline: ", Html(timeline.status().message()),
                        "</p>\n");
  }
  std::string out = absl::StrFormat(
      "<p>The last %d IOs started before the power cut (step %d, %s, at %s) of this file's "
      "run, one lane per device, in order (the time axis is stretched where IOs are dense); a "
      "red outline marks an IO still in flight at the cut, a thin line an instant (a fault, "
      "a pmem store). Hover for details.</p>\n",
      timeline->bars.size(), timeline->cut_step,
      timeline->cut_mid_run ? "mid-run" : "after the workload", Millis(timeline->cut_ns));
  if (!timeline->failed) {
    out += "<p class=\"note\">This run of the file passed: it no longer shows the failure.</p>\n";
  }
  if (timeline->bars.empty() && timeline->marks.empty()) {
    return out + "<p class=\"note\">No IO before the power cut.</p>\n";
  }
  out += TimelineSvg(*timeline);
  out +=
      "<p class=\"legend\"><span style=\"background:#3b73c4\"></span>write "
      "<span style=\"background:#4a9d5b\"></span>read <span "
      "style=\"background:#e08a1e\"></span>flush "
      "<span style=\"background:#8a8a8a\"></span>discard <span "
      "style=\"background:#8e5ac8\"></span>fence "
      "<span class=\"in-flight-key\"></span>in flight at the cut</p>\n";
  return out;
}

// ---- The page ---------------------------------------------------------------------

std::string Fact(absl::string_view name, absl::string_view value) {
  return absl::StrCat("<tr><th>", Html(name), "</th><td>", Html(value), "</td></tr>\n");
}

std::string FactsTable(const FuzzSummary& s) {
  const double elapsed = std::max(s.elapsed_seconds, 1e-9);
  std::string out = "<table class=\"facts\">\n";
  out += Fact("first seed", absl::StrCat(s.first_seed));
  out += Fact("shard", FuzzShardName(s));
  out += Fact("jobs", absl::StrCat(s.jobs));
  out +=
      Fact("duration", absl::StrCat(Seconds(s.elapsed_seconds), " of ", Seconds(s.duration_seconds),
                                    s.interrupted ? " (interrupted)" : ""));
  out += Fact("seeds",
              absl::StrFormat("%d (%.1f/s)", s.seeds, static_cast<double>(s.seeds) / elapsed));
  out += Fact("crash images", absl::StrFormat("%d (%.1f/s)", s.crash_images,
                                              static_cast<double>(s.crash_images) / elapsed));
  out += Fact("sectors judged", absl::StrCat(s.sectors_checked));
  out += Fact("failing seeds", absl::StrCat(s.failures, " in ", s.groups.size(), " group(s)"));
  out += Fact("determinism re-checks", absl::StrCat(s.determinism_checks, " (",
                                                    s.determinism_failures, " not deterministic)"));
  out += Fact("workers replaced", absl::StrCat(s.workers_replaced));
  if (!s.summary_path.empty()) out += Fact("summary", s.summary_path);
  return out + "</table>\n";
}

std::string FamiliesTable(const FuzzSummary& s) {
  std::string out =
      "<table class=\"families\"><tr><th>family</th><th>seeds</th><th>failing seeds</th>"
      "<th>crash images</th><th>sectors judged</th></tr>\n";
  for (const FuzzFamilyCounts& f : s.families) {
    absl::StrAppend(&out, "<tr><td>", Html(f.name), "</td><td>", f.seeds, "</td><td>", f.failures,
                    "</td><td>", f.crash_images, "</td><td>", f.sectors_checked, "</td></tr>\n");
  }
  return out + "</table>\n";
}

std::string SamplesTable(const FuzzSummary& s) {
  std::string out =
      "<table class=\"samples\"><tr><th>seconds</th><th>seeds</th><th>failing seeds</th></tr>\n";
  const size_t step = std::max<size_t>(
      1, (s.samples.size() + kSampleRowsWithoutCharts - 1) / kSampleRowsWithoutCharts);
  for (size_t i = 0; i < s.samples.size(); i += step) {
    const FuzzSample& p = s.samples[i];
    absl::StrAppendFormat(&out, "<tr><td>%.1f</td><td>%d</td><td>%d</td></tr>\n", p.seconds,
                          p.seeds, p.failures);
  }
  return out + "</table>\n";
}

std::string ProbesSection(const FuzzSummary& s, bool charts) {
  if (s.probes.empty()) return "<p class=\"note\">No probe was reported by this campaign.</p>\n";
  std::string out;
  std::vector<const FuzzProbe*> never;
  for (const FuzzProbe& p : s.probes) {
    if (p.hits == 0) never.push_back(&p);
  }
  if (never.empty()) {
    absl::StrAppend(&out, "<p class=\"all-hit\">Every one of the ", s.probes.size(),
                    " probes was hit.</p>\n");
  } else {
    absl::StrAppend(&out, "<div class=\"never-hit\"><h3>", never.size(), " probe",
                    never.size() == 1 ? "" : "s", " never hit</h3>\n<ul>\n");
    for (const FuzzProbe* p : never) {
      absl::StrAppend(&out, "<li><code>", Html(p->name), "</code>: ", Html(p->what), "</li>\n");
    }
    out += "</ul></div>\n";
  }
  if (charts) {
    absl::StrAppendFormat(
        &out,
        "<div class=\"chart\" style=\"height:%dpx\"><canvas id=\"chart-probes\"></canvas></div>\n",
        60 + 22 * static_cast<int>(s.probes.size()));
  }
  absl::StrAppend(&out, "<details", charts ? "" : " open", "><summary>every probe</summary>\n",
                  "<table class=\"probes\"><tr><th>probe</th><th>hits</th><th>what</th></tr>\n");
  for (const FuzzProbe& p : s.probes) {
    absl::StrAppend(&out, "<tr", p.hits == 0 ? " class=\"zero\"" : "", "><td><code>", Html(p.name),
                    "</code></td><td>", p.hits, "</td><td>", Html(p.what), "</td></tr>\n");
  }
  return out + "</table></details>\n";
}

// Seeds per swarm choice (scenario/swarm.h), as a table: which op-kind mixes whole
// seeds were given to.
std::string SwarmSection(const FuzzSummary& s) {
  if (s.swarm.empty()) return "<p class=\"note\">Swarm testing was off (--no-swarm).</p>\n";
  std::string out = "<table class=\"swarm\"><tr><th>op kinds kept</th><th>seeds</th></tr>\n";
  for (const auto& [choice, seeds] : s.swarm) {
    absl::StrAppend(&out, "<tr><td><code>", Html(choice), "</code></td><td>", seeds, "</td></tr>\n");
  }
  return out + "</table>\n";
}

std::string ReplayText(const std::string& file) {
  if (file.empty()) return "<p class=\"note\">No replay file was written for this group.</p>\n";
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::StrCat("<p class=\"note\">Cannot read ", Html(file), ".</p>\n");
  std::string text(kReplayShownBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  std::string out =
      absl::StrCat("<p>Replay file <code>", Html(file), "</code>:</p>\n<pre class=\"replay\">");
  if (text.size() > kReplayShownBytes) {
    text.resize(kReplayShownBytes);
    return absl::StrCat(out, Html(text), "</pre>\n<p class=\"note\">(the first ", kReplayShownBytes,
                        " bytes only)</p>\n");
  }
  return absl::StrCat(out, Html(text), "</pre>\n");
}

std::string GroupSection(const FuzzGroup& g, size_t index, const FuzzReportOptions& options) {
  std::string out = absl::StrCat(
      "<section class=\"group\" id=\"group-", index, "\">\n<h3>", Html(g.key),
      g.known ? " <span class=\"known\">known</span>" : " <span class=\"new\">new</span>",
      "</h3>\n<table class=\"facts\">\n");
  out += Fact("family", g.family);
  out += Fact("group", g.group);
  out += Fact("phase", g.phase);
  out += Fact("failing seeds", absl::StrCat(g.failures));
  out += Fact("first seed", absl::StrCat(g.first_seed));
  out += Fact("first replay file", g.replay);
  out += Fact("ops", g.shrink_error.empty()
                         ? absl::StrCat(g.original_ops, " shrunk to ", g.shrunk_ops)
                         : absl::StrCat(g.original_ops, ", not shrunk: ", g.shrink_error));
  out += "</table>\n<h4>First failure</h4>\n";
  absl::StrAppend(&out, "<pre class=\"failure\">", Html(g.first_text), "</pre>\n");
  absl::StrAppend(&out, "<h4>Reproduce</h4>\n<pre class=\"reproduce\">", Html(g.reproduce),
                  "</pre>\n");
  out += "<h4>Shrunk replay file</h4>\n";
  out += ReplayText(g.corpus_file);
  out += "<h4>IO timeline before the power cut</h4>\n";
  out += TimelineSection(g, options);
  return out + "</section>\n";
}

constexpr char kStyle[] = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { margin-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
table.facts th { background: #f4f4f4; font-weight: 600; }
tr.zero td { background: #fff3f3; }
pre { background: #f7f7f7; border: 1px solid #e2e2e2; padding: 8px; overflow-x: auto; white-space: pre-wrap; }
pre.failure { border-left: 4px solid #d00; }
.note { background: #fff8e1; border: 1px solid #f0c36d; padding: 6px 10px; }
.never-hit { background: #fdecea; border: 2px solid #d00; padding: 4px 12px; margin: 8px 0; }
.never-hit h3 { color: #b00; margin: 6px 0; }
.all-hit { color: #2a7a2a; }
.chart { position: relative; height: 300px; margin: 8px 0 16px; }
section.group { border-top: 2px solid #ccc; margin-top: 24px; }
.known { background: #ddd; padding: 1px 6px; border-radius: 3px; font-size: 12px; }
.new { background: #d00; color: #fff; padding: 1px 6px; border-radius: 3px; font-size: 12px; }
svg.timeline { border: 1px solid #ddd; background: #fff; }
svg.timeline .lane { fill: #f4f4f4; }
svg.timeline .lane.alt { fill: #fbfbfb; }
svg.timeline text { font: 11px system-ui, sans-serif; fill: #333; }
svg.timeline text.tick { text-anchor: middle; fill: #777; }
svg.timeline text.cut-label { fill: #d00; font-weight: 600; }
svg.timeline .io { stroke: #fff; stroke-width: 1; }
svg.timeline .in-flight { stroke: #d00; stroke-width: 2; stroke-dasharray: 3 2; }
svg.timeline .mark { stroke: #444; stroke-width: 1.5; }
.legend span { display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; vertical-align: middle; }
.legend .in-flight-key { border: 2px dashed #d00; width: 10px; height: 10px; }
)css";

// Draws every <canvas> of the page from #report-data; marks <body data-charts-drawn=N>
// when done (the headless test reads it), or data-charts-error.
constexpr char kChartsScript[] = R"js(
(function () {
  try {
    const data = JSON.parse(document.getElementById('report-data').textContent);
    // Chart.js fills in the options object it is given: a new one for every chart.
    const options = (more) => Object.assign(
        { animation: false, responsive: true, maintainAspectRatio: false }, more);
    let drawn = 0;
    const over = document.getElementById('chart-over-time');
    if (over) {
      new Chart(over, {
        type: 'line',
        data: { datasets: [
          { label: 'seeds', yAxisID: 'seeds', borderColor: '#3b73c4', pointRadius: 0,
            data: data.samples.map(s => ({ x: s.seconds, y: s.seeds })) },
          { label: 'failing seeds', yAxisID: 'failures', borderColor: '#d00', pointRadius: 0,
            data: data.samples.map(s => ({ x: s.seconds, y: s.failures })) } ] },
        options: options({
          parsing: false,
          scales: {
            x: { type: 'linear', title: { display: true, text: 'seconds' } },
            seeds: { position: 'left', beginAtZero: true, title: { display: true, text: 'seeds' } },
            failures: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false },
                        title: { display: true, text: 'failing seeds' } } },
          plugins: { decimation: { enabled: true, algorithm: 'lttb', samples: 500 } } })
      });
      ++drawn;
    }
    const families = document.getElementById('chart-families');
    if (families) {
      new Chart(families, {
        type: 'bar',
        data: { labels: data.families.map(f => f.name), datasets: [
          { label: 'seeds', backgroundColor: '#3b73c4', data: data.families.map(f => f.seeds) },
          { label: 'failing seeds', backgroundColor: '#d00', data: data.families.map(f => f.failures) } ] },
        options: options({})
      });
      ++drawn;
    }
    const probes = document.getElementById('chart-probes');
    if (probes) {
      new Chart(probes, {
        type: 'bar',
        data: { labels: data.probes.map(p => p.name), datasets: [
          { label: 'hits', data: data.probes.map(p => p.hits),
            backgroundColor: data.probes.map(p => p.hits === 0 ? '#d00' : '#4a9d5b') } ] },
        options: options({ indexAxis: 'y', plugins: { legend: { display: false } } })
      });
      ++drawn;
    }
    document.body.setAttribute('data-charts-drawn', String(drawn));
  } catch (e) {
    document.body.setAttribute('data-charts-error', String(e));
  }
})();
)js";

json ChartData(const FuzzSummary& s) {
  json samples = json::array(), families = json::array(), probes = json::array();
  if (!s.samples.empty() && s.samples.front().seconds > 0) {  // the start: nothing checked yet
    samples.push_back({{"seconds", 0}, {"seeds", 0}, {"failures", 0}});
  }
  for (const FuzzSample& p : s.samples) {
    samples.push_back({{"seconds", p.seconds}, {"seeds", p.seeds}, {"failures", p.failures}});
  }
  for (const FuzzFamilyCounts& f : s.families) {
    families.push_back({{"name", f.name}, {"seeds", f.seeds}, {"failures", f.failures}});
  }
  for (const FuzzProbe& p : s.probes) probes.push_back({{"name", p.name}, {"hits", p.hits}});
  return {{"samples", samples}, {"families", families}, {"probes", probes}};
}

// Chart.js's text, or empty when it cannot be read.
std::string ReadChartLibrary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Page(const FuzzSummary& s, const FuzzReportOptions& options) {
  const std::string chart_library = ReadChartLibrary(options.chart_library);
  const bool charts = !chart_library.empty();
  std::string page = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>powercut fuzz: ",
      s.failures == 0 ? "no failure" : absl::StrCat(s.failures, " failing seeds"), ", first seed ",
      s.first_seed, "</title>\n<style>", kStyle, "</style>\n</head>\n<body>\n");
  absl::StrAppend(&page, "<h1>powercut fuzz</h1>\n<p class=\"verdict\">",
                  s.failures == 0 ? "No seed failed."
                                  : absl::StrCat(s.failures, " failing seeds in ", s.groups.size(),
                                                 " failure group(s)."),
                  "</p>\n", FactsTable(s));
  if (!charts) {
    absl::StrAppend(
        &page,
        "<p class=\"note\" id=\"no-charts\">Charts are missing: Chart.js was not found at <code>",
        Html(options.chart_library),
        "</code> (Debian package <code>libjs-chart.js</code>); the numbers are shown as "
        "tables.</p>\n");
  }
  page += "<h2>Seeds and failures over time</h2>\n";
  if (s.samples.empty()) {
    page += "<p class=\"note\">No samples.</p>\n";
  } else if (charts) {
    page += "<div class=\"chart\"><canvas id=\"chart-over-time\"></canvas></div>\n";
  } else {
    page += SamplesTable(s);
  }
  page += "<h2>Families</h2>\n";
  if (charts && !s.families.empty()) {
    page += "<div class=\"chart\"><canvas id=\"chart-families\"></canvas></div>\n";
  }
  page += FamiliesTable(s);
  page += "<h2>Probes</h2>\n";
  page += ProbesSection(s, charts);
  page += "<h2>Swarm</h2>\n";
  page += SwarmSection(s);
  page += "<h2>Failure groups</h2>\n";
  if (s.groups.empty()) {
    page += "<p>None.</p>\n";
  } else {
    page += "<ul>\n";
    for (size_t i = 0; i < s.groups.size(); ++i) {
      absl::StrAppend(&page, "<li><a href=\"#group-", i, "\">", Html(s.groups[i].key),
                      "</a>: ", s.groups[i].failures, " failing seeds",
                      s.groups[i].known ? " (known)" : "", "</li>\n");
    }
    page += "</ul>\n";
  }
  for (size_t i = 0; i < s.groups.size(); ++i) page += GroupSection(s.groups[i], i, options);
  if (charts) {
    absl::StrAppend(&page, "<script type=\"application/json\" id=\"report-data\">",
                    ScriptJson(ChartData(s)), "</script>\n<script>\n", ScriptText(chart_library),
                    "\n</script>\n<script>", kChartsScript, "</script>\n");
  }
  return page + "</body>\n</html>\n";
}

}  // namespace

absl::Status WriteFuzzReport(const FuzzSummary& summary, const std::string& path,
                             const FuzzReportOptions& options) {
  const std::string page = Page(summary, options);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << page;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace powercut::tools
