// libFuzzer target: guided search over scenarios. libFuzzer's input is the entropy a
// scenario family draws from (sim/entropy_tape.h): its first 8 bytes are the scenario's
// seed (the simulated world's randomness: SSD reordering, crash states), the rest decide
// the family's choices (engine parameters, faults, device size, every op of the
// workload) one after the other, and the seeded sequence fills in once they are spent.
// Inputs whose scenarios reach new engine code are kept and mutated, so a search can
// settle on the corners a campaign's independent seeds visit once in a million.
//
// Environment (read once):
//   POWERCUT_SEARCH_FAMILY      the family to draw from; unset: the input's first byte
//                               picks one of the built-in families (the CI smoke run)
//   POWERCUT_SEARCH_MUTANT      a mutant to activate (this target links the test-only
//                               engines), so a search can be measured by how soon it
//                               kills a known bug
//   POWERCUT_SEARCH_PLAIN=1     ignore the input and check seeds FIRST_SEED, FIRST_SEED+1,
//                               ... one per input, as `powercut run` would: the baseline
//                               a guided search is measured against, in the same binary
//   POWERCUT_SEARCH_FIRST_SEED  the plain mode's first seed (default 1)
//   POWERCUT_SEARCH_OUT         a folder for the failing scenario's replay file
//   POWERCUT_SEARCH_EVENTS=0    guide by code coverage alone (see below)
//
// Code coverage says which engine code ran, not in what order: the bugs a crash
// check finds are mostly orderings (a flush while every entry is under writeback, a
// member failing between a write and its bitmap update). So by default the search is
// also guided by the order of events: every pair of consecutive events of the run
// before the power cut (actor kind and operation, e.g. "cache write.done" then
// "wc-flush run") and every code probe that fired (engine/probe) is a feature in
// libFuzzer's extra counters, and an input that shows a new pair, or a pair more
// often than before, is kept.
//
// Inputs with bytes the draw never read are refused (-1: libFuzzer does not keep them),
// and a scenario already run is not run again: `inputs` counts the scenarios checked.
// A failing crash check (a property broken, or a run error) prints the inputs and
// seconds it took, the failure and the scenario, writes the replay file, and aborts:
// libFuzzer keeps the input, and `powercut_with_mutants replay FILE` reproduces it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scenario/replay_file.h"
#include "scenario/scenario.h"
#include "engine/probe/probe.h"
#include "scenario/seeded_scenarios.h"
#include "sim/entropy_tape.h"
#include "sim/prng.h"
#include "sim/trace.h"

namespace {

namespace verifier = powercut::verifier;
namespace sim = powercut::sim;

struct Settings {
  const verifier::ScenarioFamily* family = nullptr;  // nullptr: the input picks one
  std::string mutant;
  bool plain = false;
  uint64_t first_seed = 1;
  std::string out;
  bool events = true;
};

// libFuzzer's extra counters: set during an input, read by libFuzzer after it.
constexpr size_t kEventCounters = size_t{1} << 16;
__attribute__((section("__libfuzzer_extra_counters"))) uint8_t event_counters[kEventCounters];

void Count(uint64_t feature) {
  uint8_t& counter = event_counters[feature % kEventCounters];
  if (counter != 255) ++counter;
}

// An event's kind: its actor without digits (ssd0 and ssd1 are one kind) and its op.
uint64_t EventKind(const sim::TraceEvent& event) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : event.actor) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) continue;
    hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  }
  return sim::Mix64(hash ^ sim::HashLabel(event.op));
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

[[noreturn]] void Refuse(const std::string& why) {
  std::cerr << "scenario_search_fuzzer: " << why << "\n";
  std::exit(2);
}

