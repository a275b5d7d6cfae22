#include "sim/world.h"

#include <algorithm>

namespace powercut::sim {

World::World(uint64_t seed) : World(seed, nullptr) {}

World::World(uint64_t seed, runtime::Reactor& events) : World(seed, &events) {}

World::World(uint64_t seed, runtime::Reactor* real)
    : seed_(seed), real_(real), schedule_prng_(Prng(seed).Fork("schedule")), scheduler_(*this) {
  scheduler_.SetSwitchObserver([this](uint64_t fiber_id, std::string_view name) {
    trace_.RecordRun(Now(), fiber_id, name);
  });
}

World::~World() { Halt(); }

void World::Halt() {
  scheduler_.AbandonAll();
  queue_.clear();
  callbacks_.clear();
  free_slots_.clear();
}

void World::Record(std::string_view actor, std::string_view op, uint64_t id, uint64_t sector,
                   uint64_t sectors, std::string_view flags) {
  trace_.Record(TraceEvent{Now(), actor, op, id, sector, sectors, flags});
}

void World::CallAt(runtime::Nanos when, absl::AnyInvocable<void()> callback) {
  if (real_ != nullptr) return real_->CallAt(when, std::move(callback));
  // The tiebreak orders events due at the same instant; drawing it from the seed makes
  // that order part of what a seed explores.
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(callbacks_.size());
    callbacks_.push_back(std::move(callback));
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    callbacks_[slot] = std::move(callback);
  }
  queue_.push_back(Event{std::max(when, now_), schedule_prng_.Next(), slot});
  std::push_heap(queue_.begin(), queue_.end(), Later);
}

bool World::RunNext() {
  if (real_ != nullptr) return real_->RunNext();
  if (queue_.empty()) return false;
  std::pop_heap(queue_.begin(), queue_.end(), Later);
  const Event event = queue_.back();
  queue_.pop_back();
  // Out of its slot first: the callback may schedule more events.
  absl::AnyInvocable<void()> callback = std::move(callbacks_[event.slot]);
  callbacks_[event.slot] = nullptr;
  free_slots_.push_back(event.slot);
  now_ = event.when;
  callback();
  return true;
}

size_t World::ChooseRunnable(size_t runnable) {
  if (real_ != nullptr) return real_->ChooseRunnable(runnable);
  return static_cast<size_t>(schedule_prng_.Uniform(runnable));
}

}  // namespace powercut::sim
