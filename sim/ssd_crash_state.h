// SsdCrashState: everything a simulated SSD might hold after a power cut, and the
// crash images drawn from it.
//
// The model (the block-layer contract, see engine/io/block_device.h): the durable image
// (every flushed or FUA write) always survives. Each pending write (completed but not
// covered by a completed flush, or still in flight) may survive whole, not at all, or
// torn: each of its 512-byte sectors independently. Where several surviving writes
// cover one sector, the one on top is any write not *superseded* by another survivor;
// B supersedes A when B was submitted after A completed (a device never puts older
// data over newer data it already acknowledged, but concurrent writes land in either
// order). A write fully overwritten by a later durable write is no longer pending for
// those sectors.
//
//   - Sample(prng, fates): one seeded crash image (and what it did with each write). The fraction of pending writes kept is
//     itself drawn per crash (none, a quarter, half, three quarters, all), so both
//     "everything lost" and "everything landed" are explored often.
//   - EnumerateTorn: every distinct image of the full model (per-sector choices).
//   - EnumerateWholeWrites: CrashMonkey's model: every subset of pending writes, each
//     kept whole, applied in completion order (in-flight writes last); deduplicated.
//
// Threading: immutable after construction; value type.
#ifndef POWERCUT_SIM_SSD_CRASH_STATE_H_
#define POWERCUT_SIM_SSD_CRASH_STATE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/disk_image.h"
#include "sim/prng.h"

namespace powercut::sim {

inline constexpr uint64_t kStillInFlight = ~0ull;

// One write (or discard) that may or may not survive a power cut.
struct PendingWrite {
  uint64_t id = 0;
  uint64_t sector = 0;
  uint64_t sectors = 0;
  // The written bytes: `sectors` contiguous sectors of one allocation starting here
  // (see SectorRef), or nullptr for a discard (zeroes).
  SectorRef data;
  // Empty, or one flag per sector: set where a later durable write already replaced
  // this write's data, which can then no longer surface.
  std::vector<bool> retired;
  uint64_t submit_seq = 0;
  uint64_t complete_seq = kStillInFlight;
  bool fua = false;

  bool live(uint64_t i) const { return retired.empty() || !retired[i]; }
  // What sector `sector + i` holds if this write lands there (ZeroSector() for a discard).
  SectorRef Piece(uint64_t i) const;
  // Marks the sectors in [first, end) (device sectors, clipped to this write) retired.
  void Retire(uint64_t first, uint64_t end);
  // Stores the live sectors of this write in `image`, one extent per live run.
  void ApplyTo(DiskImage& image) const;
  // Stores sectors [first, end) of this write (device sectors, all live) in `image`.
  void ApplyRange(DiskImage& image, uint64_t first, uint64_t end) const;
};

// What one sampled crash drew for one pending write: how many of its live sectors
// survived the draw (a survivor still lies under any superseding survivor), and whether
// its sectors were drawn one by one (torn).
struct PendingFate {
  const PendingWrite* write = nullptr;
  uint64_t live_sectors = 0;
  uint64_t kept_sectors = 0;
  bool torn = false;
  std::vector<uint64_t> torn_kept;  // torn: the device sectors kept, ascending
};

class SsdCrashState {
 public:
  using Visitor = std::function<void(const DiskImage&)>;
  using FateVisitor = std::function<void(const PendingFate&)>;

  // `pending`: completed writes in completion order, then in-flight ones by submission.
  SsdCrashState(DiskImage durable, std::vector<PendingWrite> pending)
      : durable_(std::move(durable)), pending_(std::move(pending)) {}

  const DiskImage& durable() const { return durable_; }
  const std::vector<PendingWrite>& pending() const { return pending_; }

  // `fates`, if set, sees what the draw did with each pending write, in order. It
  // observes only: the image and the draws are the same with or without it.
  DiskImage Sample(Prng& prng, const FateVisitor& fates = nullptr) const;

  // Number of distinct images under the torn model (saturates at UINT64_MAX).
  uint64_t CountTorn() const;
  // Visits each of them if there are at most `limit`; returns how many were visited, or
  // ResourceExhausted (visiting none) if there are more.
  absl::StatusOr<uint64_t> EnumerateTorn(uint64_t limit, const Visitor& visit) const;
  // Visits each distinct image of the whole-write model; returns their number, or
  // ResourceExhausted if there are more than 20 pending writes (2^20 subsets).
  absl::StatusOr<uint64_t> EnumerateWholeWrites(const Visitor& visit) const;

 private:
  // For each sector, the distinct values it may hold (durable value first).
  std::vector<std::pair<uint64_t, std::vector<SectorRef>>> TornChoices() const;

  DiskImage durable_;
  std::vector<PendingWrite> pending_;
};

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_SSD_CRASH_STATE_H_
