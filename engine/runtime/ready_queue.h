// ReadyQueue: the scheduler's queue of ready fibers, oldest first, as a ring buffer
// (a push and a pop are a store, a load and a counter step; no memory moves in the
// common case). Take(i) removes the i-th oldest and keeps the order of the others, which
// is what makes a seeded choice among ready fibers reproducible.
//
// Threading: not thread-safe; one Scheduler's thread.
#ifndef POWERCUT_ENGINE_RUNTIME_READY_QUEUE_H_
#define POWERCUT_ENGINE_RUNTIME_READY_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace powercut::runtime {

struct FiberState;

class ReadyQueue {
 public:
  ReadyQueue() : slots_(kInitialCapacity), mask_(kInitialCapacity - 1) {}

  size_t size() const { return static_cast<size_t>(tail_ - head_); }
  bool empty() const { return tail_ == head_; }

  void Push(FiberState* fiber) {
    if (size() > mask_) Grow();
    slots_[tail_++ & mask_] = fiber;
  }

  // Push(fiber) then Take(0) in one step: the oldest entry, or `fiber` itself when the
  // queue is empty (then it stays empty). Never grows: the slot read is the slot written.
  FiberState* RotateOldest(FiberState* fiber) {
    if (tail_ == head_) return fiber;
    FiberState* oldest = slots_[head_++ & mask_];
    slots_[tail_++ & mask_] = fiber;
    return oldest;
  }

  // Removes and returns the `index`-th oldest entry (index < size()).
  FiberState* Take(size_t index) {
    FiberState* taken = slots_[(head_ + index) & mask_];
    for (uint64_t i = head_ + index; i != head_; --i) slots_[i & mask_] = slots_[(i - 1) & mask_];
    ++head_;
    return taken;
  }

  void Clear() { head_ = tail_ = 0; }

 private:
  static constexpr size_t kInitialCapacity = 16;  // a power of two, as every capacity

  // Doubles the capacity, oldest entry first at slot 0.
  void Grow() {
    std::vector<FiberState*> bigger(2 * slots_.size());
    for (uint64_t i = 0; i < size(); ++i) bigger[i] = slots_[(head_ + i) & mask_];
    tail_ = size();
    head_ = 0;
    slots_.swap(bigger);
    mask_ = slots_.size() - 1;
  }

  std::vector<FiberState*> slots_;
  uint64_t mask_;      // slots_.size() - 1
  uint64_t head_ = 0;  // counters grow forever; slot = counter & mask_
  uint64_t tail_ = 0;
};

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_READY_QUEUE_H_
