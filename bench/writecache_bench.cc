// Write-back cache benchmarks (engine/writecache, SSD mode, in the simulator, one core).
//
//   - BM_WriteCacheWrite: 4 KiB writes through the cache, 32 kept in flight by
//     completion callbacks, a flush (commit) after every 64th write. A 16,384-block
//     cache over a 64 MiB origin; the writes cycle over the first 16 MiB, so after the
//     first lap they overwrite committed blocks in place and writeback never starts.
//     items_per_second counts acknowledged writes. Target: >= 300,000 writes/s.
//   - BM_WriteCacheRecovery: Create() + Start() of a 4 GiB cache (1,048,576 blocks of
//     4 KiB) holding 1,000,000 committed entries, built directly with the format code
//     into a sim device: Start reads the 16 MiB metadata area and rebuilds the index
//     (recovery). scattered:1 maps entry i to a pseudo-random block (every tree lookup
//     and insert misses the cache), scattered:0 to block i (a cache filled by one
//     sequential write). Device set-up and teardown are untimed. Target: < 150 ms.
//   - BM_WriteCacheCrashCheckCycle: one RunCrashCheck (harness/crash_check.h) of a
//     64-block cache over a 1024-sector origin with a fixed 200-op, 3-client workload:
//     run to a seeded power cut, one crash image, recovery with the invariant checks,
//     read back and judge every sector. A new seed per cycle. items_per_second counts
//     cycles. Target: >= 2,000 cycles/s.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/runtime/sync.h"
#include "engine/writecache/format.h"
#include "engine/writecache/writecache.h"
#include "harness/crash_check.h"
#include "harness/workload.h"
#include "bindings/writecache/writecache_binding.h"
#include "sim/disk_image.h"
#include "sim/prng.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::bench {
namespace {

constexpr uint32_t kBlockSize = 4096;
constexpr uint64_t kBlockSectors = kBlockSize / io::kSectorSize;

void Check(const absl::Status& status) {
  if (!status.ok()) throw std::runtime_error(status.ToString());
}

template <typename T>
T Value(absl::StatusOr<T> value) {
  Check(value.status());
  return std::move(*value);
}

uint64_t CacheDeviceSectors(uint64_t blocks) {
  return (writecache::MetadataBytes(blocks, kBlockSize) + blocks * kBlockSize) / io::kSectorSize;
}

// --- Simulated write throughput --------------------------------------------------------

constexpr uint64_t kWriteCacheBlocks = 16384;
constexpr uint64_t kWriteRegionBlocks = 4096;
constexpr uint64_t kQueueDepth = 32;
constexpr uint64_t kFlushEvery = 64;

std::span<const std::byte> Payload() {
  static const std::array<std::byte, kBlockSize> payload = [] {
    std::array<std::byte, kBlockSize> bytes;
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 131 + 7);
    return bytes;
  }();
  return payload;
}

// A started cache in its world; writes pumped from completion callbacks.
class WriteRig {
 public:
  WriteRig() : world_(/*seed=*/7) {
    origin_ = Value(sim::SimSsd::Create(world_, {.name = "origin", .sectors = 64 << 11}));
    cache_ = Value(sim::SimSsd::Create(
        world_, {.name = "cache", .sectors = CacheDeviceSectors(kWriteCacheBlocks)}));
    engine_ = Value(writecache::WriteCache::Create(world_.scheduler(), *origin_, *cache_,
                                                   Value(writecache::ParseTable("s origin cache 4096 0"))));
    absl::Status started;
    world_.scheduler().Spawn("start", [&] { started = engine_->Start(); });
    Check(world_.Run());
    Check(started);
  }
  ~WriteRig() { world_.Halt(); }

  // Submits and completes `writes` more writes and their flushes.
  void Run(uint64_t writes) {
    to_submit_ = writes;
    runtime::Event finished(world_.scheduler(), "pump finished");
    finished_ = &finished;
    world_.scheduler().Spawn("pump", [this] {
      for (uint64_t i = 0; i < kQueueDepth && to_submit_ > 0; ++i) SubmitOne();
      finished_->Wait();
    });
    Check(world_.Run());
    finished_ = nullptr;
  }

  const writecache::WriteCache& engine() const { return *engine_; }

 private:
  void SubmitOne() {
    --to_submit_;
    ++outstanding_;
    engine_->SubmitWrite(next_block_ * kBlockSectors, Payload(), io::kNoFlags,
                         [this](absl::Status status) { Done(status); });
    next_block_ = (next_block_ + 1) % kWriteRegionBlocks;
    if (++since_flush_ == kFlushEvery) {
      since_flush_ = 0;
      ++outstanding_;
      engine_->SubmitFlush([this](absl::Status status) { Done(status); });
    }
  }

  void Done(const absl::Status& status) {
    Check(status);
    --outstanding_;
    if (to_submit_ > 0) {
      SubmitOne();
    } else if (outstanding_ == 0) {
      finished_->Set();
    }
  }

  sim::World world_;
  std::unique_ptr<sim::SimSsd> origin_;
  std::unique_ptr<sim::SimSsd> cache_;
  std::unique_ptr<writecache::WriteCache> engine_;
  runtime::Event* finished_ = nullptr;
  uint64_t to_submit_ = 0;
  uint64_t outstanding_ = 0;
  uint64_t since_flush_ = 0;
  uint64_t next_block_ = 0;
};

void BM_WriteCacheWrite(benchmark::State& state) {
  constexpr uint64_t kWritesPerIteration = 1024;
  WriteRig rig;
  for (auto _ : state) rig.Run(kWritesPerIteration);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kWritesPerIteration));
  state.counters["flushes"] = static_cast<double>(rig.engine().stats().flushes);
  state.counters["write_hits_committed"] =
      static_cast<double>(rig.engine().stats().write_hits_committed);
  state.counters["writeback_blocks"] = static_cast<double>(rig.engine().writeback_blocks());
}
BENCHMARK(BM_WriteCacheWrite);

