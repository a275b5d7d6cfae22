#include "tools/powercut/shrink.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace powercut::tools {
namespace {

using verifier::Op;
using verifier::OpKind;
using verifier::Scenario;

class Shrinker {
 public:
  Shrinker(uint64_t max_runs, const std::function<void(const std::string&)>& progress)
      : max_runs_(max_runs), progress_(progress) {}

  // Runs `candidate`; adopts it if it fails in the same category.
  bool Try(const Scenario& candidate) {
    if (runs_ >= max_runs_) return false;
    if (!verifier::Validate(candidate).ok()) return false;
    ++runs_;
    absl::StatusOr<verifier::CrashCheckResult> result = verifier::RunScenario(candidate);
    if (!result.ok() || result->passed) return false;
    if (result->failure.Group() != best_.category) return false;
    best_.scenario = candidate;
    best_.failure = result->failure.text;
    if (progress_) {
      progress_(absl::StrCat("run ", runs_, ": ", verifier::OpCount(candidate), " ops, ",
                             candidate.workload.clients, " clients, crash step ",
                             candidate.crash_after_steps.value_or(0)));
    }
    return true;
  }

  bool exhausted() const { return runs_ >= max_runs_; }
  ShrinkResult& best() { return best_; }
  uint64_t runs() const { return runs_; }

 private:
  uint64_t max_runs_;
  const std::function<void(const std::string&)>& progress_;
  uint64_t runs_ = 0;
  ShrinkResult best_;
};

// ddmin over one run's operation list: try removing chunks, from halves down to single
// ops.
bool RemoveOps(Shrinker& s, size_t run) {
  bool progressed = false;
  size_t chunks = 2;
  const auto ops = [&s, run] { return verifier::OpsOfRun(s.best().scenario, run).size(); };
  while (!s.exhausted()) {
    if (run > s.best().scenario.later_cuts.size() || ops() == 0) break;
    chunks = std::min(chunks, ops());
    const size_t size = (ops() + chunks - 1) / chunks;
    bool removed = false;
    for (size_t start = 0; start < ops() && !s.exhausted(); start += size) {
      Scenario candidate = s.best().scenario;
      auto& list = verifier::OpsOfRun(candidate, run);
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(start),
                 list.begin() + static_cast<std::ptrdiff_t>(std::min(start + size, list.size())));
      if (s.Try(candidate)) {
        removed = progressed = true;
        break;
      }
    }
    if (removed) {
      chunks = std::max<size_t>(chunks - 1, 2);
      continue;
    }
    if (chunks >= ops()) break;
    chunks *= 2;
  }
  return progressed;
}

// Drops later cuts, the last first.
bool FewerCuts(Shrinker& s) {
  bool progressed = false;
  while (!s.best().scenario.later_cuts.empty() && !s.exhausted()) {
    Scenario candidate = s.best().scenario;
    candidate.later_cuts.pop_back();
    if (!s.Try(candidate)) break;
    progressed = true;
  }
  return progressed;
}

bool MergeClients(Shrinker& s) {
  bool progressed = false;
  for (uint32_t clients = 1; clients < s.best().scenario.workload.clients && !s.exhausted();
       ++clients) {
    Scenario candidate = s.best().scenario;
    candidate.workload.clients = clients;
    for (size_t run = 0; run <= candidate.later_cuts.size(); ++run) {
      for (Op& op : verifier::OpsOfRun(candidate, run)) op.client %= clients;
    }
    if (s.Try(candidate)) {
      progressed = true;
      break;
    }
  }
  return progressed;
}

bool SimplifyOps(Shrinker& s) {
  bool progressed = false;
  for (size_t i = 0; i < s.best().scenario.workload.ops.size() && !s.exhausted(); ++i) {
    const Op op = s.best().scenario.workload.ops[i];
    if (op.kind == OpKind::kFlush || op.kind == OpKind::kControl) continue;
    std::vector<Op> variants;
    if (op.fua) variants.push_back(Op{op.kind, op.client, op.sector, op.sectors, false});
    if (op.sectors > 1) {
      variants.push_back(Op{op.kind, op.client, op.sector, 1, op.fua});
      variants.push_back(Op{op.kind, op.client, op.sector, op.sectors / 2, op.fua});
    }
    if (op.sector > 0) {
      variants.push_back(Op{op.kind, op.client, 0, op.sectors, op.fua});
      variants.push_back(Op{op.kind, op.client, op.sector / 2, op.sectors, op.fua});
    }
    for (const Op& variant : variants) {
      Scenario candidate = s.best().scenario;
      candidate.workload.ops[i] = variant;
      if (s.Try(candidate)) {
        progressed = true;
        break;
      }
    }
  }
  return progressed;
}

