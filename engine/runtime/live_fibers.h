// LiveFibers: the scheduler's unfinished fibers, in id order.
//
// Ids grow with every spawn, so a new fiber always goes at the end of one sorted
// vector: no allocation per fiber once the vector has grown, lookups by binary search,
// and iteration in id order (deterministic reports and abandonment order).
//
// Threading: owned and used by one Scheduler's thread.
#ifndef POWERCUT_ENGINE_RUNTIME_LIVE_FIBERS_H_
#define POWERCUT_ENGINE_RUNTIME_LIVE_FIBERS_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "engine/runtime/fiber_state.h"

namespace powercut::runtime {

class LiveFibers {
 public:
  using const_iterator = std::vector<std::shared_ptr<FiberState>>::const_iterator;

  bool empty() const { return fibers_.empty(); }
  size_t size() const { return fibers_.size(); }
  const_iterator begin() const { return fibers_.begin(); }
  const_iterator end() const { return fibers_.end(); }
  const std::shared_ptr<FiberState>& front() const { return fibers_.front(); }

  // REQUIRES: `fiber`'s id is greater than every id added before.
  void Add(std::shared_ptr<FiberState> fiber) {
    if (!fibers_.empty() && fibers_.back()->id >= fiber->id) {
      throw std::logic_error("LiveFibers::Add: ids must grow");
    }
    fibers_.push_back(std::move(fiber));
  }

  // The live fiber with id `id`, or nullptr.
  FiberState* Find(uint64_t id) const {
    auto it = Position(id);
    return it != fibers_.end() && (*it)->id == id ? it->get() : nullptr;
  }

  void Remove(uint64_t id) {
    auto it = Position(id);
    if (it != fibers_.end() && (*it)->id == id) fibers_.erase(it);
  }

 private:
  const_iterator Position(uint64_t id) const {
    return std::lower_bound(fibers_.begin(), fibers_.end(), id,
                            [](const std::shared_ptr<FiberState>& f, uint64_t v) { return f->id < v; });
  }

  std::vector<std::shared_ptr<FiberState>> fibers_;
};

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_LIVE_FIBERS_H_
