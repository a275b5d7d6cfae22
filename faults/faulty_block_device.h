// FaultyBlockDevice: a BlockDevice wrapper that injects the faults of a FaultPlan
// (fault_plan.h) into the IO stream of the device below it.
//
// Fault injection is a wrapper, not a flag inside the device (LevelDB's EnvWrapper,
// FoundationDB's AsyncFileNonDurable): the SimSsd below keeps pristine contents and its
// own durability model, and faults can be layered on or removed without touching it.
// With an empty plan the wrapper forwards every call unchanged, draws nothing from any
// PRNG and adds nothing to the trace, so a run is bit-for-bit the run without it.
//
//   faults::FaultPlan plan;
//   plan.io_error_ppm = 20'000;
//   plan.io_error_ops = faults::kFaultWrite | faults::kFaultFlush;
//   faults::FaultyBlockDevice faulty(world, *ssd, plan);
//   auto linear = linear::LinearMap::Create(faulty, 24, 1024);
//
// Every injected fault is recorded in the world's trace (actor = the device's name; op
// fault.ioerror / fault.lse / fault.misdirect / fault.lyingflush / fault.fuadropped; id =
// the IO's ordinal) and counted (counts()); a latent sector repaired by a rewrite is
// recorded as fault.lse.healed.
//
// Completions follow block_device.h: an IO the wrapper fails or acknowledges without
// forwarding completes plan.fault_latency later, from the world's event queue, never
// inside Submit*. A malformed request (bad range or buffer) is forwarded untouched, so
// the device below rejects it inline as block_device.h allows; it counts as an IO
// ordinal but is never faulted.
//
// Ownership and threading: does not own `wrapped`; the World's thread only. The World,
// the wrapped device and the wrapper must outlive every IO submitted through the wrapper (or
// the world must be halted first).
#ifndef POWERCUT_FAULTS_FAULTY_BLOCK_DEVICE_H_
#define POWERCUT_FAULTS_FAULTY_BLOCK_DEVICE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "faults/fault_plan.h"
#include "sim/prng.h"
#include "sim/world.h"

namespace powercut::faults {

// How many faults a wrapper injected, by kind.
struct FaultCounts {
  uint64_t io_errors = 0;         // IOs completed with an injected error
  uint64_t io_errors_landed = 0;  // ... of which the write/discard/flush reached the device
  uint64_t latent_sector_errors = 0;  // reads failed on a latent sector
  uint64_t latent_sectors_cleared = 0;  // latent sectors healed by a successful write
  uint64_t misdirected_writes = 0;
  uint64_t lying_flushes = 0;  // flushes acknowledged and PREFLUSHes stripped unperformed
  uint64_t fua_dropped = 0;

  // Injected faults of every kind (healing is not a fault).
  uint64_t total() const {
    return io_errors + latent_sector_errors + misdirected_writes + lying_flushes + fua_dropped;
  }
  FaultCounts& operator+=(const FaultCounts& other);
  bool operator==(const FaultCounts&) const = default;
};

class FaultyBlockDevice : public io::BlockDeviceWrapper {
 public:
  // REQUIRES: Validate(plan, wrapped.sector_count()).ok(); an invalid plan aborts the
  // process with the validation message (use Create() to get it as a Status).
  FaultyBlockDevice(sim::World& world, io::BlockDevice& wrapped, FaultPlan plan);

  // Validates the plan against the wrapped device first.
  static absl::StatusOr<std::unique_ptr<FaultyBlockDevice>> Create(sim::World& world,
                                                                   io::BlockDevice& wrapped,
                                                                   FaultPlan plan);

  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;
  // The wrapped device's, plus the latent sectors (reads there fail, not zeroes).
  std::vector<io::SectorRange> DataRanges(uint64_t first, uint64_t count) const override;

  // A disarmed wrapper forwards every call unchanged, counts nothing and draws nothing,
  // as if it were not there; ordinals count from the last arming. Armed from
  // construction; a stack disarms it while its engine starts, when faults in the start
  // are not what a scenario tests.
  void set_armed(bool armed) { armed_ = armed; }

  const FaultPlan& plan() const { return plan_; }
  const FaultCounts& counts() const { return counts_; }
  // Latent sectors not yet healed by a write.
  const absl::btree_set<uint64_t>& latent_sectors() const { return latent_; }
  // IOs and writes submitted so far (the ordinals of the last ones).
  uint64_t ios_submitted() const { return ios_; }
  uint64_t writes_submitted() const { return writes_; }

 private:
  // Decides whether IO `ordinal` of kind `op` fails (listed, or drawn at the rate).
  bool IoErrorDue(uint64_t ordinal, FaultOps op);
  // Counts and records an injected IO error; for an IO that `may_land`, draws whether
  // it reaches the device anyway and returns that.
  bool InjectIoError(uint64_t ordinal, std::string_view what, uint64_t sector,
                     uint64_t sectors, bool may_land);
  absl::Status IoError(uint64_t ordinal, std::string_view what) const;
  // Completes `done` with `status` fault_latency from now.
  void CompleteLater(io::IoCallback done, absl::Status status);
  std::optional<uint64_t> FirstLatent(uint64_t sector, uint64_t sectors) const;
  void Heal(uint64_t sector, uint64_t sectors);
  uint64_t MisdirectedSector(uint64_t sector, uint64_t sectors) const;
  // Forwards a write or discard; heals latent sectors it covers when it succeeds, or
  // reports `injected` instead of the device's status when that is set.
  void ForwardWrite(uint64_t sector, uint64_t sectors, std::span<const std::byte> data,
                    uint32_t flags, bool discard, std::optional<absl::Status> injected,
                    io::IoCallback done);

  sim::World& world_;
  FaultPlan plan_;
  sim::Prng prng_;
  absl::btree_set<uint64_t> latent_;
  FaultCounts counts_;
  uint64_t ios_ = 0;
  uint64_t writes_ = 0;
  bool armed_ = true;
};

}  // namespace powercut::faults

#endif  // POWERCUT_FAULTS_FAULTY_BLOCK_DEVICE_H_
