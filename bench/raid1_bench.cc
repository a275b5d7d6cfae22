// RAID1 benchmarks: the simulated mirror set's write path, and loading a large bitmap.
//
//   - BM_Raid1Write: 4 KiB writes through a Raid1Array of two SimSsd mirrors (volatile
//     caches on, internal bitmap, 64 KiB chunks) in a sim::World on one core, 32 kept in
//     flight by completion callbacks, a flush after every 64th; writes cycle over 16 MiB.
//     Every write runs the whole md path: serialization, startwrite, unplug (a bitmap
//     page write to both members when the chunk's bit is newly set), both mirror
//     writes, endwrite. items_per_second counts acknowledged writes.
//     Target: >= 200,000 writes/s.
//   - BM_Raid1BitmapLoadAndPlan: WriteIntentBitmap::Load of a 1,000,000-chunk bitmap
//     image (one chunk in 64 set, as after an unclean shutdown) and ResyncPlan() over it.
//     Target: < 50 ms.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "absl/status/status.h"
#include "engine/raid1/raid1.h"
#include "engine/raid1/write_intent_bitmap.h"
#include "engine/runtime/sync.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::bench {
namespace {

constexpr uint64_t kWriteSectors = 8;  // 4 KiB
constexpr uint64_t kArraySectors = uint64_t{16} << 11;  // 16 MiB
constexpr uint64_t kQueueDepth = 32;
constexpr uint64_t kFlushEvery = 64;
constexpr uint64_t kWritesPerIteration = 4096;

void Check(const absl::Status& status) {
  if (!status.ok()) throw std::runtime_error(status.ToString());
}

template <typename T>
T Value(absl::StatusOr<T> value) {
  Check(value.status());
  return std::move(*value);
}

std::span<const std::byte> Payload() {
  static const std::array<std::byte, kWriteSectors * io::kSectorSize> payload = [] {
    std::array<std::byte, kWriteSectors * io::kSectorSize> bytes;
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 131 + 7);
    return bytes;
  }();
  return payload;
}

// A created two-way mirror in its world; writes pumped from completion callbacks.
class WriteRig {
 public:
  WriteRig() : world_(/*seed=*/7) {
    for (int i = 0; i < 2; ++i) {
      members_.push_back(Value(sim::SimSsd::Create(
          world_, {.name = i == 0 ? "ssd0" : "ssd1", .sectors = kArraySectors + 2048})));
    }
    array_ = Value(raid1::Raid1Array::Open(world_.scheduler(), {members_[0].get(), members_[1].get()},
                                           {.array_sectors = kArraySectors}));
    absl::Status created;
    world_.scheduler().Spawn("create", [&] { created = array_->Create(); });
    Check(world_.Run());
    Check(created);
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

 private:
  void SubmitOne() {
    --to_submit_;
    ++outstanding_;
    array_->SubmitWrite(next_sector_, Payload(), io::kNoFlags,
                        [this](absl::Status status) { Done(status); });
    next_sector_ = (next_sector_ + kWriteSectors) % kArraySectors;
    if (++since_flush_ == kFlushEvery) {
      since_flush_ = 0;
      ++outstanding_;
      array_->SubmitFlush([this](absl::Status status) { Done(status); });
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
  std::vector<std::unique_ptr<sim::SimSsd>> members_;
  std::unique_ptr<raid1::Raid1Array> array_;
  runtime::Event* finished_ = nullptr;
  uint64_t to_submit_ = 0;
  uint64_t outstanding_ = 0;
  uint64_t since_flush_ = 0;
  uint64_t next_sector_ = 0;
};

void BM_Raid1Write(benchmark::State& state) {
  WriteRig rig;
  for (auto _ : state) rig.Run(kWritesPerIteration);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kWritesPerIteration));
}
BENCHMARK(BM_Raid1Write);

void BM_Raid1BitmapLoadAndPlan(benchmark::State& state) {
  constexpr uint64_t kChunks = 1'000'000;
  constexpr uint32_t kChunkBytes = 4096;
  const raid1::BitmapSuper sb{.uuid = {1, 2, 3},
                              .events = 10,
                              .events_cleared = 9,
                              .sync_size = kChunks * kChunkBytes / io::kSectorSize,
                              .chunksize = kChunkBytes};
  std::vector<std::byte> image = Value(raid1::NewBitmapImage(sb, false));
  const raid1::BitmapGeometry geometry = Value(raid1::BitmapGeometry::For(sb));
  for (uint64_t chunk = 0; chunk < kChunks; chunk += 64) raid1::SetChunkBit(geometry, image, chunk, true);
  const raid1::LoadContext context{.array_uuid = sb.uuid, .array_events = 10, .resync_offset = 0};
  uint64_t planned = 0;
  for (auto _ : state) {
    raid1::WriteIntentBitmap bitmap = Value(raid1::WriteIntentBitmap::Load(image, context, {}));
    const std::vector<raid1::ChunkRange> plan = bitmap.ResyncPlan();
    planned = plan.size();
    benchmark::DoNotOptimize(plan.data());
  }
  if (planned != (kChunks + 63) / 64) throw std::runtime_error("unexpected resync plan");
}
BENCHMARK(BM_Raid1BitmapLoadAndPlan)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace powercut::bench
