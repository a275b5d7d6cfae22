// SimSsd benchmarks: the simulated write path, and crash-image construction.
//
// Write path: 4 KiB (8-sector) writes submitted to and completed by a SimSsd (volatile
// cache on) in a sim::World, on one core. items_per_second counts completed writes;
// each is one submission event and one completion event. Writes cycle over the first
// 64 MiB of the device so the sparse images stay bounded and memory stays flat.
//   - BM_SimSsdWrite_Callbacks/flush_every:0/region_mib:64: 32 writes kept in flight
//     by completion callbacks (which resubmit and never block); one idle driver fiber,
//     no fiber per IO. Without flushes every write stays in the device's unflushed
//     list, so each iteration uses a fresh device for one 64 MiB lap (16,384 writes);
//     setup and teardown are untimed.
//   - BM_SimSsdWrite_Callbacks/flush_every:64/region_mib:64: the same plus a flush
//     submitted after every 64th write, so the unflushed list stays bounded; one
//     long-lived device. region_mib:4 is the same over 4 MiB, small enough to stay in
//     cache: the gap between the two shows how memory-bound the write path is.
//   - BM_SimSsdWrite_IoBatch: one fiber submitting io::IoBatch batches of 32 writes and
//     waiting for each batch; a flush joins every second batch (every 64 writes).
//   Target (issue 2): >= 1,000,000 writes per second, each one submission and one
//   completion event (items_per_second counts writes, not events).
//
// Crash image: a SimSsd holding 10,000 durable sectors and 1,000 completed, unflushed
// 4 KiB writes (half of them over durable data, in batches, so later ones supersede
// earlier ones). Times CrashState().Sample(prng), CrashState() alone and Sample() alone.
//   Target: < 1 ms per image.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "absl/status/status.h"
#include "engine/io/io_batch.h"
#include "engine/runtime/sync.h"
#include "sim/prng.h"
#include "sim/sim_ssd.h"
#include "sim/ssd_crash_state.h"
#include "sim/world.h"

namespace powercut::bench {
namespace {

constexpr uint64_t kWriteSectors = 8;                     // 4 KiB
constexpr uint64_t kRegionSectors = (64ull << 20) / 512;  // writes cycle over 64 MiB
constexpr uint64_t kQueueDepth = 32;

uint64_t MibToSectors(int64_t mib) { return static_cast<uint64_t>(mib) << 20 >> 9; }

void Check(const absl::Status& status) {
  if (!status.ok()) throw std::runtime_error(status.ToString());
}

// One 4 KiB payload, shared by every write (SimSsd copies on submission).
std::span<const std::byte> Payload() {
  static const std::array<std::byte, kWriteSectors * io::kSectorSize> payload = [] {
    std::array<std::byte, kWriteSectors * io::kSectorSize> bytes;
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 131 + 7);
    return bytes;
  }();
  return payload;
}

// A world and one SimSsd with its volatile cache on.
struct Rig {
  explicit Rig(uint64_t seed) : world(seed) {
    auto created = sim::SimSsd::Create(world, sim::SimSsdOptions{.name = "ssd0"});
    Check(created.status());
    ssd = std::move(*created);
  }
  ~Rig() { world.Halt(); }

  sim::World world;
  std::unique_ptr<sim::SimSsd> ssd;
};

// Keeps kQueueDepth writes in flight from completion callbacks, which resubmit (and
// never block); a flush is submitted after every `flush_every`-th write if non-zero.
// The one fiber only waits for the end: there is no fiber per IO.
class WritePump {
 public:
  WritePump(Rig& rig, uint64_t flush_every, uint64_t region_sectors)
      : rig_(rig), flush_every_(flush_every), region_sectors_(region_sectors) {}

  // Submits and completes `writes` more writes (and their flushes).
  void Run(uint64_t writes) {
    runtime::Scheduler& scheduler = rig_.world.scheduler();
    to_submit_ = writes;
    runtime::Event finished(scheduler, "pump finished");
    finished_ = &finished;
    scheduler.Spawn("pump", [this] {
      for (uint64_t i = 0; i < kQueueDepth && to_submit_ > 0; ++i) SubmitOne();
      finished_->Wait();
    });
    Check(rig_.world.Run());
    finished_ = nullptr;
  }

  uint64_t flushes() const { return flushes_; }

