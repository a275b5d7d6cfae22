// Swarm testing: a seed may also draw which kinds of operation its workload keeps, so
// that rare mixes get whole seeds (a workload of writes and flushes only, writes
// without FUA, no reads racing the engine's background work, ...) instead of being
// diluted in every seed. `powercut fuzz` applies it by default (`--no-swarm` to turn
// it off); `powercut scenario --swarm` prints the same scenario, and the replay file a
// swarm seed leaves carries the ops it kept and a comment naming the choice.
//
// The choice comes from the seed's own "swarm" stream, so it never changes what the
// family draws: the swarm scenario of seed N is the family's scenario of seed N with
// the ops of the kinds left out removed (and FUA flags dropped when FUA is out).
// Writes are always kept.
#ifndef POWERCUT_SCENARIO_SWARM_H_
#define POWERCUT_SCENARIO_SWARM_H_

#include <cstdint>
#include <string>

#include "scenario/scenario.h"

namespace powercut::verifier {

struct SwarmChoice {
  bool reads = true;
  bool flushes = true;
  bool discards = true;
  bool fua = true;
  bool operator==(const SwarmChoice&) const = default;
};

// Each kind kept with probability 1/2, from Prng(seed).Fork("swarm").
SwarmChoice DrawSwarm(uint64_t seed);

// "writes+reads+flushes+discards+fua", the kinds kept, writes first.
std::string SwarmName(const SwarmChoice& choice);

// Removes the ops of the kinds `choice` leaves out, drops FUA flags without fua, and
// adds a comment line naming the choice.
void ApplySwarm(const SwarmChoice& choice, Scenario& scenario);

}  // namespace powercut::verifier

#endif  // POWERCUT_SCENARIO_SWARM_H_
