// The write-back cache stack: a WriteCache (dm-writecache) over a simulated origin SSD
// with a volatile cache and, as the cache, either a second such SSD (SSD mode, the
// default) or a simulated persistent memory (pmem mode: params.mode == kPmem). Small
// caches (64 blocks by default) keep writeback, watermarks and writes around the cache
// busy; the cache area may start at a non-zero start_sector.
//
// Crash images: disks[0] is the origin; SSD mode: disks[1] is the cache device; pmem
// mode: pmems[0] is the persistent memory.
//
// Durability contract the oracle checks (see engine/writecache/writecache.h): writes
// acknowledged before an acknowledged flush survive. SSD-mode FUA promises nothing (the
// kernel's behaviour: the data block is written with FUA but its entry is only in RAM
// until the next commit), so oracle_options().fua_is_durable is false in SSD mode; a
// pmem-mode FUA write commits before it is acknowledged, so it is true in pmem mode.
//
// With check_invariants (the default), every crash check also checks the cache's
// invariants (writecache_invariants.h): the IO stream of the run before the power cut
// (E1, E2, E5/W2, monotonic seq_count; in pmem mode on the stores, against what the
// fences made durable), each crash image before recovery (E1), and the
// image recovery leaves (one committed entry per sector, free + used == n_blocks, the
// engine's free count), and that the engine never enters its error state, before or
// after the power cut (the devices here never fail, so an error is the engine's own:
// e.g. recovery finding two committed entries of one sector with equal seq_count).
// The stack reports them through its check hooks (harness/stack.h): CheckRun for the
// run, CheckCrashImage for each image, CheckStarted after a start or recovery.
#ifndef POWERCUT_BINDINGS_WRITECACHE_WRITECACHE_BINDING_H_
#define POWERCUT_BINDINGS_WRITECACHE_WRITECACHE_BINDING_H_

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "bindings/engine_registry.h"
#include "engine/writecache/params.h"
#include "faults/fault_plan.h"
#include "harness/stack.h"
#include "sim/prng.h"
#include "sim/sim_ssd.h"

namespace powercut::verifier {

struct WriteCacheStackOptions {
  uint64_t logical_sectors = 1024;  // the origin, i.e. the logical device
  uint64_t cache_blocks = 64;       // the cache device holds exactly this many blocks
  // Table parameters (block_size, start_sector, watermarks, autocommit, ...). The
  // device names are the stack's own.
  writecache::Params params;  // params.mode picks the cache: an SSD or persistent memory
  sim::SimSsdOptions ssd;  // latencies and volatile cache of both SSDs (pmem: the origin)
  bool check_invariants = true;
  // The first stack of a crash check starts on an already formatted cache device. A
  // power cut in the middle of formatting leaves a device the kernel (and the engine)
  // refuses (magic zero, version one) until it is wiped: a setup failure, not a
  // durability one, covered by the engine's own tests. With false, the engine formats
  // a blank device inside the run.
  bool preformat = true;
  // With preformat: the cache starts aged, its first `prefill_blocks` entries committed
  // (seq 0, superblock seq 1) for the blocks just past the end of the origin, holding
  // data stamped for those sectors. Writes then allocate from entry prefill_blocks on
  // (beyond the 252 entries the superblock's 4 KiB block carries, for prefill 252), and
  // writeback drops the prefilled blocks (the origin ends before them, as after the
  // origin shrank). The workload and the oracle never see those sectors.
  uint64_t prefill_blocks = 0;
  // SSD mode: IO faults on one device before the power cut (never in a stack rebuilt from
  // a crash image), between the engine and the device (and its checker, which so sees
  // only the IO that reached the device). `fault_device` 1: the cache, 2: the origin.
  std::optional<faults::FaultPlan> faults;
  uint32_t fault_device = 0;
};

// Sectors of the cache device for `options` (start_sector + metadata + blocks).
uint64_t WriteCacheCacheSectors(const WriteCacheStackOptions& options);

// What the stack promises the oracle in `mode` (the durability contract above); with
// `faults` (IO errors injected), a failed or unfinished write leaves its sectors undefined.
OracleOptions WriteCacheOracleOptions(writecache::Mode mode, bool faults = false);

// One line: origin and cache sizes, the table line, the prefill and the SSD settings.
std::string ToString(const WriteCacheStackOptions& options);

StackFactory WriteCacheStackFactory(WriteCacheStackOptions options);

// The control operations the cache's stack takes (Stack::Control): the messages of
// `dmsetup message` and "suspend" (suspend, then resume: the metadata is re-read).
inline constexpr std::array<const char*, 5> kWriteCacheControls = {
    "flush", "flush_on_suspend", "cleaner", "clear_stats", "suspend"};
// OK for one of kWriteCacheControls, else InvalidArgument listing them.
absl::Status CheckWriteCacheControl(absl::string_view command);

// Options drawn from `prng` for a `logical_sectors` origin: block sizes from 512 to 4096
// bytes, small caches (one block to 64, sometimes an aged cache of ~300 with 252
// prefilled), watermarks anywhere,
// frequent autocommits, short pauses and max_age, sometimes the cleaner, sometimes
// slow devices (wider race windows) or a power-loss-protected SSD.
WriteCacheStackOptions DrawWriteCacheOptions(sim::Prng& prng, uint64_t logical_sectors);

// Options drawn like DrawWriteCacheOptions, in pmem mode: the same sizes, watermarks,
// max_age and cleaner; autocommit_blocks drawn or the pmem default (64); writeback with
// FUA (the default) or nofua.
WriteCacheStackOptions DrawPmemOptions(sim::Prng& prng, uint64_t logical_sectors);

// The drain configuration: a tiny cache (one or three blocks) in front of a 64-sector
// origin, written back all at once after a short pause, over slow writes: every entry
// is often under writeback while clients overwrite and flush.
WriteCacheStackOptions DrawDrainOptions(sim::Prng& prng);

// Every scenario parameter's effective value for `options` (the SSD settings go in the
// scenario's own `ssd`): what a family that draws typed options writes in its scenario.
ParamList WriteCacheParams(const WriteCacheStackOptions& options);

// The registry entry of engine "writecache" (bindings/engine_registry.h).
const EngineEntry& WriteCacheEngine();

}  // namespace powercut::verifier

#endif  // POWERCUT_BINDINGS_WRITECACHE_WRITECACHE_BINDING_H_