 private:
  void SubmitOne() {
    --to_submit_;
    ++outstanding_;
    rig_.ssd->SubmitWrite(next_sector_, Payload(), io::kNoFlags,
                          [this](absl::Status status) { OnDone(std::move(status)); });
    next_sector_ = (next_sector_ + kWriteSectors) % region_sectors_;
    if (flush_every_ != 0 && ++since_flush_ == flush_every_) {
      since_flush_ = 0;
      ++flushes_;
      ++outstanding_;
      rig_.ssd->SubmitFlush([this](absl::Status status) { OnFlushDone(std::move(status)); });
    }
  }

  // A completed write makes room for the next one.
  void OnDone(absl::Status status) {
    Check(status);
    --outstanding_;
    if (to_submit_ > 0) {
      SubmitOne();
    } else if (outstanding_ == 0) {
      finished_->Set();
    }
  }

  void OnFlushDone(absl::Status status) {
    Check(status);
    if (--outstanding_ == 0 && to_submit_ == 0) finished_->Set();
  }

  Rig& rig_;
  const uint64_t flush_every_;
  const uint64_t region_sectors_;
  runtime::Event* finished_ = nullptr;
  uint64_t to_submit_ = 0;
  uint64_t outstanding_ = 0;
  uint64_t since_flush_ = 0;
  uint64_t next_sector_ = 0;
  uint64_t flushes_ = 0;
};

void BM_SimSsdWrite_Callbacks(benchmark::State& state) {
  const uint64_t flush_every = static_cast<uint64_t>(state.range(0));
  const uint64_t region_sectors = MibToSectors(state.range(1));
  // Without flushes the unflushed list grows by a write per write: one lap per device.
  const uint64_t writes_per_iteration =
      flush_every == 0 ? region_sectors / kWriteSectors : 1024;
  std::unique_ptr<Rig> rig;
  std::unique_ptr<WritePump> pump;
  size_t max_unflushed = 0;
  uint64_t trace_events = 0;
  for (auto _ : state) {
    if (flush_every == 0 || rig == nullptr) {
      state.PauseTiming();
      pump.reset();
      rig.reset();
      rig = std::make_unique<Rig>(/*seed=*/7);
      pump = std::make_unique<WritePump>(*rig, flush_every, region_sectors);
      state.ResumeTiming();
    }
    const uint64_t events_before = rig->world.trace().events();
    pump->Run(writes_per_iteration);
    trace_events += rig->world.trace().events() - events_before;
    max_unflushed = std::max(max_unflushed, rig->ssd->unflushed_writes());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(writes_per_iteration));
  state.counters["unflushed_at_end_max"] = static_cast<double>(max_unflushed);
  state.counters["trace_events_per_write"] =
      static_cast<double>(trace_events) /
      static_cast<double>(state.iterations() * static_cast<int64_t>(writes_per_iteration));
  // The timer stopped with the loop: the last device is torn down untimed.
}
BENCHMARK(BM_SimSsdWrite_Callbacks)
    ->ArgNames({"flush_every", "region_mib"})
    ->Args({0, 64})
    ->Args({64, 64})
    ->Args({64, 4});

// The benchmark loop runs inside the submitting fiber: one iteration is one batch of
// kQueueDepth writes, with a flush in every second batch.
void BM_SimSsdWrite_IoBatch(benchmark::State& state) {
  Rig rig(/*seed=*/7);
  runtime::Scheduler& scheduler = rig.world.scheduler();
  size_t max_unflushed = 0;
  scheduler.Spawn("writer", [&] {
    uint64_t sector = 0;
    uint64_t batches = 0;
    io::IoBatch batch(scheduler, "bench");
    for (auto _ : state) {
      for (uint64_t i = 0; i < kQueueDepth; ++i) {
        batch.Write(*rig.ssd, sector, Payload(), io::kNoFlags);
        sector = (sector + kWriteSectors) % kRegionSectors;
      }
      if (++batches % 2 == 0) batch.Flush(*rig.ssd);
      Check(batch.Wait());
      max_unflushed = std::max(max_unflushed, rig.ssd->unflushed_writes());
    }
  });
  Check(rig.world.Run());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kQueueDepth));
  state.counters["unflushed_max"] = static_cast<double>(max_unflushed);
}
BENCHMARK(BM_SimSsdWrite_IoBatch);

// --- Crash image ----------------------------------------------------------------------

