#include "tools/powercut/fuzz_merge.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace powercut::tools {
namespace {

using nlohmann::json;

template <typename T>
T Get(const json& j, const char* key) {
  if (!j.contains(key)) throw json::other_error::create(501, absl::StrCat("missing \"", key, "\""), &j);
  return j.at(key).get<T>();
}

}  // namespace

absl::StatusOr<FuzzSummary> ParseFuzzSummaryJson(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  FuzzSummary s;
  try {
    s.first_seed = Get<uint64_t>(j, "first_seed");
    const std::vector<std::string> shard = absl::StrSplit(Get<std::string>(j, "shard"), '/');
    if (shard.size() != 2 || !absl::SimpleAtoi(shard[1], &s.shards) ||
        !(absl::SimpleAtoi(shard[0], &s.shard) || shard[0] == "all")) {
      return absl::InvalidArgumentError("\"shard\" is not K/N");
    }
    if (shard[0] == "all") s.shard = 0;
    s.jobs = Get<uint32_t>(j, "jobs");
    s.duration_seconds = Get<double>(j, "duration_seconds");
    s.elapsed_seconds = Get<double>(j, "elapsed_seconds");
    s.interrupted = Get<bool>(j, "interrupted");
    s.seeds = Get<uint64_t>(j, "seeds");
    s.crash_images = Get<uint64_t>(j, "crash_images");
    s.sectors_checked = Get<uint64_t>(j, "sectors_checked");
    s.failures = Get<uint64_t>(j, "failures");
    s.determinism_checks = Get<uint64_t>(j, "determinism_checks");
    s.determinism_failures = Get<uint64_t>(j, "determinism_failures");
    s.workers_replaced = Get<uint64_t>(j, "workers_replaced");
    for (const json& f : Get<json>(j, "families")) {
      s.families.push_back({.name = Get<std::string>(f, "family"),
                            .seeds = Get<uint64_t>(f, "seeds"),
                            .failures = Get<uint64_t>(f, "failures"),
                            .crash_images = Get<uint64_t>(f, "crash_images"),
                            .sectors_checked = Get<uint64_t>(f, "sectors_checked")});
    }
    for (const json& g : Get<json>(j, "failure_groups")) {
      s.groups.push_back({.key = Get<std::string>(g, "key"),
                          .family = Get<std::string>(g, "family"),
                          .group = Get<std::string>(g, "group"),
                          .phase = Get<std::string>(g, "phase"),
                          .failures = Get<uint64_t>(g, "failures"),
                          .first_seed = Get<uint64_t>(g, "first_seed"),
                          .first_text = Get<std::string>(g, "first_failure"),
                          .replay = Get<std::string>(g, "replay"),
                          .reproduce = Get<std::string>(g, "reproduce"),
                          .corpus_file = Get<std::string>(g, "corpus_file"),
                          .shrunk_ops = Get<uint64_t>(g, "shrunk_ops"),
                          .original_ops = Get<uint64_t>(g, "original_ops"),
                          .known = Get<bool>(g, "known"),
                          .shrink_error = Get<std::string>(g, "shrink_error")});
    }
    for (const json& p : Get<json>(j, "probes")) {
      s.probes.push_back({.name = Get<std::string>(p, "name"),
                          .what = Get<std::string>(p, "what"),
                          .hits = Get<uint64_t>(p, "hits")});
    }
    s.swarm = Get<std::map<std::string, uint64_t>>(j, "swarm");
    for (const json& p : Get<json>(j, "samples")) {
      s.samples.push_back({.seconds = Get<double>(p, "seconds"),
                           .seeds = Get<uint64_t>(p, "seeds"),
                           .failures = Get<uint64_t>(p, "failures")});
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("not a powercut fuzz summary: ", e.what()));
  }
  return s;
}

