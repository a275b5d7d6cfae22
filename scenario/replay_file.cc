#include "scenario/replay_file.h"

#include <set>
#include <span>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace powercut::verifier {
namespace {

constexpr size_t kMaxLineLength = 4096;
constexpr size_t kMaxOps = 1'000'000;
constexpr size_t kMaxControlLength = 64;

// `why` quotes the file's own text: control bytes in it are printed escaped (\xNN), so
// a message never moves a terminal's cursor or colours it.
absl::Status LineError(size_t line, const std::string& why) {
  std::string shown;
  for (char c : why) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppend(&shown, absl::StrFormat("\\x%02x", byte));
    } else {
      shown.push_back(c);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", shown));
}

// Parses a decimal number; rejects signs, garbage and overflow.
bool ParseNumber(absl::string_view text, uint64_t* out) {
  while (text.size() > 1 && text[0] == '0') text.remove_prefix(1);  // leading zeros
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(text, out);
}

bool ParseSigned(absl::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  return absl::SimpleAtoi(text, out);
}

bool ParseRange(absl::string_view text, sim::LatencyRange* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  uint64_t lo, hi;
  if (parts.size() != 2 || !ParseNumber(parts[0], &lo) || !ParseNumber(parts[1], &hi) ||
      lo > hi || hi > (uint64_t{1} << 50)) {
    return false;
  }
  out->min = runtime::Nanos(static_cast<int64_t>(lo));
  out->max = runtime::Nanos(static_cast<int64_t>(hi));
  return true;
}

bool ParseNumberList(absl::string_view text, absl::btree_set<uint64_t>* out) {
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    uint64_t n;
    if (!ParseNumber(item, &n)) return false;
    out->insert(n);
  }
  return true;
}

std::string JoinNumbers(const absl::btree_set<uint64_t>& numbers) {
  return absl::StrJoin(numbers, ",");
}

std::string Range(const sim::LatencyRange& range) {
  return absl::StrCat(range.min.count(), "-", range.max.count());
}

