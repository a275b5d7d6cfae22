#include "tools/powercut/fuzz_campaign.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/probe/probe.h"
#include "nlohmann/json.hpp"
#include "scenario/failure_report.h"
#include "scenario/replay_file.h"
#include "scenario/swarm.h"
#include "tools/powercut/campaign.h"
#include "tools/powercut/fuzz_report.h"
#include "tools/powercut/shrink.h"

namespace powercut::tools {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kTextLimit = 600;
constexpr uint64_t kShrinkMemoryBytes = uint64_t{16} << 30;
constexpr std::string_view kHangGroup = "hang (seed time limit)";
constexpr std::string_view kDiedGroup = "worker died";

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

uint64_t SeedOf(const FuzzOptions& o, uint64_t item) { return FuzzSeedOf(o, item); }

const verifier::ScenarioFamily& FamilyOf(const FuzzOptions& o, uint64_t item) {
  return o.families[item % o.families.size()];
}

// Lower-case letters, digits and '-' only: a file name on any file system.
std::string Slug(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (keep) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

void SendLine(int fd, const std::string& line) {
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the other side is gone: its end is noticed by the reader
    done += static_cast<size_t>(n);
  }
}

// A worker saves the replay files of its first few failures of each kind, invariant
// and phase only: a broken engine fails most seeds, and the group needs one.
constexpr uint64_t kSavedPerGroup = 3;

// The names of what the swarm choice of `seed` did to the family's scenario, one per
// dimension it touched (scenario/swarm.h); none without swarm.
json SwarmNames(bool swarm, const verifier::ScenarioFamily& family, uint64_t seed) {
  json names = json::array();
  if (!swarm) return names;
  verifier::Scenario scenario = family.draw(seed);
  const verifier::SwarmApplied applied = verifier::ApplySwarm(verifier::DrawSwarm(seed), scenario);
  for (const std::string& name : {applied.ops, applied.faults, applied.features}) {
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

// What a worker says about one item; `saved` counts its replay files per group.
json CheckItem(const FuzzOptions& o, uint64_t item, std::map<std::string, uint64_t>& saved_per_group) {
  const verifier::ScenarioFamily& family = FamilyOf(o, item);
  const uint64_t seed = SeedOf(o, item);
  const probe::ProbeCounts before = probe::Counts();
  const verifier::CrashCheckResult result = CheckSeed(family, seed, o.images_per_seed, o.mutant, o.swarm);
  const probe::ProbeCounts after = probe::Counts();
  json answer = {{"item", item},
                 {"swarm", SwarmNames(o.swarm, family, seed)},
                 {"passed", result.passed},
                 {"images", result.images_checked},
                 {"sectors", result.sectors_checked}};
  json probes = json::object();
  for (size_t k = 0; k < probe::kProbes; ++k) {
    if (after[k] != before[k]) probes[std::string(probe::Catalog()[k].name)] = after[k] - before[k];
  }
  if (!probes.empty()) answer["probes"] = std::move(probes);
  if (o.determinism_every != 0 && item % o.determinism_every == 0) {
    const verifier::CrashCheckResult again = CheckSeed(family, seed, o.images_per_seed, o.mutant, o.swarm);
    answer["deterministic"] = again.trace_hash == result.trace_hash && again.passed == result.passed;
  }
  if (!result.passed) {
    const std::string group = result.failure.Group();
    const std::string key = absl::StrCat(family.name, "\n", group, "\n",
                                         verifier::FailurePhaseName(result.failure.phase));
    if (++saved_per_group[key] <= kSavedPerGroup) {
      const verifier::Scenario scenario = SeedScenario(family, seed, o.images_per_seed, o.mutant, o.swarm);
      const verifier::SavedFailure saved = verifier::SaveFailure(
          scenario, result,
          verifier::ScenarioCommand(family.name, seed, o.images_per_seed, scenario.mutant, o.swarm));
      answer["replay"] = saved.path;
      answer["reproduce"] = saved.command;
    }
    answer["group"] = group;
    answer["phase"] = std::string(verifier::FailurePhaseName(result.failure.phase));
    answer["location"] = result.failure.location;
    answer["text"] = result.failure.text.substr(0, kTextLimit);
  }
  return answer;
}

// A worker: items in, one JSON line out per item, until the socket closes.
[[noreturn]] void RunWorker(const FuzzOptions& o, int fd) {
  if (o.worker_memory_bytes != 0) {
    const rlimit limit{.rlim_cur = o.worker_memory_bytes, .rlim_max = o.worker_memory_bytes};
    if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(2);
  }
  std::map<std::string, uint64_t> saved_per_group;
  std::string pending;
  char chunk[256];
  for (;;) {
    const ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) _exit(0);
    pending.append(chunk, static_cast<size_t>(got));
    for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
      uint64_t item = 0;
      const bool parsed = absl::SimpleAtoi(pending.substr(0, end), &item);
      pending.erase(0, end + 1);
      if (!parsed) _exit(2);
      SendLine(fd, CheckItem(o, item, saved_per_group).dump(-1, ' ', false, json::error_handler_t::replace));
    }
  }
}

struct Worker {
  pid_t pid = -1;
  int fd = -1;
  std::optional<uint64_t> item;
  Clock::time_point deadline;
  std::string pending;
};

class Campaign {
 public:
  Campaign(const FuzzOptions& options, const std::function<void(const FuzzProgress&)>& progress)
      : o_(options), progress_(progress) {
    summary_.first_seed = o_.first_seed;
    summary_.shard = o_.shard;
    summary_.shards = o_.shards;
    summary_.jobs = o_.jobs;
    summary_.duration_seconds = o_.duration_seconds;
    for (const verifier::ScenarioFamily& f : o_.families) summary_.families.push_back({.name = f.name});
    for (const probe::Info& info : probe::Catalog()) {
      summary_.probes.push_back({.name = std::string(info.name), .what = std::string(info.what)});
    }
  }

