#include "scenario/replay_file.h"

#include "engine/mutant/mutant.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::verifier {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMinimal[] = R"(powercut-replay 1
# a comment line
comment: flushed write lost
engine: linear
param: logical_sectors=1024
seed: 7
crash: step 40
expect: fail
clients: 2
op: c0 write 0+8
op: c1 write 16+3 fua
op: c0 flush
op: c1 read 0+8
op: c0 discard 8+8
end
)";

absl::Status ParseError(const std::string& text) { return ParseReplay(text).status(); }

TEST(ReplayFile, ParsesEveryField) {
  absl::StatusOr<Scenario> s = ParseReplay(kMinimal);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->engine, "linear");
  EXPECT_EQ(s->seed, 7u);
  EXPECT_EQ(s->crash_after_steps, 40u);
  EXPECT_EQ(s->expect, Verdict::kFail);
  EXPECT_EQ(s->comment, "flushed write lost");
  EXPECT_EQ(s->workload.clients, 2u);
  EXPECT_EQ(s->workload.device_sectors, 1024u);
  ASSERT_EQ(s->workload.ops.size(), 5u);
  EXPECT_EQ(s->workload.ops[1], (Op{OpKind::kWrite, 1, 16, 3, true}));
  EXPECT_EQ(s->workload.ops[2].kind, OpKind::kFlush);
}

TEST(ReplayFile, FormatThenParseIsTheSameScenario) {
  Scenario s = *ParseReplay(kMinimal);
  s.faults = faults::FaultPlan{};
  s.faults->lying_flush = true;
  s.faults->io_error_ppm = 500;
  s.faults->io_error_ordinals = {3, 9};
  s.faults->misdirected_writes = {2};
  s.faults->misdirect_offset = -8;
  s.ssd.volatile_cache = false;
  const std::string text = FormatReplay(s);
  absl::StatusOr<Scenario> again = ParseReplay(text);
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(FormatReplay(*again), text);
  EXPECT_EQ(again->workload, s.workload);
  EXPECT_TRUE(again->faults->lying_flush);
  EXPECT_EQ(again->faults->misdirect_offset, -8);
  EXPECT_FALSE(again->ssd.volatile_cache);
}

// `text` with the first `from` replaced by `to`.
std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  return text.replace(text.find(from), from.size(), to);
}

TEST(ReplayFile, ARaid1ScenarioWithAnExternalBitmapRoundTripsAndRunsOverTheFile) {
  const std::string internal =
      Replaced(Replaced(kMinimal, "engine: linear", "engine: raid1"), "expect: fail", "expect: pass");
  const std::string text =
      Replaced(internal, "param: logical_sectors=1024", "param: logical_sectors=1024\nparam: external_bitmap=1");
  absl::StatusOr<Scenario> s = ParseReplay(text);
  ASSERT_TRUE(s.ok()) << s.status();
  const std::string formatted = FormatReplay(*s);
  EXPECT_THAT(formatted, HasSubstr("param: external_bitmap=1\n"));
  absl::StatusOr<Scenario> again = ParseReplay(formatted);
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << formatted;
  EXPECT_EQ(FormatReplay(*again), formatted);
  EXPECT_EQ(again->params[1], (std::pair<std::string, uint64_t>("external_bitmap", 1)));
  // An internal bitmap is the default, written out explicitly.
  EXPECT_THAT(FormatReplay(*ParseReplay(internal)), HasSubstr("param: external_bitmap=0\n"));
  absl::StatusOr<CrashCheckResult> run = RunScenario(*again);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->passed) << run->failure.text;
  EXPECT_THAT(ParseError(Replaced(formatted, "external_bitmap=1", "external_bitmap=2")).message(),
              HasSubstr("external_bitmap = 2 is outside [0, 1]"));
}

