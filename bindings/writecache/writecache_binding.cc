// WriteCacheStackFactory: the write-back cache over a simulated origin SSD and a
// simulated cache SSD or persistent memory, with its invariant checks
// (writecache_binding.h), and its scenario parameters.
#include "bindings/writecache/writecache_binding.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/writecache/format.h"
#include "engine/writecache/writecache.h"
#include "faults/faulty_block_device.h"
#include "harness/sector_stamp.h"
#include "invariants/writecache_invariants.h"

namespace powercut::verifier {
namespace {

class WriteCacheStack : public Stack {
 public:
  // `cache` (SSD mode) or `pmem` (pmem mode) is the simulation's view of the cache
  // device; the checker of its mode is set with check_invariants, recording into
  // `trace`.
  WriteCacheStack(runtime::Scheduler& scheduler, WriteCacheStackOptions options,
                  const sim::SimSsd* cache,
                  const sim::SimPmem* pmem, std::unique_ptr<CacheTraceChecker> checker,
                  std::unique_ptr<PmemTraceChecker> pmem_checker,
                  std::unique_ptr<writecache::WriteCache> engine,
                  std::shared_ptr<CacheTraceFindings> trace,
                  std::shared_ptr<const CacheTraceFindings> run_trace, bool recovering,
                  std::unique_ptr<faults::FaultyBlockDevice> faulty = nullptr)
      : scheduler_(scheduler),
        faulty_(std::move(faulty)),
        options_(std::move(options)),
        cache_(cache),
        pmem_(pmem),
        checker_(std::move(checker)),
        pmem_checker_(std::move(pmem_checker)),
        engine_(std::move(engine)),
        trace_(std::move(trace)),
        run_trace_(std::move(run_trace)),
        recovering_(recovering) {}

  io::BlockDevice& logical() override { return *engine_; }

  // Faults strike the run, not the start: a cache the kernel cannot load is no scenario.
  absl::Status Start() override {
    if (faulty_) faulty_->set_armed(false);
    absl::Status started = engine_->Start();
    if (faulty_) faulty_->set_armed(true);
    return started;
  }
  // The dmsetup messages, and "suspend" (dmsetup suspend, then resume: a suspend that
  // reports the cache's error still leaves it suspended, and the operator resumes it).
  absl::Status Control(absl::string_view command) override {
    if (command == "suspend") {
      absl::Status suspended = engine_->Suspend();
      if (suspended.code() == absl::StatusCode::kFailedPrecondition) return suspended;
      absl::Status resumed = engine_->Resume();
      return suspended.ok() ? resumed : suspended;
    }
    absl::Status done = engine_->Message(std::string_view(command.data(), command.size()));
    cleaner_sent_ |= done.ok() && command == "cleaner";
    return done;
  }

  // Every cached block written back (the "flush" message), then suspended.
  absl::Status Settle(runtime::Scheduler&) override {
    if (absl::Status flushed = engine_->Message("flush"); !flushed.ok()) return flushed;
    return engine_->Suspend();
  }

  // E1 on what the crash left on the cache device.
  std::optional<Violation> CheckCrashImage(const CrashImages& images) const override {
    if (!options_.check_invariants) return std::nullopt;
    const uint64_t start = options_.params.StartSector();
    const absl::btree_set<uint64_t>& undefined = run_trace_->failed_blocks;
    auto check = [start, &undefined](const auto& durable) -> std::optional<Violation> {
      absl::StatusOr<writecache::ParsedMetadata> image = ReadCacheMetadata(durable, start);
      if (!image.ok()) return std::nullopt;
      if (auto problem = CheckCommittedData(durable, start, *image, undefined)) {
        return problem->In("writecache crash image: ");
      }
      return std::nullopt;
    };
    return options_.params.mode == writecache::Mode::kPmem
               ? check(std::span<const std::byte>(images.pmems[0]))
               : check(images.disks[1]);
  }