Settings ReadSettings() {
  Settings settings;
  if (const std::string name = Env("POWERCUT_SEARCH_FAMILY"); !name.empty()) {
    settings.family = verifier::FindScenarioFamily(name);
    if (settings.family == nullptr) Refuse(absl::StrCat("no scenario family called '", name, "'"));
  }
  settings.mutant = Env("POWERCUT_SEARCH_MUTANT");
  settings.plain = Env("POWERCUT_SEARCH_PLAIN") == "1";
  if (const std::string first = Env("POWERCUT_SEARCH_FIRST_SEED"); !first.empty() &&
                                                                 !absl::SimpleAtoi(first, &settings.first_seed)) {
    Refuse(absl::StrCat("POWERCUT_SEARCH_FIRST_SEED is not a number: ", first));
  }
  settings.out = Env("POWERCUT_SEARCH_OUT");
  settings.events = Env("POWERCUT_SEARCH_EVENTS") != "0";
  if (settings.plain && settings.family == nullptr) Refuse("POWERCUT_SEARCH_PLAIN needs POWERCUT_SEARCH_FAMILY");
  return settings;
}

const Settings& TheSettings() {
  static const Settings settings = ReadSettings();
  return settings;
}

// The scenario an input stands for, and whether the draw read every byte of it.
struct Drawn {
  verifier::Scenario scenario;
  bool read_all = true;
};

Drawn ScenarioOf(std::span<const uint8_t> input, uint64_t inputs_run) {
  const Settings& settings = TheSettings();
  if (settings.plain) return {settings.family->draw(settings.first_seed + inputs_run)};
  sim::EntropyTape tape(input);
  const uint64_t seed = tape.Take(0).value_or(input.size());
  const verifier::ScenarioFamily* family = settings.family;
  if (family == nullptr) {
    const auto& builtin = verifier::ScenarioFamilies();
    family = &builtin[tape.Take(builtin.size()).value_or(0)];
  }
  // The tape outlives the generators: the draw is complete when DrawScenario returns.
  verifier::Scenario scenario = verifier::DrawScenario(*family, sim::Prng(seed, &tape));
  return {std::move(scenario), tape.consumed() == input.size()};
}

[[noreturn]] void Killed(const verifier::Scenario& scenario, const std::string& failure, uint64_t inputs,
                         double seconds) {
  const std::string text = verifier::FormatReplay(scenario);
  std::cerr << "search: failed after " << inputs << " inputs in " << seconds << " s\n" << failure << "\n" << text;
  if (const std::string& out = TheSettings().out; !out.empty()) {
    const std::string path = absl::StrCat(out, "/search-", scenario.engine, "-", scenario.seed, ".replay");
    std::ofstream file(path);
    file << text;
    std::cerr << (file.good() ? "search: replay file " : "search: could not write ") << path << "\n";
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto start = std::chrono::steady_clock::now();
  static uint64_t inputs_run = 0;
  // Scenarios run so far (the hashes of their replay text): a mutation that changes no
  // choice is not run twice.
  static absl::flat_hash_set<uint64_t> seen;
  Drawn drawn = ScenarioOf(std::span<const uint8_t>(data, size), inputs_run);
  // Bytes the draw never read change nothing: keep inputs as long as their scenario.
  if (!drawn.read_all) return -1;
  verifier::Scenario& scenario = drawn.scenario;
  scenario.mutant = TheSettings().mutant;
  if (!TheSettings().plain && !seen.insert(sim::HashLabel(verifier::FormatReplay(scenario))).second) return 0;
  ++inputs_run;
  verifier::ScenarioRunOptions options;
  uint64_t previous = 0;
  if (TheSettings().events) {
    options.observer = [&previous](const sim::TraceEvent& event) {
      const uint64_t kind = EventKind(event);
      Count(sim::Mix64(previous * 31 + kind));
      previous = kind;
    };
  }
  const powercut::probe::ProbeCounts before = powercut::probe::Counts();
  const absl::StatusOr<verifier::CrashCheckResult> result = verifier::RunScenario(scenario, options);
  if (TheSettings().events) {
    const powercut::probe::ProbeCounts after = powercut::probe::Counts();
    for (size_t i = 0; i < after.size(); ++i) {
      if (after[i] != before[i]) Count(sim::Mix64(0x70726f6265ull + i));
    }
  }
  if (result.ok() && result->passed) return 0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Killed(scenario, result.ok() ? result->failure.text : std::string(result.status().message()), inputs_run,
         seconds);
}