absl::StatusOr<FuzzSummary> MergeFuzzSummaries(const std::vector<FuzzSummary>& shards,
                                               const std::string& corpus_dir) {
  if (shards.empty()) return absl::InvalidArgumentError("no shard to merge");
  FuzzSummary m;
  m.first_seed = shards[0].first_seed;
  m.shards = shards[0].shards;
  m.shard = 0;
  m.jobs = 0;
  std::set<uint32_t> seen;
  for (const FuzzSummary& s : shards) {
    if (s.first_seed != m.first_seed || s.shards != m.shards || s.shard == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shard ", s.shard, "/", s.shards, " of first seed ", s.first_seed,
          " is not from the campaign of shard ", shards[0].shard, "/", m.shards, " of first seed ",
          m.first_seed));
    }
    if (!seen.insert(s.shard).second) {
      return absl::InvalidArgumentError(absl::StrCat("shard ", s.shard, "/", s.shards, " is given twice"));
    }
  }
  std::map<std::string, size_t> family_index, group_index, probe_index;
  std::map<std::string, uint64_t> corpus_size;  // of the file kept for a group
  for (const FuzzSummary& s : shards) {
    m.jobs += s.jobs;
    m.duration_seconds = std::max(m.duration_seconds, s.duration_seconds);
    m.elapsed_seconds = std::max(m.elapsed_seconds, s.elapsed_seconds);
    m.interrupted = m.interrupted || s.interrupted;
    m.seeds += s.seeds;
    m.crash_images += s.crash_images;
    m.sectors_checked += s.sectors_checked;
    m.failures += s.failures;
    m.determinism_checks += s.determinism_checks;
    m.determinism_failures += s.determinism_failures;
    m.workers_replaced += s.workers_replaced;
    for (const FuzzFamilyCounts& f : s.families) {
      auto [it, fresh] = family_index.emplace(f.name, m.families.size());
      if (fresh) m.families.push_back({.name = f.name});
      FuzzFamilyCounts& into = m.families[it->second];
      into.seeds += f.seeds;
      into.failures += f.failures;
      into.crash_images += f.crash_images;
      into.sectors_checked += f.sectors_checked;
    }
    for (const FuzzProbe& p : s.probes) {
      auto [it, fresh] = probe_index.emplace(p.name, m.probes.size());
      if (fresh) m.probes.push_back({.name = p.name, .what = p.what});
      m.probes[it->second].hits += p.hits;
    }
    for (const auto& [choice, seeds] : s.swarm) m.swarm[choice] += seeds;
    for (const FuzzGroup& g : s.groups) {
      auto [it, fresh] = group_index.emplace(g.key, m.groups.size());
      if (fresh) {
        m.groups.push_back(g);
        m.groups.back().failures = 0;
      }
      FuzzGroup& into = m.groups[it->second];
      if (!fresh && g.first_seed < into.first_seed) {
        into.first_seed = g.first_seed;
        into.first_text = g.first_text;
        into.replay = g.replay;
        into.reproduce = g.reproduce;
      }
      into.failures += g.failures;
      into.known = fresh ? g.known : into.known && g.known;
      std::error_code error;
      const uint64_t size = g.corpus_file.empty() ? 0 : std::filesystem::file_size(g.corpus_file, error);
      if (!g.corpus_file.empty() && !error &&
          (!corpus_size.contains(g.key) || size < corpus_size[g.key])) {
        corpus_size[g.key] = size;
        into.corpus_file = g.corpus_file;
        into.shrunk_ops = g.shrunk_ops;
        into.original_ops = g.original_ops;
        into.shrink_error = g.shrink_error;
      }
    }
  }
  // Each instant: the sum of what every shard had reached by then.
  std::set<double> instants;
  for (const FuzzSummary& s : shards) {
    for (const FuzzSample& p : s.samples) instants.insert(p.seconds);
  }
  for (double t : instants) {
    FuzzSample sum{.seconds = t};
    for (const FuzzSummary& s : shards) {
      for (const FuzzSample& p : s.samples) {
        if (p.seconds > t) break;
        if (&p == &s.samples.back() || (&p + 1)->seconds > t) {
          sum.seeds += p.seeds;
          sum.failures += p.failures;
        }
      }
    }
    m.samples.push_back(sum);
  }
  std::error_code error;
  std::filesystem::create_directories(corpus_dir, error);
  if (error) return absl::FailedPreconditionError(absl::StrCat("cannot make ", corpus_dir, ": ", error.message()));
  for (FuzzGroup& g : m.groups) {
    if (g.corpus_file.empty()) continue;
    const std::filesystem::path to = std::filesystem::path(corpus_dir) / (g.key + ".replay");
    if (std::filesystem::weakly_canonical(to, error) != std::filesystem::weakly_canonical(g.corpus_file, error)) {
      std::filesystem::copy_file(g.corpus_file, to, std::filesystem::copy_options::overwrite_existing, error);
      if (error) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot copy ", g.corpus_file, " to ", to.string(), ": ", error.message()));
      }
    }
    g.corpus_file = to.string();
  }
  return m;
}

}  // namespace powercut::tools