  // The run's IO stream (E1, E2, E5/W2, monotonic seq_count) and the engine's state.
  std::optional<Violation> CheckRun() override {
    if (!options_.check_invariants) return std::nullopt;
    if (!trace_->found.empty()) {
      return trace_->found.front().In("writecache invariant violated before the power cut: ");
    }
    if (engine_->has_error() && (faulty_ == nullptr || faulty_->counts().total() == 0)) {
      return Violation{.text = absl::StrCat(
                           "the engine entered its error state without any device fault: ",
                           engine_->error().ToString())};
    }
    return std::nullopt;
  }

  // After the engine started (recovered): its IO during recovery, one committed entry
  // per sector, the free count.
  std::optional<Violation> CheckStarted() override {
    if (!options_.check_invariants) return std::nullopt;
    if (engine_->has_error()) {
      return Violation{
          .text = absl::StrCat(
              "writecache invariant violated: the engine is in its error state after start: ",
              engine_->error().ToString())};
    }
    if (recovering_ && !trace_->found.empty()) {
      return trace_->found.front().In("writecache invariant violated during recovery: ");
    }
    absl::StatusOr<writecache::ParsedMetadata> after = VisibleMetadata();
    if (!after.ok()) {
      return Violation{.text = absl::StrCat("writecache: unreadable metadata after start: ",
                                            after.status().ToString())};
    }
    if (auto problem = CheckRecovered(*after)) {
      return problem->In("writecache recovery: ");
    }
    if (auto problem = CheckFreeCount(*after)) return problem->In("writecache recovery: ");
    return std::nullopt;
  }

  // Progress (P1, P2; docs/invariants.md "Write-back cache: progress"): after the clients
  // ended, an idle time bounded by the table and the devices' latencies (IdleBound) in
  // which writeback reaches its goal: with the cleaner or max_age, every block written
  // back (P2); else, if the cache stood at or past its high watermark when the clients
  // ended (the engine's count of free blocks and blocks under writeback, what it decides
  // by), more free blocks than the low watermark leaves (P1). Counted on the metadata the
  // cache device holds, the watermarks with the kernel's rounding, not the engine's.
  std::optional<Violation> CheckProgress() override {
    if (!options_.check_invariants || options_.faults) return std::nullopt;
    const uint64_t free_at_end = engine_->free_blocks() + engine_->writeback_blocks();
    const runtime::Nanos idle = IdleBound();
    scheduler_.SleepFor(idle);
    if (engine_->has_error()) return std::nullopt;  // CheckRun reports it
    absl::StatusOr<writecache::ParsedMetadata> metadata = VisibleMetadata();
    if (!metadata.ok()) {
      return Violation{.text = absl::StrCat("writecache: unreadable metadata after the workload: ",
                                            metadata.status().ToString())};
    }
    if (auto problem = CheckFreeCount(*metadata)) return problem->In("writecache, idle: ");
    const uint64_t n = metadata->superblock.n_blocks;
    const uint64_t free = FreeEntries(*metadata);
    const std::string after = absl::StrCat(" after ", idle / runtime::Microseconds(1),
                                           " us idle (the clients ended with ", n - free_at_end,
                                           " of ", n, " blocks in use, ");
    if (options_.params.cleaner || cleaner_sent_ || options_.params.max_age_ms) {
      if (free == n) return std::nullopt;
      return InvariantViolated("P2", ": ", n - free, " of ", n, " blocks still cached", after,
                               options_.params.max_age_ms ? "max_age" : "the cleaner", " on)");
    }
    // The kernel's watermarks in free blocks: n * (100 - percent) / 100, rounded.
    const uint64_t high_free = (n * (100 - options_.params.HighWatermark()) + 50) / 100;
    const uint64_t low_free = (n * (100 - options_.params.LowWatermark()) + 50) / 100;
    if (free_at_end > high_free || free >= std::min(n, low_free + 1)) return std::nullopt;
    return InvariantViolated("P1", ": ", free, " of ", n, " blocks free", after,
                             "the high watermark leaves ", high_free, " free); writeback stops only past ",
                             low_free, " free (low watermark ", options_.params.LowWatermark(), "%)");
  }

  OracleOptions oracle_options() const override {
    return WriteCacheOracleOptions(options_.params.mode, options_.faults.has_value());
  }

