// Code probes: named rare paths in the engines and the fault model (a write around a
// full cache, a duplicate resolved at recovery, a resync aborted, a torn write in a
// crash image, ...). A campaign counts how often each ran, and its report names the
// probes no seed reached: a path never taken is a path never checked.
//
// POWERCUT_PROBE(kName) increments one counter of a fixed array; nothing else happens,
// and counting never reaches a simulation (a seed runs the same with or without
// anyone reading the counts). The counters are per process and not synchronized:
// engines run on one thread (fibers). Read them with Counts(), around what you measure.
//
// Adding a probe: an Id below, its entry in probe.cc's catalog (same order), and the
// macro at the site.
#ifndef POWERCUT_ENGINE_PROBE_PROBE_H_
#define POWERCUT_ENGINE_PROBE_PROBE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace powercut::probe {

enum class Id : uint16_t {
  // engine/writecache
  kWcWriteAroundFullCache,
  kWcWriterWaitsForFreeBlock,
  kWcDuplicateOfBlockUnderWriteback,
  kWcOverwriteCommittedInPlace,
  kWcDuplicateResolvedAtRecovery,
  kWcAutocommitByTime,
  kWcStickyError,
  // engine/raid1
  kRaid1MemberFailed,
  kRaid1LastMirrorKept,
  kRaid1WriteBehindLimitReached,
  kRaid1ResyncChunkAborted,
  kRaid1FullRecovery,
  kRaid1WriteReachedNoWorkingMirror,
  kRaid1StaleBitmapLoaded,
  // sim/
  kSimTornWriteInCrashImage,
  kCount,
};

inline constexpr size_t kProbes = static_cast<size_t>(Id::kCount);

struct Info {
  Id id;
  std::string_view name;  // as reports print it
  std::string_view what;  // one line
};

// Every probe, in Id order.
std::span<const Info> Catalog();

// Times each probe ran in this process so far, in Id order.
using ProbeCounts = std::array<uint64_t, kProbes>;
ProbeCounts Counts();

namespace internal {
extern uint64_t hits[kProbes];
}  // namespace internal

}  // namespace powercut::probe

#define POWERCUT_PROBE(name) \
  (++::powercut::probe::internal::hits[static_cast<size_t>(::powercut::probe::Id::name)])

#endif  // POWERCUT_ENGINE_PROBE_PROBE_H_
