#include "tools/powercut/chrome_trace.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace powercut::tools {
namespace {

double Micros(runtime::Nanos t) { return static_cast<double>(t.count()) / 1000.0; }

}  // namespace

int ChromeTrace::ThreadFor(const std::string& name, bool fiber) {
  auto it = threads_.find(name);
  if (it != threads_.end()) return it->second;
  const int tid = fiber ? next_fiber_tid_++ : next_device_tid_++;
  threads_.emplace(name, tid);
  events_.push_back({{"ph", "M"}, {"pid", pid_}, {"tid", tid}, {"name", "thread_name"},
                     {"args", {{"name", fiber ? "fiber " + name : name}}}});
  return tid;
}

void ChromeTrace::StartProcess(const std::string& name) {
  ++pid_;
  threads_.clear();
  open_.clear();
  events_.push_back(
      {{"ph", "M"}, {"pid", pid_}, {"name", "process_name"}, {"args", {{"name", name}}}});
}

void ChromeTrace::Add(const sim::TraceEvent& event) {
  const std::string actor(event.actor);
  const std::string op(event.op);
  const double ts = Micros(event.time);
  if (pid_ == 0) StartProcess("run");
  if (actor == "check") {
    if (op == "power.cut") AddCrash(event.time, event.id);
    if (op == "recovery") StartProcess(absl::StrCat("recovery from crash image ", event.id));
    if (op == "crash.image") {
      events_.push_back({{"ph", "i"}, {"pid", pid_}, {"tid", 0}, {"ts", ts}, {"s", "p"},
                         {"name", absl::StrCat("crash image ", event.id)}});
    }
    return;
  }
  if (op == "run") {
    const int tid = ThreadFor(actor, /*fiber=*/true);
    events_.push_back({{"ph", "i"}, {"pid", pid_}, {"tid", tid}, {"ts", ts}, {"name", "run"},
                       {"s", "t"}});
    return;
  }
  const int tid = ThreadFor(actor, /*fiber=*/false);
  std::string label = op;
  if (event.sectors != 0) absl::StrAppend(&label, " ", event.sector, "+", event.sectors);
  if (!event.flags.empty()) absl::StrAppend(&label, " ", std::string(event.flags));
  if (absl::EndsWith(op, ".done")) {
    auto it = open_.find({tid, event.id});
    if (it != open_.end()) {
      events_.push_back({{"ph", "X"}, {"pid", pid_}, {"tid", tid}, {"ts", it->second.start_us},
                         {"dur", ts - it->second.start_us}, {"name", it->second.name},
                         {"cat", "io"}, {"args", {{"id", event.id}}}});
      open_.erase(it);
    }
    return;
  }
  if (op == "read" || op == "write" || op == "flush" || op == "discard") {
    open_[{tid, event.id}] = OpenIo{ts, label, tid};
    if (op == "flush") {
      events_.push_back({{"ph", "i"}, {"pid", pid_}, {"tid", tid}, {"ts", ts},
                         {"name", "flush issued"}, {"s", "t"}});
    }
    return;
  }
  events_.push_back({{"ph", "i"}, {"pid", pid_}, {"tid", tid}, {"ts", ts}, {"name", label},
                     {"s", "t"}, {"args", {{"id", event.id}}}});
}

void ChromeTrace::AddCrash(runtime::Nanos time, uint64_t step) {
  const double ts = Micros(time);
  for (const auto& [key, io] : open_) {
    events_.push_back({{"ph", "X"}, {"pid", pid_}, {"tid", io.tid}, {"ts", io.start_us},
                       {"dur", ts - io.start_us}, {"name", io.name + " (in flight at power cut)"},
                       {"cat", "io"}});
  }
  open_.clear();
  events_.push_back({{"ph", "i"}, {"pid", pid_}, {"tid", 0}, {"ts", ts}, {"s", "g"},
                     {"name", absl::StrCat("power cut (step ", step, ")")}});
}

std::string ChromeTrace::Json() const {
  nlohmann::json root;
  root["traceEvents"] = events_;
  root["displayTimeUnit"] = "ns";
  return root.dump(1) + "\n";
}

}  // namespace powercut::tools