 private:
  absl::StatusOr<writecache::ParsedMetadata> VisibleMetadata() const {
    const uint64_t start = options_.params.StartSector();
    return pmem_ ? ReadCacheMetadata(std::span<const std::byte>(pmem_->visible()), start)
                 : ReadCacheMetadata(cache_->visible(), start);
  }
  static uint64_t FreeEntries(const writecache::ParsedMetadata& metadata) {
    uint64_t free = 0;
    for (const writecache::MemoryEntry& e : metadata.entries) {
      free += e.seq_count == writecache::kFreeSeq;
    }
    return free;
  }
  // The engine's free count against the metadata's (at rest: nothing uncommitted).
  std::optional<Violation> CheckFreeCount(const writecache::ParsedMetadata& metadata) const {
    const uint64_t free = FreeEntries(metadata);
    if (free == engine_->free_blocks()) return std::nullopt;
    return Violation{.text = absl::StrCat("the engine counts ", engine_->free_blocks(),
                                          " free blocks, its metadata ", free)};
  }
  // The progress check's idle time: the writeback pause, an autocommit, twice max_age,
  // and for every block and a few more a cache read, an origin write and two flushes at
  // the devices' slowest.
  runtime::Nanos IdleBound() const {
    const sim::SimSsdOptions& ssd = options_.ssd;
    const writecache::Params& p = options_.params;
    const runtime::Nanos per_block =
        ssd.read_latency.max + ssd.write_latency.max + 2 * ssd.flush_latency.max;
    return runtime::Milliseconds(static_cast<int64_t>(p.PauseWritebackMs()) +
                                 p.AutocommitTimeMs() + 2 * int64_t{p.max_age_ms.value_or(0)} + 1) +
           static_cast<int64_t>(options_.cache_blocks + 4) * per_block;
  }

