#include "sim/world.h"

#include <algorithm>

namespace powercut::sim {

World::World(uint64_t seed)
    : seed_(seed), schedule_prng_(Prng(seed).Fork("schedule")), scheduler_(*this) {
  scheduler_.SetSwitchObserver([this](uint64_t fiber_id, std::string_view name) {
    trace_.Record(TraceEvent{now_, name, "run", fiber_id, 0, 0, {}});
  });
}

World::~World() { Halt(); }

void World::Halt() {
  scheduler_.AbandonAll();
  queue_.clear();
}

void World::Record(std::string_view actor, std::string_view op, uint64_t id, uint64_t sector,
                   uint64_t sectors, std::string_view flags) {
  trace_.Record(TraceEvent{now_, actor, op, id, sector, sectors, flags});
}

void World::CallAt(runtime::Nanos when, absl::AnyInvocable<void()> callback) {
  // The tiebreak orders events due at the same instant; drawing it from the seed makes
  // that order part of what a seed explores.
  queue_.push_back(Event{std::max(when, now_), schedule_prng_.Next(), std::move(callback)});
  std::push_heap(queue_.begin(), queue_.end(), Later);
}

bool World::RunNext() {
  if (queue_.empty()) return false;
  std::pop_heap(queue_.begin(), queue_.end(), Later);
  Event event = std::move(queue_.back());
  queue_.pop_back();
  now_ = event.when;
  event.callback();
  return true;
}

size_t World::ChooseRunnable(size_t runnable) {
  return static_cast<size_t>(schedule_prng_.Uniform(runnable));
}

}  // namespace powercut::sim
