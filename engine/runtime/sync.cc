#include "engine/runtime/sync.h"

#include "engine/runtime/assertion.h"

namespace powercut::runtime {

void WaitQueue::Wait() {
  WakeToken token = scheduler_.PrepareBlock();
  waiters_.push_back(token);
  scheduler_.Block(token, name_);
}

bool WaitQueue::WaitUntil(Nanos deadline) {
  WakeToken token = scheduler_.PrepareBlock();
  waiters_.push_back(token);
  bool woken = scheduler_.Block(token, name_, deadline);
  if (!woken) waiters_.Remove(token);
  return woken;
}

void WaitQueue::NotifyOne() {
  if (waiters_.empty()) return;
  scheduler_.Wake(waiters_.pop_front());
}

void WaitQueue::NotifyAll() {
  WakeFifo waking;
  waking.swap(waiters_);
  waking.ForEach([&](const WakeToken& token) { scheduler_.Wake(token); });
}

void Mutex::Lock() {
  uint64_t me = scheduler_.CurrentId();
  POWERCUT_ASSERT(owner_ != me, "Mutex::Lock: already held by this fiber");
  if (owner_ == 0) {
    owner_ = me;
    return;
  }
  WakeToken token = scheduler_.PrepareBlock();
  queue_.push_back(token);
  scheduler_.Block(token, what_);
  // Unlock() handed ownership to us before waking us.
}

bool Mutex::TryLock() {
  if (owner_ != 0) return false;
  owner_ = scheduler_.CurrentId();
  return true;
}

void Mutex::Unlock() {
  if (queue_.empty()) {
    owner_ = 0;
    return;
  }
  const WakeToken next = queue_.pop_front();
  owner_ = next.fiber_id;
  scheduler_.Wake(next);
}

void Event::Set() {
  set_ = true;
  waiters_.NotifyAll();
}

void WaitGroup::Done() {
  POWERCUT_ASSERT(count_ != 0, "WaitGroup::Done without Add");
  if (--count_ == 0) waiters_.NotifyAll();
}

}  // namespace powercut::runtime