  runtime::Scheduler& scheduler_;
  std::unique_ptr<faults::FaultyBlockDevice> faulty_;  // under the engine: outlives it
  WriteCacheStackOptions options_;
  const sim::SimSsd* cache_;   // SSD mode, with checks
  const sim::SimPmem* pmem_;   // pmem mode, with checks
  std::unique_ptr<CacheTraceChecker> checker_;  // over cache_; null without checks
  std::unique_ptr<PmemTraceChecker> pmem_checker_;  // over pmem_; null without checks
  std::unique_ptr<writecache::WriteCache> engine_;
  std::shared_ptr<CacheTraceFindings> trace_;  // what the checker found on this stack's IO
  std::shared_ptr<const CacheTraceFindings> run_trace_;  // ... on the run's (the crash's)
  bool recovering_;
  bool cleaner_sent_ = false;  // a "cleaner" message took effect
};

constexpr uint32_t kFaultCache = 1;
constexpr uint32_t kFaultOrigin = 2;

absl::Status NeedsSimulation() {
  return absl::FailedPreconditionError(
      "writecache stack: the invariant checkers need simulated devices (check_invariants)");
}

// A cache device holding a freshly formatted, empty cache (as the engine formats it).
sim::DiskImage FormattedCache(const WriteCacheStackOptions& options, uint64_t sectors) {
  const writecache::Geometry geometry =
      *writecache::GeometryFor(options.cache_blocks, options.params.block_size);
  std::vector<std::byte> metadata = writecache::FormattedMetadata(geometry);
  writecache::StoreU32(metadata, writecache::kMagicOffset, writecache::kMagic);
  const uint64_t start = options.params.StartSector();
  const uint64_t bs = geometry.block_sectors();
  sim::DiskImage image(sectors);
  const uint64_t prefill = std::min(options.prefill_blocks, geometry.n_blocks);
  if (prefill > 0) {
    writecache::StoreU64(metadata, writecache::kSeqCountOffset, 1);
    std::vector<std::byte> block(geometry.block_size);
    for (uint64_t i = 0; i < prefill; ++i) {
      const uint64_t sector = options.logical_sectors + i * bs;
      writecache::EncodeEntry(
          writecache::MemoryEntry{sector, 0},
          std::span<std::byte>(metadata).subspan(writecache::Geometry::EntryOffset(i),
                                                 writecache::kEntryBytes));
      StampWrite(/*write_id=*/1, sector, block);
      const std::vector<sim::SectorRef> data = sim::SplitIntoSectors(block);
      for (uint64_t k = 0; k < bs; ++k) image.Put(start + geometry.DataSector(i) + k, data[k]);
    }
  }
  const std::vector<sim::SectorRef> refs = sim::SplitIntoSectors(metadata);
  for (uint64_t i = 0; i < refs.size(); ++i) image.Put(start + i, refs[i]);
  return image;
}

}  // namespace

OracleOptions WriteCacheOracleOptions(writecache::Mode mode, bool faults) {
  return OracleOptions{.fua_is_durable = mode == writecache::Mode::kPmem,
                       .failed_writes_undefined = faults};
}

uint64_t WriteCacheCacheSectors(const WriteCacheStackOptions& options) {
  const uint32_t bs = options.params.block_size;
  return options.params.StartSector() +
         (writecache::MetadataBytes(options.cache_blocks, bs) + options.cache_blocks * bs) /
             io::kSectorSize;
}

std::string ToString(const WriteCacheStackOptions& options) {
  return absl::StrCat("origin ", options.logical_sectors, " sectors, cache ", options.cache_blocks,
                      " blocks (prefill ", options.prefill_blocks, "), table '",
                      writecache::FormatTable(options.params), "', ssd volatile_cache=",
                      options.ssd.volatile_cache ? "on" : "off", " read ",
                      options.ssd.read_latency.min.count(), "-", options.ssd.read_latency.max.count(),
                      "ns write ", options.ssd.write_latency.min.count(), "-",
                      options.ssd.write_latency.max.count(), "ns");
}

absl::Status CheckWriteCacheControl(absl::string_view command) {
  for (const char* known : kWriteCacheControls) {
    if (command == known) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("the write-back cache takes the control operations ",
                                                 absl::StrJoin(kWriteCacheControls, ", "),
                                                 ", not '", command, "'"));
}

StackFactory WriteCacheStackFactory(WriteCacheStackOptions options) {
  // The findings of each run's stack, by the power cuts before it: a stack rebuilt from
  // a crash image judges the image knowing which data writes of the run before failed,
  // and a stack that runs after a cut starts knowing the blocks those left undefined.
  auto runs = std::make_shared<std::vector<std::shared_ptr<CacheTraceFindings>>>();
  return [options, runs](sim::World& world,
                         Devices& devices) -> absl::StatusOr<std::unique_ptr<Stack>> {
    const bool pmem_mode = options.params.mode == writecache::Mode::kPmem;
    const uint64_t cache_sectors = WriteCacheCacheSectors(options);
    // A fresh stack starts on a formatted cache (options.preformat).
    std::optional<sim::DiskImage> formatted;
    if (!devices.recovering() && options.preformat) {
      formatted = FormattedCache(options, cache_sectors);
    }
    absl::StatusOr<Disk> origin = devices.AddDisk(
        {.name = "origin", .sectors = options.logical_sectors, .simulated = options.ssd});
    if (!origin.ok()) return origin.status();
    // The faults of the run, over `device` (options.faults): never after a power cut. On
    // the cache, under the checker, which so sees each IO's status (a failed data write
    // leaves its block undefined).
    std::unique_ptr<faults::FaultyBlockDevice> faulty;
    auto with_faults = [&](io::BlockDevice& device, uint32_t which) -> absl::StatusOr<io::BlockDevice*> {
      if (!options.faults || options.fault_device != which || devices.recovering()) return &device;
      absl::StatusOr<std::unique_ptr<faults::FaultyBlockDevice>> made =
          faults::FaultyBlockDevice::Create(world, device, *options.faults);
      if (!made.ok()) return made.status();
      faulty = std::move(*made);
      return faulty.get();
    };
    absl::StatusOr<io::BlockDevice*> origin_device = with_faults(*origin->device, kFaultOrigin);
    if (!origin_device.ok()) return origin_device.status();
    writecache::Params params = options.params;
    params.origin_name = "origin";
    params.cache_name = "cache";
    // What the checker finds on this stack's IO (the run's, or recovery's rewrite).
    auto trace = std::make_shared<CacheTraceFindings>();
    const uint32_t cuts = devices.power_cuts();
    if (cuts == 0) runs->clear();
    runs->resize(std::max<size_t>(runs->size(), cuts + 1));
    const std::shared_ptr<const CacheTraceFindings> before = cuts > 0 ? (*runs)[cuts - 1] : nullptr;
    if (before != nullptr) trace->failed_blocks = before->failed_blocks;
    (*runs)[cuts] = trace;
    const std::shared_ptr<const CacheTraceFindings> run_trace = before != nullptr ? before : trace;
    if (pmem_mode) {
      std::optional<std::vector<std::byte>> contents;
      if (formatted) {
        contents.emplace(cache_sectors * io::kSectorSize);
        formatted->Read(0, *contents);
      }
      absl::StatusOr<Pmem> pmem = devices.AddPmem({.name = "cache",
                                                    .bytes = cache_sectors * io::kSectorSize,
                                                    .contents = std::move(contents)});
      if (!pmem.ok()) return pmem.status();
      std::unique_ptr<PmemTraceChecker> pmem_checker;
      if (options.check_invariants) {
        if (pmem->simulated == nullptr) return NeedsSimulation();
        pmem_checker =
            std::make_unique<PmemTraceChecker>(*pmem->simulated, options.params.StartSector(), trace);
      }
      io::PersistentMemory& pmem_device =
          pmem_checker ? static_cast<io::PersistentMemory&>(*pmem_checker) : *pmem->device;
      absl::StatusOr<std::unique_ptr<writecache::WriteCache>> engine =
          writecache::WriteCache::Create(world.scheduler(), **origin_device, pmem_device, params);
      if (!engine.ok()) return engine.status();
      return std::unique_ptr<Stack>(new WriteCacheStack(
          world.scheduler(), options, nullptr, pmem->simulated, nullptr, std::move(pmem_checker), std::move(*engine),
          trace, run_trace, devices.recovering()));
    }
    absl::StatusOr<Disk> cache = devices.AddDisk({.name = "cache",
                                                  .sectors = cache_sectors,
                                                  .contents = std::move(formatted),
                                                  .simulated = options.ssd});
    if (!cache.ok()) return cache.status();
    absl::StatusOr<io::BlockDevice*> cache_device = with_faults(*cache->device, kFaultCache);
    if (!cache_device.ok()) return cache_device.status();
    std::unique_ptr<CacheTraceChecker> checker;
    if (options.check_invariants) {
      if (cache->simulated == nullptr) return NeedsSimulation();
      checker = std::make_unique<CacheTraceChecker>(*cache->simulated, **cache_device,
                                                    options.params.StartSector(), trace);
    }
    absl::StatusOr<std::unique_ptr<writecache::WriteCache>> engine = writecache::WriteCache::Create(
        world.scheduler(), **origin_device, checker ? *checker : **cache_device, params);
    if (!engine.ok()) return engine.status();
    return std::unique_ptr<Stack>(new WriteCacheStack(world.scheduler(), options, cache->simulated, nullptr,
                                                      std::move(checker), nullptr,
                                                      std::move(*engine), trace, run_trace,
                                                      devices.recovering(), std::move(faulty)));
  };
}

namespace {

// A page (4096) for 3 draws in 4, else 512, 1024 or 2048 bytes: the block sizes the
// kernel takes below a page (which of them from a stream of its own).
uint32_t DrawBlockSize(sim::Prng& prng) {
  if (prng.Uniform(4) != 0) return 4096;
  return uint32_t{512} << prng.Fork("block-size").Uniform(3);
}

}  // namespace

WriteCacheStackOptions DrawWriteCacheOptions(sim::Prng& prng, uint64_t logical_sectors) {
  WriteCacheStackOptions options;
  options.logical_sectors = logical_sectors;
  writecache::Params& p = options.params;
  p.block_size = DrawBlockSize(prng);
  const uint64_t sizes[] = {1, 2, 4, 8, 16, 32, 64};
  options.cache_blocks = sizes[prng.Uniform(7)];
  p.start_sector = prng.Uniform(3) == 0 ? 0 : 8 * (1 + prng.Uniform(4));
  const uint32_t high = static_cast<uint32_t>(prng.Uniform(101));
  p.high_watermark = high;
  p.low_watermark = static_cast<uint32_t>(prng.Uniform(high + 1));
  p.writeback_jobs = prng.Uniform(2) == 0 ? 0 : static_cast<uint32_t>(1 + prng.Uniform(4));
  if (prng.Uniform(2) != 0) p.autocommit_blocks = static_cast<uint32_t>(1 + prng.Uniform(16));
  p.autocommit_time_ms = prng.Uniform(2) == 0 ? 1000 : static_cast<uint32_t>(1 + prng.Uniform(5));
  p.pause_writeback_ms = prng.Uniform(4) == 0 ? static_cast<uint32_t>(1 + prng.Uniform(3)) : 0;
  if (prng.Uniform(4) == 0) p.max_age_ms = static_cast<uint32_t>(1 + prng.Uniform(10));
  p.cleaner = prng.Uniform(10) == 0;
  options.ssd.volatile_cache = prng.Uniform(8) != 0;
  if (prng.Uniform(6) == 0) {
    // Tiny and drained: every entry is often under writeback at once.
    options.cache_blocks = 1 + prng.Uniform(4);
    p.high_watermark = 50 + static_cast<uint32_t>(prng.Uniform(51));
    p.low_watermark = static_cast<uint32_t>(prng.Uniform(10));
    p.pause_writeback_ms = static_cast<uint32_t>(1 + prng.Uniform(3));
  } else if (prng.Uniform(5) == 0) {
    // Aged and big: new entries land past the superblock's 4 KiB block.
    options.prefill_blocks = 252;
    options.cache_blocks = 256 + prng.Uniform(64);
  }
  if (prng.Uniform(3) == 0) {
    // Slow reads (a read outlives the reuse of its block) or slow writes (a writeback
    // outlives a flush).
    if (options.cache_blocks % 2 == 0) {
      options.ssd.read_latency = {runtime::Microseconds(500), runtime::Milliseconds(3)};
      options.ssd.write_latency = {runtime::Microseconds(10), runtime::Microseconds(100)};
      options.ssd.flush_latency = {runtime::Microseconds(10), runtime::Microseconds(100)};
    } else {
      options.ssd.write_latency = {runtime::Microseconds(20), runtime::Milliseconds(2)};
    }
  }
  return options;
}

WriteCacheStackOptions DrawPmemOptions(sim::Prng& prng, uint64_t logical_sectors) {
  WriteCacheStackOptions options = DrawWriteCacheOptions(prng, logical_sectors);
  writecache::Params& p = options.params;
  p.mode = writecache::Mode::kPmem;
  p.pause_writeback_ms.reset();  // SSD mode only
  // The kernel's pmem default (64) or the drawn value; writeback with FUA or nofua.
  if (prng.Uniform(3) == 0) p.autocommit_blocks.reset();
  if (prng.Uniform(3) == 0) p.fua = prng.Uniform(2) == 0;
  return options;
}

namespace {

using writecache::Mode;

const std::vector<ParamField<WriteCacheStackOptions>>& WriteCacheFields() {
  using Options = WriteCacheStackOptions;
  static const std::vector<ParamField<Options>> fields = {
      {{"logical_sectors", 1024, 8, kMaxLogicalSectors, "size of the origin (the logical device)"},
       [](const Options& o) { return o.logical_sectors; },
       [](Options& o, uint64_t v) { o.logical_sectors = v; }},
      {{"mode", 0, 0, 1, "0: SSD mode, 1: pmem mode (the cache is persistent memory)"},
       [](const Options& o) -> uint64_t { return o.params.mode == Mode::kPmem ? 1 : 0; },
       [](Options& o, uint64_t v) { o.params.mode = v == 1 ? Mode::kPmem : Mode::kSsd; }},
      {{"block_size", 4096, 512, 4096, "cache block size in bytes, a power of two"},
       [](const Options& o) -> uint64_t { return o.params.block_size; },
       [](Options& o, uint64_t v) { o.params.block_size = static_cast<uint32_t>(v); }},
      {{"cache_blocks", 64, 1, uint64_t{1} << 20, "blocks the cache device holds"},
       [](const Options& o) { return o.cache_blocks; },
       [](Options& o, uint64_t v) { o.cache_blocks = v; }},
      {{"start_sector", 8, 0, uint64_t{1} << 30, "where the cache area starts on the cache device"},
       [](const Options& o) -> uint64_t { return o.params.StartSector(); },
       [](Options& o, uint64_t v) { o.params.start_sector = v; }},
      {{"high_watermark", 50, 0, 100, "percent of blocks in use that starts writeback"},
       [](const Options& o) -> uint64_t { return o.params.HighWatermark(); },
       [](Options& o, uint64_t v) { o.params.high_watermark = static_cast<uint32_t>(v); }},
      {{"low_watermark", 45, 0, 100, "percent of blocks in use that stops writeback"},
       [](const Options& o) -> uint64_t { return o.params.LowWatermark(); },
       [](Options& o, uint64_t v) { o.params.low_watermark = static_cast<uint32_t>(v); }},
      {{"writeback_jobs", 0, 0, 0xffffffff, "blocks under writeback at once (0: unlimited)"},
       [](const Options& o) -> uint64_t { return o.params.WritebackJobs(); },
       [](Options& o, uint64_t v) { o.params.writeback_jobs = static_cast<uint32_t>(v); }},
      {{"autocommit_blocks", 0, 0, 0xffffffff,
        "uncommitted blocks that trigger a commit (0: the kernel default, 65536 in SSD mode, "
        "64 in pmem mode)"},
       [](const Options& o) -> uint64_t { return o.params.AutocommitBlocks(); },
       [](Options& o, uint64_t v) {
         if (v != 0) o.params.autocommit_blocks = static_cast<uint32_t>(v);
       }},
      {{"autocommit_time_ms", 1000, 0, 3600000, "time after a write that triggers a commit"},
       [](const Options& o) -> uint64_t { return o.params.AutocommitTimeMs(); },
       [](Options& o, uint64_t v) { o.params.autocommit_time_ms = static_cast<uint32_t>(v); }},
      {{"pause_writeback_ms", 0, 0, 60000,
        "writeback waits this long after a write around the cache (SSD mode; kernel default "
        "3000; 0 here, as simulated runs last milliseconds)"},
       [](const Options& o) -> uint64_t { return o.params.PauseWritebackMs(); },
       [](Options& o, uint64_t v) {
         // pmem mode takes no pause_writeback (not even 0); `mode` is set before.
         if (o.params.mode == Mode::kSsd || v != 0) o.params.pause_writeback_ms = static_cast<uint32_t>(v);
       }},
      {{"max_age_ms", 0, 0, 86400000, "write back blocks older than this (0: off)"},
       [](const Options& o) -> uint64_t { return o.params.max_age_ms.value_or(0); },
       [](Options& o, uint64_t v) {
         if (v != 0) o.params.max_age_ms = static_cast<uint32_t>(v);
       }},
      {{"cleaner", 0, 0, 1, "1: cleaner mode (write everything back, new blocks go around)"},
       [](const Options& o) -> uint64_t { return o.params.cleaner ? 1 : 0; },
       [](Options& o, uint64_t v) { o.params.cleaner = v != 0; }},
      {{"nofua", 0, 0, 1,
        "pmem mode: 1 writes back without FUA and flushes the origin (the kernel's nofua)"},
       [](const Options& o) -> uint64_t { return o.params.fua.has_value() && !*o.params.fua ? 1 : 0; },
       [](Options& o, uint64_t v) {
         if (v != 0) o.params.fua = false;
       }},
      {{"prefill_blocks", 0, 0, uint64_t{1} << 20,
        "entries committed before the run, for blocks past the end of the origin (an aged cache)"},
       [](const Options& o) { return o.prefill_blocks; },
       [](Options& o, uint64_t v) { o.prefill_blocks = v; }},
      {{"fault_device", 0, 0, 2,
        "where the fault plan strikes before the power cut (SSD mode): 1 the cache, 2 the origin"},
       [](const Options& o) -> uint64_t { return o.fault_device; },
       [](Options& o, uint64_t v) { o.fault_device = static_cast<uint32_t>(v); }},
  };
  return fields;
}

// The checks the options must pass beyond each parameter's range.
absl::Status CheckWriteCacheOptions(const WriteCacheStackOptions& options) {
  if (options.prefill_blocks > options.cache_blocks) {
    return absl::InvalidArgumentError(absl::StrCat("prefill_blocks ", options.prefill_blocks,
                                                   " exceeds cache_blocks ", options.cache_blocks));
  }
  if (absl::Status valid = writecache::Validate(options.params); !valid.ok()) return valid;
  const uint64_t bs_sectors = options.params.block_size / io::kSectorSize;
  if (options.logical_sectors % bs_sectors != 0) {
    return absl::InvalidArgumentError(absl::StrCat("logical_sectors ", options.logical_sectors,
                                                   " is not a multiple of the block size"));
  }
  return absl::OkStatus();
}

// Measured peaks (docs/cli.md, "Memory"): pmem mode holds the persistent memory
// densely, about seven copies during the run plus one per crash image; SSD mode keeps
// a few hundred bytes per cache block, and each prefilled block's data about
// three times.
MemoryModel WriteCacheMemory(const WriteCacheStackOptions& options) {
  const uint64_t cache_bytes = WriteCacheCacheSectors(options) * io::kSectorSize;
  MemoryModel memory{.fixed_bytes = 256 * options.cache_blocks +
                                    3 * options.prefill_blocks * options.params.block_size};
  if (options.params.mode == writecache::Mode::kPmem) {
    memory.fixed_bytes += 8 * cache_bytes;
    memory.per_image_bytes = cache_bytes;
  }
  return memory;
}

}  // namespace

ParamList WriteCacheParams(const WriteCacheStackOptions& options) {
  return ParamsFromOptions(WriteCacheFields(), options);
}

const EngineEntry& WriteCacheEngine() {
  static const EngineEntry entry{
      .name = "writecache",
      .summary = "a write-back cache (dm-writecache), SSD or pmem mode",
      .params = ParamTable(WriteCacheFields()),
      .bind = [](const ParamValues& values,
                 const EngineEnvironment& environment) -> absl::StatusOr<BoundEngine> {
        WriteCacheStackOptions options = OptionsFromParams(WriteCacheFields(), values);
        if (environment.faults.has_value() != (options.fault_device != 0)) {
          return absl::InvalidArgumentError(
              "engine 'writecache': a fault plan needs fault_device=1 (the cache) or 2 (the "
              "origin), and fault_device needs a fault plan");
        }
        if (environment.faults && options.params.mode == writecache::Mode::kPmem) {
          return absl::InvalidArgumentError("engine 'writecache': no fault plan in pmem mode");
        }
        options.faults = environment.faults;
        options.ssd = environment.ssd;
        options.check_invariants = environment.simulated;
        if (absl::Status valid = CheckWriteCacheOptions(options); !valid.ok()) return valid;
        const writecache::Params& p = options.params;
        const uint64_t longest_ms = std::max<uint64_t>(
            {p.AutocommitTimeMs(), p.max_age_ms.value_or(0), p.PauseWritebackMs()});
        return BoundEngine{WriteCacheStackFactory(options), options.logical_sectors,
                           runtime::Milliseconds(static_cast<int64_t>(longest_ms)),
                           WriteCacheMemory(options), CheckWriteCacheControl};
      },
  };
  return entry;
}

WriteCacheStackOptions DrawDrainOptions(sim::Prng& prng) {
  WriteCacheStackOptions options;
  options.logical_sectors = 64;
  writecache::Params& p = options.params;
  p.block_size = DrawBlockSize(prng);
  options.cache_blocks = prng.Uniform(2) == 0 ? 1 : 3;
  p.start_sector = 8 * prng.Uniform(3);
  p.high_watermark = 50 + static_cast<uint32_t>(prng.Uniform(51));
  p.low_watermark = static_cast<uint32_t>(prng.Uniform(10));
  p.autocommit_time_ms = prng.Uniform(2) == 0 ? 1000 : static_cast<uint32_t>(1 + prng.Uniform(5));
  p.pause_writeback_ms = static_cast<uint32_t>(prng.Uniform(3));
  options.ssd.write_latency = {runtime::Microseconds(20), runtime::Milliseconds(2)};
  return options;
}

}  // namespace powercut::verifier
