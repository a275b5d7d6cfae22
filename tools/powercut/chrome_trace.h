// ChromeTrace: turns a run's trace events into Chrome / Perfetto trace JSON (the
// "Trace Event Format"), which opens in ui.perfetto.dev or chrome://tracing.
//
//   - each fiber is a thread (named after the fiber); each scheduling of it is an
//     instant event "run";
//   - each device is a thread; each IO is a complete slice from submission to
//     completion (reads, writes, discards, flushes), named with its sectors and flags;
//   - faults and pmem events are instant events on their device's thread;
//   - the crash check's section events (actor "check") split the trace: the power cut
//     is a global instant event (IOs still in flight end there) and each crash
//     image's draws are instants on the devices; each recovery world is a process of
//     its own ("recovery from crash image K"), its clock starting at zero.
// Timestamps are virtual microseconds.
#ifndef POWERCUT_TOOLS_POWERCUT_CHROME_TRACE_H_
#define POWERCUT_TOOLS_POWERCUT_CHROME_TRACE_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "nlohmann/json.hpp"
#include "sim/trace.h"

namespace powercut::tools {

class ChromeTrace {
 public:
  void Add(const sim::TraceEvent& event);
  std::string Json() const;

 private:
  int ThreadFor(const std::string& name, bool fiber);
  // Marks the power cut; IOs still open end here.
  void AddCrash(runtime::Nanos time, uint64_t step);
  // Starts the process of a new world (the run is process 1).
  void StartProcess(const std::string& name);
  struct OpenIo {
    double start_us;
    std::string name;
    int tid;
  };

  nlohmann::json events_ = nlohmann::json::array();
  std::map<std::string, int> threads_;             // name -> tid
  std::map<std::pair<int, uint64_t>, OpenIo> open_;  // (tid, io id) -> slice
  int pid_ = 0;  // the current world's process; 0 until the first event
  int next_fiber_tid_ = 1;
  int next_device_tid_ = 1000;
};

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_CHROME_TRACE_H_
