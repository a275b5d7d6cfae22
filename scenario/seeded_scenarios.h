// Seeded scenario families: what a campaign checks for one seed.
//
// A family turns a seed into a complete Scenario (engine parameters, SSD settings,
// workload, and for some families the crash instant), so every seed a campaign or the
// mutation matrix runs is also a replay file: a failure is reproduced by
// `powercut replay` and minimised by `powercut shrink` like any other. The same seed
// always gives the same scenario. In every family, 1 seed in 4 also holds a second
// power cut, and half of those a third, each after a recovery, its read-back and a
// workload of its own (Scenario::later_cuts; drawn from a stream of their own, so the
// seed's other draws do not change). A third of the seeds of the cache and mirror
// families also hold one to three control operations (an operator's commands while IO
// flows: harness/workload.h), likewise from a stream of their own, and a quarter of the
// mirror seeds and of the fault-free cache seeds ask the progress property after the
// first workload (Scenario::check_progress: writeback drains the cache, the bitmap ends
// clean, in bounded virtual time).
//
// Families:
//   linear            the pass-through target over a 2048-sector SSD
//   writecache        dm-writecache in SSD mode, parameters drawn per seed: caches of
//                     one to ~300 blocks (some aged), any watermarks, frequent
//                     autocommit, pauses, max_age, the cleaner, slow devices; IO
//                     aligned to the drawn block size
//   writecache-drain  a one- or three-block cache that writeback keeps emptying while
//                     clients overwrite and flush, the crash anywhere in the run
//   writecache-pmem   dm-writecache in pmem mode (the cache is persistent memory),
//                     parameters drawn as for writecache, FUA writes durable
//   writecache-faults SSD mode, parameters drawn as for writecache, with IO errors
//                     (2,000-102,000 ppm of reads, writes, flushes or all IO) on the cache
//                     or the origin before the power cut
//   raid1             two mirrors with the write-intent bitmap, internal (a copy on
//                     each member) or, for half the seeds, external (a bitmap file on
//                     its own device); for a third of the seeds one of the first
//                     flushes stops the array cleanly and assembles it again
//   raid1-faults      two or three mirrors, bitmap and clean restart drawn as for raid1,
//                     chunk sizes drawn, sometimes slow members
//                     (the daemon clears bits mid-run), IO errors on a member, a member
//                     vanishing (sometimes for good: a degraded assembly), a
//                     write-mostly member with or without write-behind, a tight layout
//                     (data right after the bitmap)
//   raid1-readd       two or three mirrors; at the recovery a member is put back as it
//                     was created (a full re-add) or, with a bitmap file, the file is
//                     (stale: a full resync); sometimes another member vanished before
//                     the power cut (a bitmap-based re-add beside it); for half the
//                     seeds a vanished member comes back at one of the first flushes and
//                     is re-added while the array runs; for a third of the one-cut seeds
//                     with an old member, IO errors strike that member during the
//                     recovery (its re-add, the resync copying to it: faults_at_recovery)
//
// Geometry across the legal range, each from a stream of its own: a quarter of the
// cache seeds take a block size below a page (512, 1024 or 2048 bytes), and 1 mirror
// seed in 8 a bitmap chunk of any power of two from 1 sector to 2^22 (as many chunks
// as the device allows, at most 65,536).
#ifndef POWERCUT_SCENARIO_SEEDED_SCENARIOS_H_
#define POWERCUT_SCENARIO_SEEDED_SCENARIOS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "scenario/scenario.h"
#include "sim/prng.h"

namespace powercut::verifier {

struct ScenarioFamily {
  std::string name;    // e.g. "writecache-drain"
  std::string engine;  // the Scenario::engine it draws, e.g. "writecache"
  std::function<Scenario(uint64_t seed)> draw;
  // Optional: the same draw from a generator (`draw(seed)` being
  // `draw_from(sim::Prng(seed))`), which a guided search builds over its input
  // (sim/entropy_tape.h) so that the input decides every choice the family makes.
  // Without it a guided search decides the seed only.
  std::function<Scenario(const sim::Prng& root)> draw_from;
};

// The scenario `family` draws from `root`: draw_from, else draw(root.seed()).
Scenario DrawScenario(const ScenarioFamily& family, const sim::Prng& root);

// Every family, in the order campaigns run them: the built-in ones, then the registered.
const std::vector<ScenarioFamily>& ScenarioFamilies();

// Adds a family after the others (from one thread, before any lookup). AlreadyExists
// for a name in use, InvalidArgument without a name, engine or draw function, or for an
// engine no one registered (bindings/engine_registry.h: RegisterEngine first).
absl::Status RegisterScenarioFamily(ScenarioFamily family);

// The building block of a family: a scenario of `engine` for `seed` whose workload
// (three clients, up to 60 reads, writes, flushes and discards of up to 32 sectors,
// aligned to `alignment_sectors` when not 0) is drawn from the seed over a logical
// device of `device_sectors`, with later power cuts for 1 seed in 4 (above). The caller sets the engine's parameters
// (Scenario::params) and anything else it draws (SSD settings, faults, the crash).
Scenario SeededScenario(std::string engine, uint64_t seed, uint64_t device_sectors,
                        uint32_t alignment_sectors = 0);

// The family called `name`, or nullptr.
const ScenarioFamily* FindScenarioFamily(const std::string& name);

}  // namespace powercut::verifier

#endif  // POWERCUT_SCENARIO_SEEDED_SCENARIOS_H_