TEST(ReplayFile, RejectsWrongVersionsWithTheLineNumber) {
  EXPECT_THAT(ParseError("# header missing\nengine: linear\n").message(),
              HasSubstr("line 2: not a powercut replay file"));
  EXPECT_THAT(ParseError("powercut-replay 3\n").message(),
              HasSubstr("line 1: unsupported format version 3 (this build reads versions 1 to 2)"));
  EXPECT_THAT(ParseError("powercut-replay 0\n").message(),
              HasSubstr("line 1: unsupported format version 0"));
  EXPECT_THAT(ParseError("").message(), HasSubstr("empty file"));
}

TEST(ReplayFile, LaterPowerCutsNeedVersionTwoAndRoundTrip) {
  std::string text = kMinimal;
  text.insert(text.find("end\n"), "cut: seeded\nop: c1 write 8+8\ncut: step 12\n");
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("'cut:' needs format version 2 ('powercut-replay 2')"));
  text.replace(0, text.find('\n'), "powercut-replay 2");
  absl::StatusOr<Scenario> s = ParseReplay(text);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->workload.ops.size(), 5u);
  ASSERT_EQ(s->later_cuts.size(), 2u);
  EXPECT_EQ(s->later_cuts[0], (LaterCut{std::nullopt, {Op{OpKind::kWrite, 1, 8, 8, false}}}));
  EXPECT_EQ(s->later_cuts[1], (LaterCut{12, {}}));
  const std::string formatted = FormatReplay(*s);
  EXPECT_THAT(formatted, HasSubstr("powercut-replay 2\n"));
  EXPECT_THAT(formatted, HasSubstr("op: c0 discard 8+8\ncut: seeded\nop: c1 write 8+8\ncut: step 12\nend\n"));
  EXPECT_EQ(FormatReplay(*ParseReplay(formatted)), formatted);
  // One cut is written as version 1, which older builds read.
  s->later_cuts.clear();
  EXPECT_THAT(FormatReplay(*s), HasSubstr("powercut-replay 1\n"));
  // A later cut's ops are validated like the first run's, numbered across the runs.
  text.insert(text.find("end\n"), "op: c5 write 0+8\n");
  EXPECT_THAT(ParseError(text).message(), HasSubstr("op 7 (c5 write 0+8) names a client beyond 1"));
}

TEST(ReplayFile, TheProgressCheckNeedsVersionTwoAndRoundTrips) {
  std::string text = kMinimal;
  text.insert(text.find("expect:"), "progress: check\n");
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("'progress:' needs format version 2 ('powercut-replay 2')"));
  text.replace(0, text.find('\n'), "powercut-replay 2");
  absl::StatusOr<Scenario> s = ParseReplay(text);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->check_progress);
  const std::string formatted = FormatReplay(*s);
  EXPECT_THAT(formatted, HasSubstr("powercut-replay 2\n"));
  EXPECT_THAT(formatted, HasSubstr("progress: check\n"));
  EXPECT_EQ(FormatReplay(*ParseReplay(formatted)), formatted);
  s->check_progress = false;
  EXPECT_THAT(FormatReplay(*s), HasSubstr("powercut-replay 1\n"));
  EXPECT_THAT(FormatReplay(*s), Not(HasSubstr("progress:")));
  std::string bad = text;
  bad.replace(bad.find("progress: check"), 15, "progress: yes");
  EXPECT_THAT(ParseError(bad).message(), HasSubstr("expected 'progress: check' or 'progress: off'"));
}

