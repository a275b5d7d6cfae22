// Swarm testing: a seed may also draw which kinds of operation its workload keeps, so
// that rare mixes get whole seeds (a workload of writes and flushes only, writes
// without FUA, no reads racing the engine's background work, ...) instead of being
// diluted in every seed; which kinds of IO its injected errors strike (reads, writes,
// flushes, discards: a scenario with a fault plan keeps those of its own kinds the
// choice keeps, or all of its own when it keeps none of them); and which optional
// engine features stay on (the cleaner, max_age, the writeback pause, write-behind, a
// clean restart, a hot re-add, the tight layout: a feature left out is set to 0). `powercut fuzz` applies it by default (`--no-swarm` to turn
// it off); `powercut scenario --swarm` prints the same scenario, and the replay file a
// swarm seed leaves carries the ops it kept and a comment naming the choice.
//
// The choice comes from the seed's own "swarm" streams, so it never changes what the
// family draws: the swarm scenario of seed N is the family's scenario of seed N with
// the ops of the kinds left out removed (and FUA flags dropped when FUA is out), its
// fault kinds and features narrowed. Writes are always kept.
#ifndef POWERCUT_SCENARIO_SWARM_H_
#define POWERCUT_SCENARIO_SWARM_H_

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "faults/fault_plan.h"
#include "scenario/scenario.h"

namespace powercut::verifier {

// The optional engine features a choice may leave out: engine parameters set to 0.
inline constexpr std::string_view kSwarmFeatures[] = {
    "cleaner", "max_age_ms", "pause_writeback_ms", "write_behind",
    "restart_at_flush", "readd_at_flush", "tight_layout"};

struct SwarmChoice {
  bool reads = true;
  bool flushes = true;
  bool discards = true;
  bool fua = true;
  uint32_t fault_ops = faults::kFaultAllOps;  // the IO kinds injected errors may strike
  uint32_t features = (1u << std::size(kSwarmFeatures)) - 1;  // bit i: kSwarmFeatures[i] kept
  bool operator==(const SwarmChoice&) const = default;
};

// Each op kind, fault kind and feature kept with probability 1/2, from the seed's
// streams "swarm", "swarm-faults" and "swarm-features".
SwarmChoice DrawSwarm(uint64_t seed);

// "writes+reads+flushes+discards+fua", the op kinds kept, writes first.
std::string SwarmName(const SwarmChoice& choice);

// What a choice did to one scenario, one name per dimension: `ops` is SwarmName;
// `faults` ("faults: writes+flushes", the kinds the errors strike) only for a scenario
// with IO errors; `features` ("features: all" or "features: without cleaner+...") only
// for a scenario with any of kSwarmFeatures on.
struct SwarmApplied {
  std::string ops;
  std::string faults;
  std::string features;
};

// Removes the ops of the kinds `choice` leaves out, drops FUA flags without fua,
// narrows the IO error kinds and turns features off, and adds a comment line saying so.
SwarmApplied ApplySwarm(const SwarmChoice& choice, Scenario& scenario);

}  // namespace powercut::verifier

#endif  // POWERCUT_SCENARIO_SWARM_H_
