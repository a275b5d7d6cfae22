// WakeFifo: the waiters of one synchronisation object (sync.h), first in, first out.
//
// A few waiters are kept inline, so a lock or event that never has more than two
// waiters never allocates (a std::deque allocates on construction, and these objects
// are built per IO). Popped entries are reclaimed when the FIFO empties, or in one
// move once they are the larger part of a long FIFO.
//
// Threading: the Scheduler's thread only (value type).
#ifndef POWERCUT_ENGINE_RUNTIME_WAKE_FIFO_H_
#define POWERCUT_ENGINE_RUNTIME_WAKE_FIFO_H_

#include <algorithm>
#include <cstddef>

#include "absl/container/inlined_vector.h"
#include "engine/runtime/fiber_state.h"

namespace powercut::runtime {

class WakeFifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }

  void push_back(WakeToken token) { items_.push_back(token); }

  // REQUIRES: !empty().
  WakeToken pop_front() {
    const WakeToken token = items_[head_++];
    if (head_ == items_.size()) {
      items_.resize(0);  // keeps any heap storage for the next waiters
      head_ = 0;
    } else if (head_ >= kCompactAfter && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<ptrdiff_t>(head_));
      head_ = 0;
    }
    return token;
  }

  // Removes `token` (one blocking episode) if it is still waiting.
  void Remove(WakeToken token) {
    auto it = std::find(items_.begin() + static_cast<ptrdiff_t>(head_), items_.end(), token);
    if (it != items_.end()) items_.erase(it);
    if (head_ == items_.size()) {
      items_.resize(0);
      head_ = 0;
    }
  }

  // Calls visit(token) for every waiter, oldest first.
  template <typename Visitor>
  void ForEach(Visitor&& visit) const {
    for (size_t i = head_; i < items_.size(); ++i) visit(items_[i]);
  }

  void swap(WakeFifo& other) {
    items_.swap(other.items_);
    std::swap(head_, other.head_);
  }

 private:
  static constexpr size_t kCompactAfter = 32;

  absl::InlinedVector<WakeToken, 2> items_;
  size_t head_ = 0;  // items_[head_] is the oldest waiter
};

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_WAKE_FIFO_H_