TEST(ReplayFile, ControlOperationsNeedVersionTwoAndAnEngineThatTakesThem) {
  constexpr char kCache[] = R"(powercut-replay 2
engine: writecache
param: logical_sectors=1024
seed: 3
crash: seeded
expect: pass
clients: 2
op: c0 write 0+8
op: c1 control flush_on_suspend
op: c1 control suspend
cut: seeded
op: c0 control   flush
end
)";
  absl::StatusOr<Scenario> s = ParseReplay(kCache);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->workload.ops[2], (Op{.kind = OpKind::kControl, .client = 1, .control = "suspend"}));
  EXPECT_EQ(s->later_cuts[0].ops[0].control, "flush");
  EXPECT_THAT(FormatReplay(*s), HasSubstr("op: c1 control suspend\ncut: seeded\nop: c0 control flush\n"));
  absl::StatusOr<CrashCheckResult> run = RunScenario(*s);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->passed) << run->failure.text;

  std::string text = kCache;
  text.replace(0, text.find('\n'), "powercut-replay 1");
  text.erase(text.find("cut: seeded\n"), 12);
  EXPECT_THAT(ParseError(text).message(), HasSubstr("control operations need format version 2"));
  text = kCache;
  text.replace(text.find("control suspend"), 15, "control reboot");
  EXPECT_THAT(ParseError(text).message(),
              HasSubstr("op 3 (c1 control reboot): the write-back cache takes the control "
                        "operations flush, flush_on_suspend, cleaner, clear_stats, suspend"));
  text = kCache;
  text.replace(text.find("control suspend"), 15, "control");
  EXPECT_THAT(ParseError(text).message(), HasSubstr("'cN control COMMAND'"));
  text = kCache;
  text.replace(text.find("control suspend"), 15, "control " + std::string(65, 'x'));
  EXPECT_THAT(ParseError(text).message(), HasSubstr("control command longer than 64"));
  // A linear target takes none; a mirror set names its members.
  std::string linear = kMinimal;
  linear.replace(0, linear.find('\n'), "powercut-replay 2");
  linear.insert(linear.find("end\n"), "op: c0 control flush\n");
  EXPECT_THAT(ParseError(linear).message(), HasSubstr("engine linear takes no control operations"));
  std::string mirrors = linear;
  mirrors.replace(mirrors.find("engine: linear"), 14, "engine: raid1");
  mirrors.replace(mirrors.find("control flush"), 13, "control fail 2");
  EXPECT_THAT(ParseError(mirrors).message(),
              HasSubstr("'fail K' (K from 0 to 1), 'readd' and 'restart', not 'fail 2'"));
}

TEST(ReplayFile, RejectsACutBeforeTheFirstCrashAndTooManyCuts) {
  std::string text = kMinimal;
  text.replace(0, text.find('\n'), "powercut-replay 2");
  std::string early = text;
  early.insert(early.find("crash:"), "cut: seeded\n");
  EXPECT_THAT(ParseError(early).message(), HasSubstr("'cut:' before the 'crash:' line"));
  std::string bad = text;
  bad.insert(bad.find("end\n"), "cut: later\n");
  EXPECT_THAT(ParseError(bad).message(), HasSubstr("expected 'cut: step N' or 'cut: seeded'"));
  std::string many = text;
  for (int i = 0; i <= 16; ++i) many.insert(many.find("end\n"), "cut: seeded\n");
  EXPECT_THAT(ParseError(many).message(), HasSubstr("more than 16 later cuts"));
}

TEST(ReplayFile, RejectsTruncatedFiles) {
  std::string text = kMinimal;
  text.resize(text.find("end\n"));
  EXPECT_THAT(ParseError(text).message(), HasSubstr("missing final 'end'"));
  text.resize(text.find("clients:"));
  EXPECT_THAT(ParseError(text).message(), HasSubstr("missing"));
}

TEST(ReplayFile, RejectsMissingRequiredFields) {
  std::string text = kMinimal;
  text.erase(text.find("seed: 7\n"), 8);
  EXPECT_THAT(ParseError(text).message(), HasSubstr("missing 'seed:'"));
}

