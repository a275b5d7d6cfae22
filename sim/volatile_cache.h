// VolatileCache: what a device with a volatile write cache has made durable so far, and
// what a power cut may still do with the rest: the block-layer durability rules of
// engine/io/block_device.h as a bookkeeping object, fed with a device's IO events.
//
// SimSsd feeds it from its simulated completions; a recorder over a real device
// (faults/recording_device.h) feeds it from real ones, so crash images of a real run
// come from the same model as the simulator's (ssd_crash_state.h).
//
//   VolatileCache cache(initial, /*volatile_cache=*/true);
//   cache.Submit(write);                  // stamps submit order; caller keeps `write`
//   cache.Complete(std::move(write));     // durable (FUA) or unflushed
//   const uint64_t point = cache.FlushPoint();   // at a flush's submission
//   cache.Flushed(point);                 // at its completion
//   SsdCrashState state = cache.CrashState(in_flight);
//
// Rules: a completed FUA write (or every write, without a volatile cache) is durable at
// completion and retires the older unflushed data of its sectors; a flush makes durable
// every write that completed before it was submitted; everything else is pending.
//
// Threading: single-threaded; value-like (no references kept).
#ifndef POWERCUT_SIM_VOLATILE_CACHE_H_
#define POWERCUT_SIM_VOLATILE_CACHE_H_

#include <cstdint>
#include <deque>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "sim/disk_image.h"
#include "sim/ssd_crash_state.h"

namespace powercut::sim {

class VolatileCache {
 public:
  VolatileCache(DiskImage initial, bool volatile_cache)
      : durable_(std::move(initial)), volatile_cache_(volatile_cache) {}

  // A write (data nullptr: a discard) handed to the device now: sets its submit_seq
  // and marks it in flight. The caller keeps it until Complete.
  void Submit(PendingWrite& write);
  // The write completed now: durable at once (FUA, no volatile cache) or unflushed.
  // Returns its completion order (complete_seq).
  uint64_t Complete(PendingWrite write);
  // What a flush submitted now covers; pass it to Flushed when the flush completes.
  uint64_t FlushPoint() const { return seq_; }
  // Makes every unflushed write that completed at or before `point` durable.
  void Flushed(uint64_t point);

  // What a power cut now could leave behind: the unflushed writes, then `in_flight`
  // (each still as submitted, complete_seq kStillInFlight) in submission order.
  SsdCrashState CrashState(std::vector<PendingWrite> in_flight) const;

  const DiskImage& durable() const { return durable_; }
  size_t unflushed() const { return unflushed_.size(); }
  // Called with (first sector, sector count) each time sectors of durable() change,
  // after they have (see SimSsd::SetDurableObserver).
  void SetDurableObserver(absl::AnyInvocable<void(uint64_t, uint64_t)> observer) {
    durable_observer_ = std::move(observer);
  }

 private:
  void MakeDurable(const PendingWrite& write, bool supersede_older);

  DiskImage durable_;
  bool volatile_cache_;
  std::deque<PendingWrite> unflushed_;  // completion order
  uint64_t seq_ = 0;                    // orders submissions and completions
  absl::AnyInvocable<void(uint64_t, uint64_t)> durable_observer_;
};

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_VOLATILE_CACHE_H_