  absl::StatusOr<FuzzSummary> Run() {
    workers_.resize(o_.jobs);
    for (Worker& w : workers_) {
      if (absl::Status s = Spawn(w); !s.ok()) return s;
    }
    Check();
    for (Worker& w : workers_) Retire(w);
    Shrink();
    summary_.elapsed_seconds = SecondsSince(start_);
    summary_.samples.push_back({summary_.elapsed_seconds, summary_.seeds, summary_.failures});
    summary_.summary_path = (std::filesystem::path(o_.out_dir) / "summary.json").string();
    std::ofstream out(summary_.summary_path);
    out << FormatFuzzSummaryJson(summary_);
    if (!out) return absl::FailedPreconditionError(absl::StrCat("cannot write ", summary_.summary_path));
    Report("writing report.html");
    const std::string report = (std::filesystem::path(o_.out_dir) / "report.html").string();
    FuzzReportOptions report_options;
    if (summary_.interrupted) report_options.timeline_seconds = 5;
    if (absl::Status written = WriteFuzzReport(summary_, report, report_options); written.ok()) {
      summary_.report_path = report;
    } else {
      summary_.report_error = std::string(written.message());
    }
    return summary_;
  }

 private:
  absl::Status Spawn(Worker& w) {
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, ends) != 0) {
      return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
    }
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    if (pid == 0) {
      close(ends[0]);
      // Only the parent may hold the other workers' sockets: their end must show.
      for (const Worker& other : workers_) {
        if (other.fd >= 0) close(other.fd);
      }
      RunWorker(o_, ends[1]);
    }
    close(ends[1]);
    w = Worker{.pid = pid, .fd = ends[0]};
    return absl::OkStatus();
  }

  void Retire(Worker& w) {
    if (w.pid < 0) return;
    close(w.fd);
    int status = 0;
    while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    w = Worker{};
  }

  bool TimeIsUp() const {
    return SecondsSince(start_) >= o_.duration_seconds || (o_.max_seeds != 0 && next_item_ >= o_.max_seeds) ||
           (o_.stop_requested && o_.stop_requested());
  }

  void Check() {
    Clock::time_point last_progress = start_, last_sample = start_;
    const double sample_every = std::max(1.0, o_.duration_seconds / 200);
    for (;;) {
      const bool stopping = TimeIsUp();
      if (o_.stop_requested && o_.stop_requested()) {
        summary_.interrupted = true;
        for (Worker& w : workers_) {
          if (w.pid >= 0) kill(w.pid, SIGKILL);
        }
        return;
      }
      bool busy = false;
      for (Worker& w : workers_) {
        if (!w.item && !TimeIsUp() && w.pid >= 0) {
          w.item = next_item_++;
          w.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(o_.seed_timeout_seconds));
          SendLine(w.fd, absl::StrCat(*w.item));
        }
        busy = busy || w.item.has_value();
      }
      if (stopping && !busy) return;
      if (std::none_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.pid >= 0; })) {
        return;  // every worker lost and none could be started again (fork failed)
      }
      Poll();
      if (SecondsSince(last_sample) >= sample_every) {
        last_sample = Clock::now();
        summary_.samples.push_back({SecondsSince(start_), summary_.seeds, summary_.failures});
      }
      if (progress_ && SecondsSince(last_progress) >= 0.5) {
        last_progress = Clock::now();
        Report("checking");
      }
    }
  }

  void Report(const std::string& phase) {
    if (!progress_) return;
    const double elapsed = SecondsSince(start_);
    progress_({.elapsed_seconds = elapsed,
               .seconds_left = std::max(0.0, o_.duration_seconds - elapsed),
               .seeds = summary_.seeds,
               .crash_images = summary_.crash_images,
               .failures = summary_.failures,
               .groups = summary_.groups.size(),
               .probes_hit = static_cast<size_t>(std::count_if(
                   summary_.probes.begin(), summary_.probes.end(), [](const FuzzProbe& p) { return p.hits > 0; })),
               .phase = phase});
  }

  void Poll() {
    std::vector<pollfd> fds;
    for (const Worker& w : workers_) fds.push_back({.fd = w.fd, .events = POLLIN});
    if (poll(fds.data(), fds.size(), 100) < 0 && errno != EINTR) return;
    for (size_t k = 0; k < workers_.size(); ++k) {
      Worker& w = workers_[k];
      if (w.pid < 0) continue;
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) != 0) Read(w);
      if (w.pid >= 0 && w.item && Clock::now() > w.deadline) {
        kill(w.pid, SIGKILL);
        Lost(w, std::string(kHangGroup),
             absl::StrCat("the seed ran past the per-seed limit of ", o_.seed_timeout_seconds,
                          " s of wall-clock time and its worker was killed"));
      }
    }
  }

  void Read(Worker& w) {
    char chunk[4096];
    const ssize_t got = read(w.fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) return;
    if (got <= 0) {
      Lost(w, std::string(kDiedGroup), "its worker process died while checking it");
      return;
    }
    w.pending.append(chunk, static_cast<size_t>(got));
    for (size_t end; (end = w.pending.find('\n')) != std::string::npos;) {
      const json answer = json::parse(w.pending.substr(0, end), nullptr, /*allow_exceptions=*/false);
      w.pending.erase(0, end + 1);
      if (answer.is_discarded() || !w.item || answer.value("item", uint64_t{0}) != *w.item) {
        kill(w.pid, SIGKILL);
        Lost(w, std::string(kDiedGroup), "its worker answered out of turn and was replaced");
        return;
      }
      Record(*w.item, answer);
      w.item.reset();
    }
  }

  // The worker's seed is a failure of its own; a new worker takes its place.
  void Lost(Worker& w, const std::string& group, const std::string& why) {
    int status = 0;
    while (waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string how;
    if (WIFSIGNALED(status)) how = absl::StrCat(" (signal ", WTERMSIG(status), ")");
    if (WIFEXITED(status)) how = absl::StrCat(" (exit code ", WEXITSTATUS(status), ")");
    close(w.fd);
    const std::optional<uint64_t> item = w.item;
    w = Worker{};
    ++summary_.workers_replaced;
    if (item) {
      const verifier::ScenarioFamily& family = FamilyOf(o_, *item);
      const uint64_t seed = SeedOf(o_, *item);
      verifier::CrashCheckResult result;
      result.passed = false;
      result.failure.kind = group == kHangGroup ? verifier::FailureKind::kHang
                                                : verifier::FailureKind::kEngineError;
      result.failure.text = absl::StrCat("Seed ", seed, " of ", family.name, ": ", why, how, ".");
      const verifier::Scenario scenario = SeedScenario(family, seed, o_.images_per_seed, o_.mutant, o_.swarm);
      const verifier::SavedFailure saved = verifier::SaveFailure(
          scenario, result,
          verifier::ScenarioCommand(family.name, seed, o_.images_per_seed, scenario.mutant, o_.swarm));
      Record(*item, {{"item", *item},
                     {"passed", false},
                     {"group", group},
                     {"phase", "run"},
                     {"text", result.failure.text},
                     {"replay", saved.path},
                     {"reproduce", saved.command},
                     {"unshrinkable", true}});
    }
    if (!TimeIsUp()) (void)Spawn(w);  // a failed fork leaves the slot empty
  }

  void Record(uint64_t item, const json& answer) {
    FuzzFamilyCounts& counts = summary_.families[item % o_.families.size()];
    ++counts.seeds;
    ++summary_.seeds;
    counts.crash_images += answer.value("images", uint64_t{0});
    summary_.crash_images += answer.value("images", uint64_t{0});
    counts.sectors_checked += answer.value("sectors", uint64_t{0});
    summary_.sectors_checked += answer.value("sectors", uint64_t{0});
    if (answer.contains("swarm")) {
      for (const json& name : answer["swarm"]) ++summary_.swarm[name.get<std::string>()];
    }
    if (answer.contains("probes")) {
      for (FuzzProbe& p : summary_.probes) p.hits += answer["probes"].value(p.name, uint64_t{0});
    }
    if (answer.contains("deterministic")) {
      ++summary_.determinism_checks;
      if (!answer["deterministic"].get<bool>()) {
        ++summary_.determinism_failures;
        RecordFailure(item, answer, "not deterministic", "run", "");
      }
    }
    if (answer.value("passed", true)) return;
    RecordFailure(item, answer, answer.value("group", std::string("unknown")),
                   answer.value("phase", std::string("run")), answer.value("location", std::string()));
  }

  void RecordFailure(uint64_t item, const json& answer, const std::string& group,
                      const std::string& phase, const std::string& location) {
    const std::string family = FamilyOf(o_, item).name;
    ++summary_.families[item % o_.families.size()].failures;
    ++summary_.failures;
    std::string key = absl::StrCat(family, "--", Slug(group), "--", Slug(phase));
    if (!location.empty()) absl::StrAppend(&key, "--", Slug(location));
    auto [it, fresh] = group_index_.emplace(key, summary_.groups.size());
    if (fresh) {
      summary_.groups.push_back({.key = key,
                                 .family = family,
                                 .group = group,
                                 .phase = phase,
                                 .first_seed = SeedOf(o_, item),
                                 .first_text = answer.value("text", std::string()),
                                 .replay = answer.value("replay", std::string()),
                                 .reproduce = answer.value("reproduce", std::string())});
      if (answer.value("unshrinkable", false)) unshrinkable_.insert(key);
    }
    ++summary_.groups[it->second].failures;
  }

  // The first failure of every group, shrunk in a process of its own, into the corpus.
  void Shrink() {
    if (summary_.interrupted) return;
    std::error_code error;
    std::filesystem::create_directories(o_.corpus_dir, error);
    for (size_t g = 0; g < summary_.groups.size(); ++g) {
      FuzzGroup& group = summary_.groups[g];
      Report(absl::StrCat("shrinking ", g + 1, "/", summary_.groups.size()));
      std::string text;
      if (group.replay.empty()) {
        group.shrink_error = "no replay file";
        continue;
      }
      {
        std::ifstream in(group.replay);
        std::stringstream buffer;
        buffer << in.rdbuf();
        text = buffer.str();
      }
      absl::StatusOr<verifier::Scenario> scenario = verifier::ParseReplay(text);
      if (!scenario.ok()) {
        group.shrink_error = std::string(scenario.status().message());
        continue;
      }
      group.original_ops = verifier::OpCount(*scenario);
      std::string kept = text;
      if (unshrinkable_.contains(group.key)) {
        group.shrink_error = "a seed that hung or killed its worker is kept as it is";
      } else if (absl::StatusOr<std::string> shrunk = ShrinkInChild(*scenario); shrunk.ok()) {
        kept = *shrunk;
        if (absl::StatusOr<verifier::Scenario> small = verifier::ParseReplay(kept); small.ok()) {
          group.shrunk_ops = verifier::OpCount(*small);
        }
      } else {
        group.shrink_error = std::string(shrunk.status().message());
      }
      const std::filesystem::path file = std::filesystem::path(o_.corpus_dir) / (group.key + ".replay");
      group.known = std::filesystem::exists(file);
      if (!group.known || std::filesystem::file_size(file, error) > kept.size()) {
        std::ofstream(file) << kept;
      }
      group.corpus_file = file.string();
    }
  }

  // Shrink's output, from a child bounded by shrink_seconds of wall-clock time.
  absl::StatusOr<std::string> ShrinkInChild(const verifier::Scenario& scenario) {
    const std::filesystem::path out = std::filesystem::path(o_.out_dir) / "shrinking.replay";
    std::filesystem::remove(out);
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
    if (pid == 0) {
      absl::StatusOr<ShrinkResult> shrunk = tools::Shrink(scenario, o_.shrink_runs, kShrinkMemoryBytes, {});
      if (!shrunk.ok()) _exit(1);
      std::ofstream(out) << verifier::FormatReplay(shrunk->scenario);
      _exit(0);
    }
    const Clock::time_point started = Clock::now();
    int status = 0;
    for (;;) {
      const pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      if (done < 0 && errno != EINTR) return absl::InternalError("waitpid");
      if (SecondsSince(started) > o_.shrink_seconds || (o_.stop_requested && o_.stop_requested())) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        return absl::DeadlineExceededError("shrinking ran past its time limit; kept as found");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return absl::InternalError("shrinking failed (the shrunk failure changed or the shrinker died); kept as found");
    }
    std::ifstream in(out);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::filesystem::remove(out);
    return buffer.str();
  }

  const FuzzOptions& o_;
  const std::function<void(const FuzzProgress&)>& progress_;
  const Clock::time_point start_ = Clock::now();
  std::vector<Worker> workers_;
  uint64_t next_item_ = 0;
  FuzzSummary summary_;
  std::map<std::string, size_t> group_index_;
  std::set<std::string> unshrinkable_;
};

}  // namespace