TEST(ReplayFile, RejectsGarbageHugeNumbersAndUnknownKeys) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string text = kMinimal;
    text.replace(text.find(from), from.size(), to);
    return ParseError(text);
  };
  EXPECT_THAT(with("seed: 7", "seed: 99999999999999999999999").message(), HasSubstr("bad seed"));
  EXPECT_THAT(with("seed: 7", "seed: -1").message(), HasSubstr("bad seed"));
  EXPECT_THAT(with("clients: 2", "clients: 0").message(), HasSubstr("clients must be"));
  EXPECT_THAT(with("op: c0 flush", "op: c0 fsync").message(), HasSubstr("unknown operation 'fsync'"));
  EXPECT_THAT(with("op: c0 write 0+8", "op: c0 write 0+").message(), HasSubstr("bad sector range"));
  EXPECT_THAT(with("op: c0 write 0+8", "op: c0 write 2000+8").message(),
              HasSubstr("outside the 1024-sector device"));
  EXPECT_THAT(with("op: c0 write 0+8", "op: c5 write 0+8").message(), HasSubstr("client"));
  EXPECT_THAT(with("engine: linear", "engine: raid9").message(), HasSubstr("unknown engine"));
  EXPECT_THAT(with("seed: 7", "colour: blue").message(), HasSubstr("unknown key 'colour'"));
  EXPECT_THAT(with("seed: 7", "seed: 7\nseed: 8").message(), HasSubstr("'seed' given twice"));
  EXPECT_THAT(with("seed: 7", "what is this").message(), HasSubstr("expected 'key: value'"));
  EXPECT_THAT(with("end\n", "end\nop: c0 flush\n").message(), HasSubstr("after 'end'"));
  EXPECT_THAT(with("param: logical_sectors=1024", "param: logical_sectors=0").message(),
              HasSubstr("outside"));
  EXPECT_THAT(with("seed: 7", std::string(5000, 'x')).message(), HasSubstr("too long"));
}

TEST(ReplayFile, AcceptsAByteOrderMarkAndLeadingZerosAndEscapesControlBytesInMessages) {
  absl::StatusOr<Scenario> bom = ParseReplay("\xEF\xBB\xBF" + std::string(kMinimal));
  ASSERT_TRUE(bom.ok()) << bom.status();
  std::string zeros = kMinimal;
  zeros.replace(zeros.find("seed: 7"), 7, "seed: 0000000000000000000000007");
  absl::StatusOr<Scenario> padded = ParseReplay(zeros);
  ASSERT_TRUE(padded.ok()) << padded.status();
  EXPECT_EQ(padded->seed, 7u);
  std::string control = kMinimal;
  control.replace(control.find("op: c0 flush"), 12, "op: c0 \x1b[31mflush");
  const std::string message(ParseError(control).message());
  EXPECT_THAT(message, HasSubstr("unknown operation '\\x1b[31mflush'"));
  EXPECT_EQ(message.find('\x1b'), std::string::npos);
}

TEST(ReplayFile, AMutantScenarioParsesEvenWhereMutantsAreUnavailable) {
  std::string text = kMinimal;
  text.replace(text.find("seed: 7"), 7, "mutant: linear_flush_dropped\nseed: 7");
  EXPECT_TRUE(ParseReplay(text).ok());
  text.replace(text.find("linear_flush_dropped"), 20, "no_such_mutant");
  EXPECT_THAT(ParseError(text).message(), HasSubstr("unknown mutant"));
}

TEST(Scenario, RunningAReplayReproducesTheVerdictAndTraceHash) {
  Scenario s = *ParseReplay(kMinimal);
  s.expect = Verdict::kPass;
  absl::StatusOr<CrashCheckResult> a = RunScenario(s);
  absl::StatusOr<CrashCheckResult> b = RunScenario(s);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->passed) << a->failure.text;
  EXPECT_EQ(a->trace_hash, b->trace_hash);
}

TEST(Scenario, AMutantScenarioFailsAndRestoresTheMutantAfterwards) {
  std::string text = kMinimal;
  text.replace(text.find("crash: step 40"), 14, "crash: step 1000000");
  text.replace(text.find("seed: 7"), 7, "mutant: linear_flush_dropped\nseed: 7");
  Scenario s = *ParseReplay(text);
  absl::StatusOr<CrashCheckResult> result = RunScenario(s);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->passed);
  EXPECT_EQ(mutant::Active(), mutant::Id::kNone);
}

}  // namespace
}  // namespace powercut::verifier