bool EarlierCrash(Shrinker& s) {
  bool progressed = false;
  uint64_t low = 0;
  while (!s.exhausted()) {
    const uint64_t high = *s.best().scenario.crash_after_steps;
    if (low >= high) break;
    const uint64_t middle = low + (high - low) / 2;
    Scenario candidate = s.best().scenario;
    candidate.crash_after_steps = middle;
    if (s.Try(candidate)) {
      progressed = true;
    } else {
      low = middle + 1;
    }
  }
  return progressed;
}

bool FewerImages(Shrinker& s) {
  bool progressed = false;
  for (uint32_t images : {1u, 2u, 4u}) {
    if (images >= s.best().scenario.images || s.exhausted()) break;
    Scenario candidate = s.best().scenario;
    candidate.images = images;
    if (s.Try(candidate)) {
      progressed = true;
      break;
    }
  }
  return progressed;
}

bool FewerFaults(Shrinker& s) {
  if (!s.best().scenario.faults) return false;
  Scenario none = s.best().scenario;
  none.faults.reset();
  if (s.Try(none)) return true;
  bool progressed = false;
  std::vector<std::function<void(faults::FaultPlan&)>> cuts = {
      [](faults::FaultPlan& p) { p.lying_flush = false; },
      [](faults::FaultPlan& p) { p.fua_dropped = false; },
      [](faults::FaultPlan& p) { p.io_error_ppm = 0; },
      [](faults::FaultPlan& p) { p.io_error_ordinals.clear(); },
      [](faults::FaultPlan& p) { p.latent_sectors.clear(); },
      [](faults::FaultPlan& p) {
        p.misdirected_writes.clear();
        p.misdirect_offset = 0;
      },
  };
  for (const auto& cut : cuts) {
    Scenario candidate = s.best().scenario;
    cut(*candidate.faults);
    if (candidate.faults->empty()) candidate.faults.reset();
    if (s.Try(candidate)) progressed = true;
  }
  return progressed;
}

}  // namespace

absl::StatusOr<ShrinkResult> Shrink(const verifier::Scenario& scenario, uint64_t max_runs,
                                    uint64_t max_memory_bytes,
                                    const std::function<void(const std::string&)>& progress) {
  absl::StatusOr<verifier::CrashCheckResult> first =
      verifier::RunScenario(scenario, {.max_memory_bytes = max_memory_bytes});
  if (!first.ok()) return first.status();
  if (first->passed) {
    return absl::InvalidArgumentError("the scenario passes: there is no failure to shrink");
  }
  Shrinker shrinker(max_runs, progress);
  ShrinkResult& best = shrinker.best();
  best.scenario = scenario;
  best.scenario.expect = verifier::Verdict::kFail;
  best.category = first->failure.Group();
  best.failure = first->failure.text;
  // Pin the power cuts so that removing operations does not move them.
  Scenario pinned = best.scenario;
  bool drawn = !pinned.crash_after_steps;
  pinned.crash_after_steps = first->crash_step;
  for (size_t k = 0; k < first->later_cut_steps.size(); ++k) {
    drawn |= !pinned.later_cuts[k].after_steps;
    pinned.later_cuts[k].after_steps = first->later_cut_steps[k];
  }
  if (drawn && !shrinker.Try(pinned)) {
    return absl::InternalError("pinning the crash steps changed the outcome");
  }
  bool progressed = true;
  while (progressed && !shrinker.exhausted()) {
    progressed = false;
    progressed |= FewerFaults(shrinker);
    progressed |= FewerCuts(shrinker);
    for (size_t run = 0; run <= shrinker.best().scenario.later_cuts.size(); ++run) {
      progressed |= RemoveOps(shrinker, run);
    }
    progressed |= MergeClients(shrinker);
    progressed |= EarlierCrash(shrinker);
    progressed |= SimplifyOps(shrinker);
    progressed |= FewerImages(shrinker);
  }
  best.runs = shrinker.runs();
  best.scenario.comment = absl::StrCat("Shrunk from a ", verifier::OpCount(scenario),
                                       "-op scenario: ", best.failure);
  return best;
}

}  // namespace powercut::tools