constexpr uint64_t kDurableSectors = 10'000;
constexpr uint64_t kUnflushedWrites = 1'000;
constexpr uint64_t kUnflushedBatch = 25;  // writes in flight together

// A device with kDurableSectors durable sectors (sectors [0, 10000)) and
// kUnflushedWrites completed, unflushed 4 KiB writes at seeded 4 KiB-aligned places in
// [0, 20000): about half land over durable data, and overlapping writes from different
// batches supersede each other.
class CrashRig {
 public:
  CrashRig() : rig_(/*seed=*/11) {
    runtime::Scheduler& scheduler = rig_.world.scheduler();
    sim::SimSsd& ssd = *rig_.ssd;
    scheduler.Spawn("setup", [&] {
      std::array<std::byte, kWriteSectors * io::kSectorSize> data{};
      io::IoBatch batch(scheduler, "setup");
      // Each write's bytes are distinct (a sequence number), as a workload's would be.
      // SimSsd copies the bytes on submission, so `data` may be refilled at once.
      uint64_t sequence = 0;
      auto fill = [&] {
        ++sequence;
        for (uint64_t i = 0; i < kWriteSectors; ++i) {
          const uint64_t stamp = sequence << 8 | i;
          std::memcpy(data.data() + i * io::kSectorSize, &stamp, sizeof(stamp));
        }
      };
      auto write = [&](uint64_t sector, uint64_t sectors) {
        fill();
        batch.Write(ssd, sector, std::span(data).first(sectors * io::kSectorSize),
                    io::kNoFlags);
        Check(batch.Wait());
      };
      for (uint64_t s = 0; s < kDurableSectors; s += kWriteSectors) {
        write(s, std::min(kWriteSectors, kDurableSectors - s));
      }
      Check(io::FlushSync(scheduler, ssd));
      sim::Prng places = rig_.world.ForkPrng("bench:places");
      for (uint64_t w = 0; w < kUnflushedWrites; w += kUnflushedBatch) {
        for (uint64_t i = 0; i < kUnflushedBatch; ++i) {
          fill();
          batch.Write(ssd, places.Uniform(2 * kDurableSectors / kWriteSectors) * kWriteSectors,
                      data, io::kNoFlags);
        }
        Check(batch.Wait());
      }
    });
    Check(rig_.world.Run());
    if (ssd.unflushed_writes() != kUnflushedWrites ||
        ssd.durable().stored_sectors() != kDurableSectors) {
      throw std::logic_error("crash rig: unexpected device state");
    }
  }

  const sim::SimSsd& ssd() const { return *rig_.ssd; }

  void Report(benchmark::State& state) const {
    state.counters["pending_writes"] = static_cast<double>(kUnflushedWrites);
    state.counters["durable_sectors"] = static_cast<double>(kDurableSectors);
  }

 private:
  Rig rig_;
};

const CrashRig& SharedCrashRig() {
  static const CrashRig* rig = new CrashRig();  // built once, never torn down
  return *rig;
}

void BM_CrashImage_StateAndSample(benchmark::State& state) {
  const CrashRig& rig = SharedCrashRig();
  sim::Prng prng(3);
  uint64_t image_sectors = 0;
  for (auto _ : state) {
    sim::DiskImage image = rig.ssd().CrashState().Sample(prng);
    image_sectors += image.stored_sectors();
    benchmark::DoNotOptimize(image);
  }
  rig.Report(state);
  state.counters["image_sectors_avg"] =
      static_cast<double>(image_sectors) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_CrashImage_StateAndSample)->Unit(benchmark::kMicrosecond);

void BM_CrashImage_CrashState(benchmark::State& state) {
  const CrashRig& rig = SharedCrashRig();
  for (auto _ : state) {
    sim::SsdCrashState crash = rig.ssd().CrashState();
    benchmark::DoNotOptimize(crash);
  }
  rig.Report(state);
}
BENCHMARK(BM_CrashImage_CrashState)->Unit(benchmark::kMicrosecond);

void BM_CrashImage_Sample(benchmark::State& state) {
  const CrashRig& rig = SharedCrashRig();
  const sim::SsdCrashState crash = rig.ssd().CrashState();
  sim::Prng prng(3);
  for (auto _ : state) {
    sim::DiskImage image = crash.Sample(prng);
    benchmark::DoNotOptimize(image);
  }
  rig.Report(state);
}
BENCHMARK(BM_CrashImage_Sample)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace powercut::bench