uint64_t FuzzSeedOf(const FuzzOptions& o, uint64_t item) {
  return o.first_seed + (item / o.families.size()) * o.shards + (o.shard - 1);
}

absl::StatusOr<double> ParseDuration(std::string_view text) {
  double total = 0;
  std::string number;
  bool any = false;
  for (char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      number += c;
      continue;
    }
    const double unit = c == 'h' ? 3600 : c == 'm' ? 60 : c == 's' ? 1 : 0;
    uint64_t value = 0;
    if (unit == 0 || number.empty() || !absl::SimpleAtoi(number, &value)) {
      return absl::InvalidArgumentError(absl::StrCat("bad duration '", std::string(text), "' (e.g. 8h, 30m, 90s, 1h30m)"));
    }
    total += unit * static_cast<double>(value);
    number.clear();
    any = true;
  }
  if (!number.empty()) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(number, &value)) {
      return absl::InvalidArgumentError(absl::StrCat("bad duration '", std::string(text), "'"));
    }
    total += static_cast<double>(value);
    any = true;
  }
  if (!any || total <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad duration '", std::string(text), "' (e.g. 8h, 30m, 90s, 1h30m)"));
  }
  return total;
}

absl::StatusOr<FuzzSummary> RunFuzzCampaign(const FuzzOptions& options,
                                            const std::function<void(const FuzzProgress&)>& progress) {
  if (options.families.empty()) return absl::InvalidArgumentError("no scenario family to check");
  if (options.jobs == 0) return absl::InvalidArgumentError("--jobs must be at least 1");
  if (options.shards == 0 || options.shard == 0 || options.shard > options.shards) {
    return absl::InvalidArgumentError("--shard K/N needs 1 <= K <= N");
  }
  std::error_code error;
  const std::filesystem::path failures = std::filesystem::path(options.out_dir) / "failures";
  std::filesystem::create_directories(failures, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot make ", failures.string(), ": ", error.message()));
  }
  setenv("POWERCUT_FAILURE_DIR", failures.c_str(), 1);
  if (absl::Status writable = verifier::CheckFailureFolder(); !writable.ok()) return writable;
  Campaign campaign(options, progress);
  return campaign.Run();
}

