// report.html: one page that needs nothing from the network, Chart.js inlined when it
// is installed and tables with a note when it is not, an IO timeline with the power cut
// for every failure group from its replay file's run, every text escaped, the probes
// never hit listed, and a replay that cannot be pictured costing its picture only.
#include "tools/powercut/fuzz_report.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/posix/temp_dir_for_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Non-overlapping occurrences of `part` in `text`.
size_t Count(const std::string& text, const std::string& part) {
  return std::vector<absl::string_view>(absl::StrSplit(text, part)).size() - 1;
}

std::string Corpus(const std::string& name) {
  return std::string(POWERCUT_CORPUS_DIR) + "/" + name;
}

FuzzGroup Group(const std::string& key, const std::string& corpus_file) {
  return FuzzGroup{
      .key = key,
      .family = "writecache",
      .group = "lost-durable-write",
      .phase = "recovery",
      .failures = 12,
      .first_seed = 1003,
      .first_text = "After the crash, sector 8 holds zeroes",
      .replay = "/tmp/out/failures/writecache-1003.replay",
      .reproduce = "powercut_with_mutants replay /tmp/out/failures/writecache-1003.replay",
      .corpus_file = corpus_file,
      .shrunk_ops = 3,
      .original_ops = 35};
}

FuzzSummary Summary() {
  FuzzSummary s;
  s.first_seed = 1000;
  s.shard = 2;
  s.shards = 3;
  s.jobs = 4;
  s.duration_seconds = 60;
  s.elapsed_seconds = 61.5;
  s.seeds = 420;
  s.failures = 13;
  s.crash_images = 1680;
  s.sectors_checked = 99999;
  s.determinism_checks = 2;
  s.workers_replaced = 1;
  s.families = {{.name = "writecache", .seeds = 210, .failures = 13, .crash_images = 840},
                {.name = "linear", .seeds = 210, .failures = 0, .crash_images = 840}};
  s.samples = {{.seconds = 0, .seeds = 0, .failures = 0},
               {.seconds = 30, .seeds = 200, .failures = 6},
               {.seconds = 61.5, .seeds = 420, .failures = 13}};
  s.probes = {
      {.name = "wc.commit.partial", .what = "a commit that wrote part of the metadata", .hits = 17},
      {.name = "wc.sb.torn", .what = "a torn superblock & <more>", .hits = 0},
      {.name = "raid1.resync.abort", .what = "a resync stopped by a failure", .hits = 0}};
  s.groups = {
      Group("writecache--lost-durable-write--recovery", Corpus("writecache_sb_no_fua.replay")),
      Group("linear--lost-durable-write--recovery", Corpus("linear_fua_dropped.replay"))};
  s.groups[1].family = "linear";
  return s;
}

// A stand-in for Chart.js: a marker, and text that would end a <script> element.
std::string FakeChartLibrary(const posix::TempDir& dir) {
  const std::string path = dir.File("chart.min.js");
  std::ofstream(path)
      << "/* FAKE-CHART-JS */ window.Chart = function () {}; var s = '</script>';\n";
  return path;
}

std::string WriteAndRead(const FuzzSummary& summary, const posix::TempDir& dir,
                         const FuzzReportOptions& options) {
  const std::string path = dir.File("report.html");
  const absl::Status written = WriteFuzzReport(summary, path, options);
  EXPECT_TRUE(written.ok()) << written;
  return Read(path);
}