// --- Recovery of a million entries ------------------------------------------------------

constexpr uint64_t kRecoveryBlocks = uint64_t{1} << 20;  // 4 GiB of 4 KiB blocks
constexpr uint64_t kRecoveryEntries = 1'000'000;

// The cache device: superblock seq_count 2, entries 0..999,999 committed (seq 0 or 1)
// for distinct sectors of a 4 GiB origin, in order or scattered (an odd multiplier
// permutes the block numbers), the rest free. Data blocks are not stored: recovery
// never reads them.
sim::DiskImage* BuildMillionEntryImage(bool scattered) {
  const writecache::Geometry geometry = Value(writecache::GeometryFor(kRecoveryBlocks, kBlockSize));
  std::vector<std::byte> metadata = writecache::FormattedMetadata(geometry);
  writecache::StoreU32(metadata, writecache::kMagicOffset, writecache::kMagic);
  writecache::StoreU64(metadata, writecache::kSeqCountOffset, 2);
  for (uint64_t i = 0; i < kRecoveryEntries; ++i) {
    const uint64_t block = scattered ? (i * 2654435761u) & (kRecoveryBlocks - 1) : i;
    writecache::EncodeEntry(
        {block * kBlockSectors, i % 2},
        std::span<std::byte>(metadata).subspan(writecache::Geometry::EntryOffset(i),
                                               writecache::kEntryBytes));
  }
  auto* built = new sim::DiskImage(CacheDeviceSectors(kRecoveryBlocks));
  const std::vector<sim::SectorRef> sectors = sim::SplitIntoSectors(metadata);
  built->PutRun(0, sectors);
  return built;
}

const sim::DiskImage& MillionEntryImage(bool scattered) {
  static sim::DiskImage* const in_order = BuildMillionEntryImage(false);
  static sim::DiskImage* const shuffled = BuildMillionEntryImage(true);
  return scattered ? *shuffled : *in_order;
}

void BM_WriteCacheRecovery(benchmark::State& state) {
  const sim::DiskImage& image = MillionEntryImage(state.range(0) != 0);
  uint64_t free_blocks = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto world = std::make_unique<sim::World>(/*seed=*/3);
    auto origin = Value(sim::SimSsd::Create(*world, {.name = "origin", .sectors = kRecoveryBlocks * kBlockSectors}));
    auto cache = Value(sim::SimSsd::Create(
        *world, {.name = "cache", .sectors = image.sector_count()}, image));
    std::unique_ptr<writecache::WriteCache> engine;
    absl::Status started;
    state.ResumeTiming();
    // high_watermark 100: a full cache does not start writeback inside the timing.
    engine = Value(writecache::WriteCache::Create(
        world->scheduler(), *origin, *cache,
        Value(writecache::ParseTable("s origin cache 4096 2 high_watermark 100"))));
    world->scheduler().Spawn("start", [&] { started = engine->Start(); });
    Check(world->Run());
    state.PauseTiming();
    Check(started);
    free_blocks = engine->free_blocks();
    world->Halt();
    engine.reset();
    cache.reset();
    origin.reset();
    world.reset();
    state.ResumeTiming();
  }
  if (free_blocks != kRecoveryBlocks - kRecoveryEntries) {
    throw std::logic_error(absl::StrCat("recovery kept ", kRecoveryBlocks - free_blocks, " entries"));
  }
  state.counters["entries"] = static_cast<double>(kRecoveryEntries);
  state.counters["free_blocks"] = static_cast<double>(free_blocks);
}
BENCHMARK(BM_WriteCacheRecovery)->ArgName("scattered")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// --- Crash-check cycles -----------------------------------------------------------------

void BM_WriteCacheCrashCheckCycle(benchmark::State& state) {
  verifier::WriteCacheStackOptions options;  // 64 blocks of 4 KiB, 1024-sector origin
  verifier::WorkloadShape shape;
  shape.device_sectors = options.logical_sectors;
  shape.clients = 3;
  shape.max_io_sectors = 32;
  shape.alignment_sectors = kBlockSectors;
  sim::Prng prng(42);
  std::vector<verifier::OpDraw> draws(200);
  for (verifier::OpDraw& draw : draws) {
    draw = {static_cast<uint32_t>(prng.Next()), static_cast<uint32_t>(prng.Next()),
            static_cast<uint32_t>(prng.Next()), static_cast<uint32_t>(prng.Next()),
            static_cast<uint32_t>(prng.Next())};
  }
  const verifier::Workload workload = verifier::MakeWorkload(draws, shape);
  const verifier::StackFactory factory = verifier::WriteCacheStackFactory(options);
  uint64_t seed = 1;
  uint64_t sectors = 0;
  uint64_t mid_run = 0;
  for (auto _ : state) {
    const verifier::CrashCheckResult result =
        verifier::RunCrashCheck(factory, workload, {.seed = seed++, .images = 1});
    if (!result.passed) throw std::logic_error(result.failure.text);
    sectors += result.sectors_checked;
    mid_run += result.crashed_mid_run;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["ops"] = static_cast<double>(workload.ops.size());
  state.counters["sectors_judged_per_cycle"] =
      static_cast<double>(sectors) / static_cast<double>(state.iterations());
  state.counters["crashed_mid_run"] =
      static_cast<double>(mid_run) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_WriteCacheCrashCheckCycle);

}  // namespace
}  // namespace powercut::bench