absl::Status ParseSsd(size_t line, absl::string_view value, sim::SimSsdOptions* ssd) {
  for (absl::string_view token : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(token, absl::MaxSplits('=', 1));
    bool ok = true;
    if (kv.first == "volatile_cache") {
      ok = kv.second == "on" || kv.second == "off";
      ssd->volatile_cache = kv.second == "on";
    } else if (kv.first == "read_latency") {
      ok = ParseRange(kv.second, &ssd->read_latency);
    } else if (kv.first == "write_latency") {
      ok = ParseRange(kv.second, &ssd->write_latency);
    } else if (kv.first == "flush_latency") {
      ok = ParseRange(kv.second, &ssd->flush_latency);
    } else {
      return LineError(line, absl::StrCat("unknown ssd setting '", kv.first, "'"));
    }
    if (!ok) return LineError(line, absl::StrCat("bad value in '", token, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseFaults(size_t line, absl::string_view value, faults::FaultPlan* plan) {
  for (absl::string_view token : absl::StrSplit(value, ' ', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(token, absl::MaxSplits('=', 1));
    bool ok = true;
    uint64_t n = 0;
    if (token == "lying_flush") {
      plan->lying_flush = true;
    } else if (token == "fua_dropped") {
      plan->fua_dropped = true;
    } else if (kv.first == "io_error_ppm") {
      ok = ParseNumber(kv.second, &n) && n <= faults::kPpm;
      plan->io_error_ppm = static_cast<uint32_t>(n);
    } else if (kv.first == "io_error_ops") {
      plan->io_error_ops = 0;
      for (absl::string_view op : absl::StrSplit(kv.second, ',')) {
        if (op == "read") plan->io_error_ops |= faults::kFaultRead;
        else if (op == "write") plan->io_error_ops |= faults::kFaultWrite;
        else if (op == "flush") plan->io_error_ops |= faults::kFaultFlush;
        else if (op == "discard") plan->io_error_ops |= faults::kFaultDiscard;
        else ok = false;
      }
    } else if (kv.first == "io_errors") {
      ok = ParseNumberList(kv.second, &plan->io_error_ordinals);
    } else if (kv.first == "latent") {
      ok = ParseNumberList(kv.second, &plan->latent_sectors);
    } else if (kv.first == "misdirect") {
      ok = ParseNumberList(kv.second, &plan->misdirected_writes);
    } else if (kv.first == "misdirect_offset") {
      ok = ParseSigned(kv.second, &plan->misdirect_offset);
    } else if (kv.first == "fault_latency") {
      ok = ParseNumber(kv.second, &n) && n <= (uint64_t{1} << 50);
      plan->fault_latency = runtime::Nanos(static_cast<int64_t>(n));
    } else {
      return LineError(line, absl::StrCat("unknown fault '", kv.first, "'"));
    }
    if (!ok) return LineError(line, absl::StrCat("bad value in '", token, "'"));
  }
  return absl::OkStatus();
}

// "step N" or "seeded" (empty) after `key`.
absl::StatusOr<std::optional<uint64_t>> ParseCrashSteps(size_t line, absl::string_view value,
                                                        absl::string_view key) {
  if (value == "seeded") return std::nullopt;
  uint64_t n = 0;
  if (absl::ConsumePrefix(&value, "step ") && ParseNumber(absl::StripAsciiWhitespace(value), &n)) {
    return std::optional<uint64_t>(n);
  }
  return LineError(line, absl::StrCat("expected '", key, ": step N' or '", key, ": seeded'"));
}

std::string Steps(const std::optional<uint64_t>& steps) {
  return steps ? absl::StrCat("step ", *steps) : "seeded";
}

absl::StatusOr<Op> ParseOp(size_t line, absl::string_view value) {
  std::vector<absl::string_view> words = absl::StrSplit(value, ' ', absl::SkipEmpty());
  const std::string usage =
      "expected 'cN write S+N [fua]', 'cN read S+N', 'cN discard S+N', 'cN flush' or "
      "'cN control COMMAND'";
  if (words.size() < 2 || words[0].size() < 2 || words[0][0] != 'c') return LineError(line, usage);
  Op op;
  uint64_t client;
  if (!ParseNumber(words[0].substr(1), &client) || client > 1024) {
    return LineError(line, absl::StrCat("bad client '", words[0], "'"));
  }
  op.client = static_cast<uint32_t>(client);
  if (words[1] == "flush") {
    if (words.size() != 2) return LineError(line, usage);
    op.kind = OpKind::kFlush;
    return op;
  }
  if (words[1] == "control") {
    // The engine checks the command itself (Validate).
    if (words.size() < 3) return LineError(line, usage);
    op.kind = OpKind::kControl;
    op.control = absl::StrJoin(std::span(words).subspan(2), " ");
    if (op.control.size() > kMaxControlLength) {
      return LineError(line, absl::StrCat("control command longer than ", kMaxControlLength,
                                          " characters"));
    }
    return op;
  }
  if (words[1] == "write") op.kind = OpKind::kWrite;
  else if (words[1] == "read") op.kind = OpKind::kRead;
  else if (words[1] == "discard") op.kind = OpKind::kDiscard;
  else return LineError(line, absl::StrCat("unknown operation '", words[1], "'"));
  const size_t expected_words = op.kind == OpKind::kWrite && words.size() == 4 ? 4 : 3;
  if (words.size() != expected_words) return LineError(line, usage);
  if (expected_words == 4) {
    if (words[3] != "fua") return LineError(line, absl::StrCat("unknown flag '", words[3], "'"));
    op.fua = true;
  }
  std::vector<absl::string_view> range = absl::StrSplit(words[2], '+');
  uint64_t sector, sectors;
  if (range.size() != 2 || !ParseNumber(range[0], &sector) || !ParseNumber(range[1], &sectors) ||
      sectors == 0 || sectors > (uint64_t{1} << 20)) {
    return LineError(line, absl::StrCat("bad sector range '", words[2], "' (want START+COUNT)"));
  }
  op.sector = sector;
  op.sectors = static_cast<uint32_t>(sectors);
  return op;
}

}  // namespace

absl::StatusOr<Scenario> ParseReplay(std::string_view input) {
  absl::string_view text(input.data(), input.size());
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");  // a UTF-8 byte-order mark
  Scenario scenario;
  scenario.params.clear();
  std::set<std::string> seen;  // single-valued keys present
  std::vector<std::string> comments;
  bool header = false, ended = false, have_crash = false;
  uint64_t format_version = 0;
  size_t ops = 0;  // of all runs
  size_t line_number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (raw.size() > kMaxLineLength) return LineError(line_number, "line too long");
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    if (ended) return LineError(line_number, "text after 'end'");
    if (!header) {
      if (!absl::ConsumePrefix(&line, "powercut-replay ")) {
        return LineError(line_number, "not a powercut replay file (want 'powercut-replay 1')");
      }
      uint64_t version;
      if (!ParseNumber(absl::StripAsciiWhitespace(line), &version)) {
        return LineError(line_number, "bad format version");
      }
      if (version == 0 || version > kReplayFormatVersion) {
        return LineError(line_number, absl::StrCat("unsupported format version ", version,
                                                   " (this build reads versions 1 to ",
                                                   kReplayFormatVersion, ")"));
      }
      format_version = version;
      header = true;
      continue;
    }
    if (line == "end") {
      ended = true;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return LineError(line_number, absl::StrCat("expected 'key: value', got '", line, "'"));
    }
    const std::string key(absl::StripAsciiWhitespace(line.substr(0, colon)));
    const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    const bool repeatable = key == "comment" || key == "param" || key == "op" || key == "cut";
    if (!repeatable && !seen.insert(key).second) {
      return LineError(line_number, absl::StrCat("'", key, "' given twice"));
    }
    uint64_t n = 0;
    if (key == "comment") {
      comments.emplace_back(value);
    } else if (key == "engine") {
      scenario.engine = std::string(value);
    } else if (key == "param") {
      std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(value, absl::MaxSplits('=', 1));
      if (kv.first.empty() || !ParseNumber(kv.second, &n)) {
        return LineError(line_number, "expected 'param: NAME=NUMBER'");
      }
      for (const auto& [existing, unused] : scenario.params) {
        if (existing == kv.first) return LineError(line_number, absl::StrCat("parameter '", kv.first, "' given twice"));
      }
      scenario.params.emplace_back(std::string(kv.first), n);
    } else if (key == "ssd") {
      if (absl::Status s = ParseSsd(line_number, value, &scenario.ssd); !s.ok()) return s;
    } else if (key == "faults") {
      faults::FaultPlan plan;
      if (absl::Status s = ParseFaults(line_number, value, &plan); !s.ok()) return s;
      scenario.faults = plan;
    } else if (key == "mutant") {
      scenario.mutant = std::string(value);
    } else if (key == "seed") {
      if (!ParseNumber(value, &n)) return LineError(line_number, "bad seed");
      scenario.seed = n;
    } else if (key == "crash") {
      if (!scenario.workload.ops.empty()) return LineError(line_number, "'crash:' after 'op:' lines");
      have_crash = true;
      absl::StatusOr<std::optional<uint64_t>> steps = ParseCrashSteps(line_number, value, "crash");
      if (!steps.ok()) return steps.status();
      scenario.crash_after_steps = *steps;
    } else if (key == "images") {
      if (!ParseNumber(value, &n) || n == 0 || n > 100000) {
        return LineError(line_number, "images must be a number from 1 to 100000");
      }
      scenario.images = static_cast<uint32_t>(n);
    } else if (key == "progress") {
      if (format_version < 2) {
        return LineError(line_number, "'progress:' needs format version 2 ('powercut-replay 2')");
      }
      if (value == "check") scenario.check_progress = true;
      else if (value != "off") return LineError(line_number, "expected 'progress: check' or 'progress: off'");
    } else if (key == "expect") {
      if (value == "pass") scenario.expect = Verdict::kPass;
      else if (value == "fail") scenario.expect = Verdict::kFail;
      else return LineError(line_number, "expected 'expect: pass' or 'expect: fail'");
    } else if (key == "clients") {
      if (!ParseNumber(value, &n) || n == 0 || n > 1024) {
        return LineError(line_number, "clients must be a number from 1 to 1024");
      }
      scenario.workload.clients = static_cast<uint32_t>(n);
    } else if (key == "op") {
      if (++ops >= kMaxOps) return LineError(line_number, "too many ops");
      absl::StatusOr<Op> op = ParseOp(line_number, value);
      if (!op.ok()) return op.status();
      if (op->kind == OpKind::kControl && format_version < 2) {
        return LineError(line_number,
                         "control operations need format version 2 ('powercut-replay 2')");
      }
      (scenario.later_cuts.empty() ? scenario.workload.ops : scenario.later_cuts.back().ops)
          .push_back(*op);
    } else if (key == "cut") {
      if (format_version < 2) {
        return LineError(line_number, "'cut:' needs format version 2 ('powercut-replay 2')");
      }
      if (!have_crash) return LineError(line_number, "'cut:' before the 'crash:' line");
      if (scenario.later_cuts.size() >= kMaxLaterCuts) {
        return LineError(line_number, absl::StrCat("more than ", kMaxLaterCuts, " later cuts"));
      }
      absl::StatusOr<std::optional<uint64_t>> steps = ParseCrashSteps(line_number, value, "cut");
      if (!steps.ok()) return steps.status();
      scenario.later_cuts.push_back(LaterCut{.after_steps = *steps});
    } else {
      return LineError(line_number, absl::StrCat("unknown key '", key, "'"));
    }
  }
  if (!header) return absl::InvalidArgumentError("empty file: no 'powercut-replay 1' header");
  for (const char* required : {"engine", "seed", "expect", "clients"}) {
    if (seen.count(required) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("missing '", required, ":' line"));
    }
  }
  if (!have_crash) return absl::InvalidArgumentError("missing 'crash:' line");
  if (!ended) return absl::InvalidArgumentError("missing final 'end' line (truncated file?)");
  scenario.comment = absl::StrJoin(comments, "\n");
  if (absl::StatusOr<uint64_t> sectors = LogicalSectors(scenario); sectors.ok()) {
    scenario.workload.device_sectors = *sectors;
  }
  if (absl::Status valid = Validate(scenario); !valid.ok() &&
                                               valid.code() != absl::StatusCode::kFailedPrecondition) {
    return absl::InvalidArgumentError(absl::StrCat("invalid scenario: ", valid.message()));
  }
  return scenario;
}

std::string FormatReplay(const Scenario& scenario) {
  // The oldest version that holds the scenario, so that older builds read it.
  bool controls = false;
  for (size_t run = 0; run <= scenario.later_cuts.size(); ++run) {
    for (const Op& op : OpsOfRun(scenario, run)) {
      controls |= op.kind == OpKind::kControl;
    }
  }
  const int version =
      scenario.later_cuts.empty() && !controls && !scenario.check_progress ? 1 : kReplayFormatVersion;
  std::string out = absl::StrCat("powercut-replay ", version, "\n");
  if (!scenario.comment.empty()) {
    for (absl::string_view line : absl::StrSplit(scenario.comment, '\n')) {
      absl::StrAppend(&out, "comment: ", line, "\n");
    }
  }
  absl::StrAppend(&out, "engine: ", scenario.engine, "\n");
  ParamList params = scenario.params;
  if (const EngineEntry* engine = FindEngine(scenario.engine)) {
    for (const EngineParam& p : engine->params) {  // write defaults explicitly
      bool given = false;
      for (const auto& [key, value] : params) given = given || key == p.name;
      if (!given) params.emplace_back(p.name, p.default_value);
    }
  }
  for (const auto& [key, value] : params) absl::StrAppend(&out, "param: ", key, "=", value, "\n");
  absl::StrAppend(&out, "ssd: volatile_cache=", scenario.ssd.volatile_cache ? "on" : "off",
                  " read_latency=", Range(scenario.ssd.read_latency),
                  " write_latency=", Range(scenario.ssd.write_latency),
                  " flush_latency=", Range(scenario.ssd.flush_latency), "\n");
  if (scenario.faults) {
    const faults::FaultPlan& plan = *scenario.faults;
    std::vector<std::string> tokens;
    if (plan.lying_flush) tokens.push_back("lying_flush");
    if (plan.fua_dropped) tokens.push_back("fua_dropped");
    if (plan.io_error_ppm != 0) tokens.push_back(absl::StrCat("io_error_ppm=", plan.io_error_ppm));
    std::vector<std::string> ops;
    if (plan.io_error_ops & faults::kFaultRead) ops.push_back("read");
    if (plan.io_error_ops & faults::kFaultWrite) ops.push_back("write");
    if (plan.io_error_ops & faults::kFaultFlush) ops.push_back("flush");
    if (plan.io_error_ops & faults::kFaultDiscard) ops.push_back("discard");
    if (!ops.empty()) tokens.push_back(absl::StrCat("io_error_ops=", absl::StrJoin(ops, ",")));
    if (!plan.io_error_ordinals.empty()) tokens.push_back(absl::StrCat("io_errors=", JoinNumbers(plan.io_error_ordinals)));
    if (!plan.latent_sectors.empty()) tokens.push_back(absl::StrCat("latent=", JoinNumbers(plan.latent_sectors)));
    if (!plan.misdirected_writes.empty()) tokens.push_back(absl::StrCat("misdirect=", JoinNumbers(plan.misdirected_writes)));
    if (plan.misdirect_offset != 0) tokens.push_back(absl::StrCat("misdirect_offset=", plan.misdirect_offset));
    tokens.push_back(absl::StrCat("fault_latency=", plan.fault_latency.count()));
    absl::StrAppend(&out, "faults: ", absl::StrJoin(tokens, " "), "\n");
  }
  if (!scenario.mutant.empty()) absl::StrAppend(&out, "mutant: ", scenario.mutant, "\n");
  absl::StrAppend(&out, "seed: ", scenario.seed, "\n");
  absl::StrAppend(&out, "crash: ", Steps(scenario.crash_after_steps), "\n");
  absl::StrAppend(&out, "images: ", scenario.images, "\n");
  if (scenario.check_progress) absl::StrAppend(&out, "progress: check\n");
  absl::StrAppend(&out, "expect: ", scenario.expect == Verdict::kPass ? "pass" : "fail", "\n");
  absl::StrAppend(&out, "clients: ", scenario.workload.clients, "\n");
  for (const Op& op : scenario.workload.ops) absl::StrAppend(&out, "op: ", ToString(op), "\n");
  for (const LaterCut& cut : scenario.later_cuts) {
    absl::StrAppend(&out, "cut: ", Steps(cut.after_steps), "\n");
    for (const Op& op : cut.ops) absl::StrAppend(&out, "op: ", ToString(op), "\n");
  }
  absl::StrAppend(&out, "end\n");
  return out;
}

}  // namespace powercut::verifier