std::string FuzzShardName(const FuzzSummary& s) {
  return s.shard == 0 ? absl::StrCat("all/", s.shards) : absl::StrCat(s.shard, "/", s.shards);
}

std::string FormatFuzzSummaryJson(const FuzzSummary& s) {
  nlohmann::ordered_json families = nlohmann::ordered_json::array();
  for (const FuzzFamilyCounts& f : s.families) {
    families.push_back({{"family", f.name},
                        {"seeds", f.seeds},
                        {"failures", f.failures},
                        {"crash_images", f.crash_images},
                        {"sectors_checked", f.sectors_checked}});
  }
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  for (const FuzzGroup& g : s.groups) {
    groups.push_back({{"key", g.key},
                      {"family", g.family},
                      {"group", g.group},
                      {"phase", g.phase},
                      {"failures", g.failures},
                      {"first_seed", g.first_seed},
                      {"first_failure", g.first_text},
                      {"replay", g.replay},
                      {"reproduce", g.reproduce},
                      {"corpus_file", g.corpus_file},
                      {"original_ops", g.original_ops},
                      {"shrunk_ops", g.shrunk_ops},
                      {"known", g.known},
                      {"shrink_error", g.shrink_error}});
  }
  nlohmann::ordered_json probes = nlohmann::ordered_json::array();
  nlohmann::ordered_json never_hit = nlohmann::ordered_json::array();
  for (const FuzzProbe& p : s.probes) {
    probes.push_back({{"name", p.name}, {"what", p.what}, {"hits", p.hits}});
    if (p.hits == 0) never_hit.push_back(p.name);
  }
  nlohmann::ordered_json samples = nlohmann::ordered_json::array();
  for (const FuzzSample& p : s.samples) {
    samples.push_back({{"seconds", p.seconds}, {"seeds", p.seeds}, {"failures", p.failures}});
  }
  const double elapsed = std::max(s.elapsed_seconds, 1e-9);
  nlohmann::ordered_json j = {
      {"first_seed", s.first_seed},
      {"shard", FuzzShardName(s)},
      {"jobs", s.jobs},
      {"duration_seconds", s.duration_seconds},
      {"elapsed_seconds", s.elapsed_seconds},
      {"interrupted", s.interrupted},
      {"seeds", s.seeds},
      {"seeds_per_second", static_cast<double>(s.seeds) / elapsed},
      {"crash_images", s.crash_images},
      {"crash_images_per_second", static_cast<double>(s.crash_images) / elapsed},
      {"sectors_checked", s.sectors_checked},
      {"failures", s.failures},
      {"determinism_checks", s.determinism_checks},
      {"determinism_failures", s.determinism_failures},
      {"workers_replaced", s.workers_replaced},
      {"families", families},
      {"failure_groups", groups},
      {"swarm", s.swarm},
      {"probes", probes},
      {"probes_never_hit", never_hit},
      {"samples", samples}};
  return j.dump(2) + "\n";
}

}  // namespace powercut::tools
