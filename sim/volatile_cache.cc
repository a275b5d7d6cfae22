#include "sim/volatile_cache.h"

#include <algorithm>
#include <utility>

namespace powercut::sim {

void VolatileCache::Submit(PendingWrite& write) {
  write.submit_seq = ++seq_;
  write.complete_seq = kStillInFlight;
}

uint64_t VolatileCache::Complete(PendingWrite write) {
  write.complete_seq = ++seq_;
  const uint64_t order = write.complete_seq;
  if (write.fua || !volatile_cache_) {
    MakeDurable(write, /*supersede_older=*/true);
  } else {
    unflushed_.push_back(std::move(write));
  }
  return order;
}

void VolatileCache::MakeDurable(const PendingWrite& write, bool supersede_older) {
  write.ApplyTo(durable_);
  if (durable_observer_) durable_observer_(write.sector, write.sectors);
  // Older unflushed data for these sectors can no longer surface: the device never
  // writes back data older than what it has already made durable.
  if (!supersede_older) return;
  const uint64_t end = write.sector + write.sectors;
  for (PendingWrite& older : unflushed_) {
    if (older.complete_seq < write.complete_seq) older.Retire(write.sector, end);
  }
}

void VolatileCache::Flushed(uint64_t point) {
  while (!unflushed_.empty() && unflushed_.front().complete_seq <= point) {
    MakeDurable(unflushed_.front(), /*supersede_older=*/false);  // older ones are durable
    unflushed_.pop_front();
  }
}

SsdCrashState VolatileCache::CrashState(std::vector<PendingWrite> in_flight) const {
  std::vector<PendingWrite> pending(unflushed_.begin(), unflushed_.end());
  std::sort(in_flight.begin(), in_flight.end(),
            [](const PendingWrite& a, const PendingWrite& b) { return a.id < b.id; });
  for (PendingWrite& write : in_flight) pending.push_back(std::move(write));
  return SsdCrashState(durable_, std::move(pending));
}

}  // namespace powercut::sim
