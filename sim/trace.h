// Trace: the event record of a simulated run.
//
// Every event is folded into a running 64-bit hash; two runs of one seed must end with
// the same hash (the determinism check). An observer, when set, sees every event;
// Format() renders one as a compact line (the timeline):
//     12.345678ms ssd0        write.done  #17 sec 128+8 FUA
// Fields: virtual time, actor (device or fiber), operation, id, sector range, flags.
//
// Threading: the simulation's thread only.
#ifndef POWERCUT_SIM_TRACE_H_
#define POWERCUT_SIM_TRACE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "engine/runtime/time.h"

namespace powercut::sim {

struct TraceEvent {
  runtime::Nanos time{0};
  std::string_view actor;
  std::string_view op;
  uint64_t id = 0;
  uint64_t sector = 0;
  uint64_t sectors = 0;  // 0: no sector range
  std::string_view flags;
};

class Trace {
 public:
  using Observer = std::function<void(const TraceEvent& event)>;

  void Record(const TraceEvent& event);
  // Records that fiber `fiber_id` (named `fiber_name`) runs: the event
  // {time, fiber_name, "run", fiber_id}. The most frequent event, so its hash takes
  // only the time and the id (which names the fiber within a run), no text.
  void RecordRun(runtime::Nanos time, uint64_t fiber_id, std::string_view fiber_name);

  uint64_t hash() const { return hash_; }
  uint64_t events() const { return events_; }
  void set_observer(Observer observer) { observer_ = std::move(observer); }

  static std::string Format(const TraceEvent& event);

 private:
  uint64_t hash_ = 0x706f776572637574ull;  // "powercut"
  uint64_t events_ = 0;
  Observer observer_;
};

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_TRACE_H_
