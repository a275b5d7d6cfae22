// SimSsd: a simulated SSD with a volatile write cache.
//
// Storage is sparse (DiskImage). Two images are kept: `visible` (what reads return:
// every completed write) and `durable` (what survives a power cut for sure: writes
// covered by a completed flush, FUA writes, and every write when the volatile cache is
// off, as on a power-loss-protected device). Everything else is pending and may or may
// not survive; CrashState() describes the choices (ssd_crash_state.h). The durability
// bookkeeping is a VolatileCache (volatile_cache.h), shared with recorders of real IO.
//
// Timing: each IO's latency is drawn from the device's own PRNG stream, uniformly in
// the configured range, so concurrent IOs complete in a seeded, shuffled order.
// Semantics follow engine/io/block_device.h exactly:
//   - Flush covers the writes that completed before it was submitted;
//   - kPreflush: a flush, then the write (the write is not pending before the flush
//     completes);
//   - Discard: behaves as a non-FUA write of zeroes.
// Faults (IO errors, latent sector errors, misdirected writes, lying flushes) are
// wrappers in faults/, not flags here.
//
// Threading: the World's thread only. The World must outlive the device.
#ifndef POWERCUT_SIM_SIM_SSD_H_
#define POWERCUT_SIM_SIM_SSD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "sim/disk_image.h"
#include "sim/ssd_crash_state.h"
#include "sim/volatile_cache.h"
#include "sim/world.h"

namespace powercut::sim {

struct LatencyRange {
  runtime::Nanos min;
  runtime::Nanos max;
};

struct SimSsdOptions {
  std::string name = "ssd";
  uint64_t sectors = uint64_t{1} << 21;  // 1 GiB
  bool volatile_cache = true;
  LatencyRange read_latency{runtime::Microseconds(20), runtime::Microseconds(150)};
  LatencyRange write_latency{runtime::Microseconds(20), runtime::Microseconds(250)};
  LatencyRange flush_latency{runtime::Microseconds(100), runtime::Microseconds(800)};
};

class SimSsd : public io::BlockDevice {
 public:
  // A blank device, or one whose contents (all durable) are `initial`, e.g. a crash
  // image. Fails on zero sectors, inverted latency ranges or an image of another size.
  static absl::StatusOr<std::unique_ptr<SimSsd>> Create(World& world, SimSsdOptions options,
                                                        std::optional<DiskImage> initial = {});

  uint64_t sector_count() const override { return options_.sectors; }
  const std::string& name() const override { return options_.name; }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;
  // The stored extents of what reads return (`visible`).
  std::vector<io::SectorRange> DataRanges(uint64_t first, uint64_t count) const override {
    return visible_.StoredRanges(first, count);
  }

  const DiskImage& durable() const { return cache_.durable(); }
  // Called with (first sector, sector count) each time sectors of durable() change,
  // after they have. One observer at a time (a checker beside the device, not part of
  // it); an empty one removes it. It must not submit IO.
  void SetDurableObserver(absl::AnyInvocable<void(uint64_t, uint64_t)> observer) {
    cache_.SetDurableObserver(std::move(observer));
  }
  const DiskImage& visible() const { return visible_; }
  // What a power cut now could leave behind.
  SsdCrashState CrashState() const;
  // One seeded crash image (CrashState().Sample), recording in the world's trace what
  // it did with each pending write: "crash.kept", "crash.dropped" or "crash.torn"
  // (flags: sectors kept of the live ones, and which: "kept 3/8 (24,26-27)"), id and
  // range of the write.
  DiskImage SampleCrashImage(Prng& prng) const;

  size_t writes_in_flight() const { return slots_.size() - free_slots_.size(); }
  size_t unflushed_writes() const { return cache_.unflushed(); }

 private:
  SimSsd(World& world, SimSsdOptions options, DiskImage initial);

  runtime::Nanos Draw(const LatencyRange& range);
  void StartWrite(uint64_t id, uint64_t sector, uint64_t sectors, SectorRef data, bool fua,
                  std::string_view op, io::IoCallback done);
  void CompleteWrite(uint32_t slot);
  void RunFlush(uint64_t id, std::string_view done_op, absl::AnyInvocable<void()> then);

  World& world_;
  SimSsdOptions options_;
  Prng prng_;
  VolatileCache cache_;  // durable contents, unflushed writes (volatile_cache.h)
  DiskImage visible_;
  struct InFlight {
    PendingWrite write;    // write.id == 0: a free slot
    std::string_view op;   // trace name of the completion
    io::IoCallback done;   // kept here so the completion event's closure stays small
  };
  // Writes in flight, in reused slots (no allocation per write once warm); the
  // completion event names its slot. Submission order is write.id.
  std::vector<InFlight> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_id_ = 1;
};

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_SIM_SSD_H_