TEST(FuzzReport, IsOnePageThatFetchesNothingWithTheChartLibraryInlined) {
  posix::TempDir dir("fuzz_report_test");
  const std::string page = WriteAndRead(Summary(), dir, {.chart_library = FakeChartLibrary(dir)});
  EXPECT_THAT(page, ::testing::StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(
      page, HasSubstr("/* FAKE-CHART-JS */ window.Chart = function () {}; var s = '<\\/script>';"));
  EXPECT_EQ(Count(page, "<canvas"), 3u);  // over time, families, probes
  EXPECT_THAT(page, HasSubstr("data-charts-drawn"));
  EXPECT_THAT(page, Not(HasSubstr("http://")));
  EXPECT_THAT(page, Not(HasSubstr("https://")));
  EXPECT_FALSE(
      std::regex_search(page, std::regex(R"((src|href)\s*=\s*["']?[a-z]+:)", std::regex::icase)));
  EXPECT_THAT(page, Not(HasSubstr("<link")));
  EXPECT_THAT(page, Not(HasSubstr("@import")));
  EXPECT_THAT(page, Not(HasSubstr("url(")));
  // The campaign's facts.
  for (const char* fact : {"1000", "2/3", "420 (6.8/s)", "1680 (27.3/s)", "2 (0 not deterministic)",
                           "workers replaced"}) {
    EXPECT_THAT(page, HasSubstr(fact));
  }
}

TEST(FuzzReport, InlinesTheInstalledChartJs) {
  const std::string library = Read(kDebianChartJsPath);
  if (library.empty())
    GTEST_SKIP() << kDebianChartJsPath << " absent: apt-get install libjs-chart.js";
  posix::TempDir dir("fuzz_report_test");
  const std::string page = WriteAndRead(Summary(), dir, {});
  EXPECT_THAT(page, HasSubstr(library));
  EXPECT_THAT(page, Not(HasSubstr("no-charts")));
  // The only addresses are the library's own comments.
  const size_t at = page.find(library);
  const std::string rest = page.substr(0, at) + page.substr(at + library.size());
  EXPECT_THAT(rest, Not(HasSubstr("http://")));
  EXPECT_THAT(rest, Not(HasSubstr("https://")));
}

TEST(FuzzReport, WithoutTheChartLibraryTheNumbersAreTablesAndThePageSaysWhatIsMissing) {
  posix::TempDir dir("fuzz_report_test");
  const std::string page =
      WriteAndRead(Summary(), dir, {.chart_library = dir.File("absent/chart.min.js")});
  EXPECT_THAT(page, HasSubstr("id=\"no-charts\""));
  EXPECT_THAT(page, HasSubstr("libjs-chart.js"));
  EXPECT_THAT(page, HasSubstr(dir.File("absent/chart.min.js")));
  EXPECT_THAT(page, Not(HasSubstr("<canvas")));
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, HasSubstr("<table class=\"samples\">"));
  EXPECT_THAT(page, HasSubstr("<table class=\"families\">"));
  EXPECT_THAT(page, HasSubstr("<details open><summary>every probe</summary>"));
  EXPECT_EQ(Count(page, "<svg class=\"timeline\""), 2u);  // the timelines need no script
}

TEST(FuzzReport, EachFailureGroupHasItsReplayFileAndAnIoTimelineWithThePowerCut) {
  posix::TempDir dir("fuzz_report_test");
  const FuzzSummary summary = Summary();
  const std::string page = WriteAndRead(summary, dir, {.chart_library = FakeChartLibrary(dir)});
  EXPECT_EQ(Count(page, "<section class=\"group\""), 2u);
  EXPECT_EQ(Count(page, "<svg class=\"timeline\""), 2u);
  EXPECT_EQ(Count(page, "<line class=\"power-cut\""), 2u);
  EXPECT_GT(Count(page, "<rect class=\"io"), 2u);
  EXPECT_THAT(page, HasSubstr("<text x=\"4\" y=\""));               // lane names
  EXPECT_THAT(page, HasSubstr("before the power cut (step 33, "));  // its `crash: step 33`
  EXPECT_THAT(page, Not(HasSubstr("This run of the file passed")));
  for (const FuzzGroup& group : summary.groups) {
    EXPECT_THAT(page, HasSubstr(group.key));
    EXPECT_THAT(page, HasSubstr(group.reproduce));
    EXPECT_THAT(page, HasSubstr(group.first_text));
    EXPECT_THAT(page, HasSubstr("35 shrunk to 3"));
  }
  EXPECT_THAT(page, HasSubstr("mutant: wc_sb_no_fua"));  // the shrunk replay file's text
  EXPECT_THAT(page, HasSubstr("mutant: linear_fua_dropped"));
}

TEST(FuzzReport, TheTimelineShowsAtMostTheLastIosBeforeTheCut) {
  posix::TempDir dir("fuzz_report_test");
  FuzzSummary summary = Summary();
  summary.groups.resize(1);
  const std::string page =
      WriteAndRead(summary, dir, {.chart_library = FakeChartLibrary(dir), .timeline_ios = 2});
  EXPECT_EQ(Count(page, "<rect class=\"io"), 2u);
  EXPECT_THAT(page, HasSubstr("The last 2 IOs started before the power cut"));
}

TEST(FuzzReport, EveryTextIsEscaped) {
  posix::TempDir dir("fuzz_report_test");
  FuzzSummary summary = Summary();
  summary.groups.resize(1);
  FuzzGroup& group = summary.groups[0];
  group.key = "writecache--<b>bold</b>--run";
  group.first_text = "sector 8: <script>alert(1)</script> & \"more\"";
  group.reproduce = "powercut replay 'a&b<c>.replay'";
  group.shrink_error = "kept <as> it is";
  summary.families[0].name = "fam<ily>";
  // The replay file with a comment a browser would take for markup.
  const std::string original = Read(Corpus("writecache_sb_no_fua.replay"));
  const std::string replay = dir.File("escaped.replay");
  std::ofstream(replay) << original.substr(0, original.find('\n') + 1)
                        << "# a <b>comment</b> & more\n"
                        << original.substr(original.find('\n') + 1);
  group.corpus_file = replay;
  const std::string page = WriteAndRead(summary, dir, {.chart_library = FakeChartLibrary(dir)});
  EXPECT_THAT(page,
              HasSubstr("sector 8: &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;"));
  EXPECT_THAT(page, HasSubstr("writecache--&lt;b&gt;bold&lt;/b&gt;--run"));
  EXPECT_THAT(page, HasSubstr("powercut replay &#39;a&amp;b&lt;c&gt;.replay&#39;"));
  EXPECT_THAT(page, HasSubstr("# a &lt;b&gt;comment&lt;/b&gt; &amp; more"));
  EXPECT_THAT(page, HasSubstr("kept &lt;as&gt; it is"));
  EXPECT_THAT(page, HasSubstr("<td>fam&lt;ily&gt;</td>"));
  EXPECT_THAT(page, HasSubstr("a torn superblock &amp; &lt;more&gt;"));
  EXPECT_THAT(page, Not(HasSubstr("<b>")));
  EXPECT_THAT(page, Not(HasSubstr("<script>alert")));
  EXPECT_EQ(Count(page, "<svg class=\"timeline\""), 1u);  // the comment does not change the run
  // In the chart data too: JSON inside <script> cannot end it.
  EXPECT_THAT(page, HasSubstr("fam\\u003cily>"));
}

TEST(FuzzReport, TheProbesNeverHitAreListedAndCounted) {
  posix::TempDir dir("fuzz_report_test");
  const std::string page = WriteAndRead(Summary(), dir, {.chart_library = FakeChartLibrary(dir)});
  EXPECT_THAT(page, HasSubstr("<div class=\"never-hit\"><h3>2 probes never hit</h3>"));
  const size_t list = page.find("<div class=\"never-hit\">");
  const std::string never = page.substr(list, page.find("</div>", list) - list);
  EXPECT_THAT(never, HasSubstr("<code>wc.sb.torn</code>"));
  EXPECT_THAT(never, HasSubstr("<code>raid1.resync.abort</code>"));
  EXPECT_THAT(never, Not(HasSubstr("wc.commit.partial")));

  FuzzSummary all_hit = Summary();
  for (FuzzProbe& probe : all_hit.probes) probe.hits = 1;
  const std::string second = WriteAndRead(all_hit, dir, {.chart_library = FakeChartLibrary(dir)});
  EXPECT_THAT(second, Not(HasSubstr("never hit")));
  EXPECT_THAT(second, HasSubstr("Every one of the 3 probes was hit."));

  FuzzSummary none = Summary();
  none.probes.clear();
  const std::string third = WriteAndRead(none, dir, {.chart_library = FakeChartLibrary(dir)});
  EXPECT_THAT(third, HasSubstr("No probe was reported"));
  EXPECT_EQ(Count(third, "<canvas"), 2u);
}

TEST(FuzzReport, TheSeedsOfEachSwarmChoiceAreListed) {
  posix::TempDir dir("fuzz_report_test");
  FuzzSummary summary = Summary();
  summary.swarm = {{"writes+flushes", 120}, {"writes+reads<&>", 300}};
  const std::string page = WriteAndRead(summary, dir, {.chart_library = FakeChartLibrary(dir)});
  EXPECT_THAT(page, HasSubstr("<tr><td><code>writes+flushes</code></td><td>120</td></tr>"));
  EXPECT_THAT(page, HasSubstr("writes+reads&lt;&amp;&gt;"));
  summary.swarm.clear();
  EXPECT_THAT(WriteAndRead(summary, dir, {.chart_library = FakeChartLibrary(dir)}),
              HasSubstr("Swarm testing was off"));
}

TEST(FuzzReport, AReplayThatCannotBePicturedCostsItsPictureOnly) {
  posix::TempDir dir("fuzz_report_test");
  FuzzSummary summary = Summary();
  summary.groups.push_back(Group("missing", dir.File("nothing.replay")));
  summary.groups.push_back(Group("unwritten", ""));
  std::ofstream(dir.File("broken.replay")) << "powercut-replay 1\nengine: linear\n";  // no `end`
  summary.groups.push_back(Group("broken", dir.File("broken.replay")));
  const std::string page = WriteAndRead(summary, dir, {.chart_library = FakeChartLibrary(dir)});
  EXPECT_EQ(Count(page, "<section class=\"group\""), 5u);
  EXPECT_EQ(Count(page, "<svg class=\"timeline\""), 2u);
  EXPECT_EQ(Count(page, "No IO timeline: "), 3u);
  EXPECT_THAT(page, HasSubstr("No replay file was written for this group."));
  EXPECT_THAT(page, HasSubstr("Cannot read " + dir.File("nothing.replay")));
}

TEST(FuzzReport, AReplayRunPastItsTimeLimitIsKilledAndNoted) {
  posix::TempDir dir("fuzz_report_test");
  FuzzSummary summary = Summary();
  summary.groups.resize(1);
  const std::string page =
      WriteAndRead(summary, dir, {.chart_library = FakeChartLibrary(dir), .timeline_seconds = 0});
  EXPECT_THAT(page,
              HasSubstr("No IO timeline: its run did not finish within 0s of wall-clock time"));
  EXPECT_EQ(Count(page, "<svg class=\"timeline\""), 0u);
}

TEST(FuzzReport, AnUnwritablePathIsAnError) {
  posix::TempDir dir("fuzz_report_test");
  FuzzSummary summary = Summary();
  summary.groups.clear();
  EXPECT_FALSE(WriteFuzzReport(summary, dir.File("no/such/folder/report.html"),
                               {.chart_library = FakeChartLibrary(dir)})
                   .ok());
}

}  // namespace
}  // namespace powercut::tools
