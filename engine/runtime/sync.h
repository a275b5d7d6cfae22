// Fiber synchronisation: WaitQueue, Mutex, Event, WaitGroup.
//
// These replace the kernel's wait queues, mutexes/spinlocks and completions for code
// that runs on the Scheduler. All are FIFO: waiters are woken in arrival order, so a
// run depends only on the scheduler's (seeded) choice of which ready fiber goes next.
//
// Threading: the Scheduler's thread only. Waiting calls only from a fiber; Notify*,
// Set and Done may also be called from reactor callbacks (IO completion handlers).
// Each object keeps a reference to its Scheduler, which must outlive it.
#ifndef POWERCUT_ENGINE_RUNTIME_SYNC_H_
#define POWERCUT_ENGINE_RUNTIME_SYNC_H_

#include <cstdint>
#include <string>

#include "engine/runtime/scheduler.h"
#include "engine/runtime/wake_fifo.h"

namespace powercut::runtime {

// A list of fibers waiting for something; the condition is the caller's to check.
class WaitQueue {
 public:
  WaitQueue(Scheduler& scheduler, std::string name)
      : scheduler_(scheduler), name_(std::move(name)) {}

  // Blocks until notified.
  void Wait();
  // Blocks until notified (true) or until `deadline` (false).
  bool WaitUntil(Nanos deadline);
  // Blocks until `ready()` holds; checks it first and after every wake-up.
  template <typename Predicate>
  void Await(Predicate ready) {
    while (!ready()) Wait();
  }

  void NotifyOne();
  void NotifyAll();
  bool empty() const { return waiters_.empty(); }
  const std::string& name() const { return name_; }

 private:
  Scheduler& scheduler_;
  std::string name_;
  WakeFifo waiters_;
};

// A non-recursive mutual exclusion lock with FIFO hand-off.
class Mutex {
 public:
  Mutex(Scheduler& scheduler, std::string name)
      : scheduler_(scheduler), what_("mutex " + name) {}

  void Lock();
  bool TryLock();
  void Unlock();
  bool held() const { return owner_ != 0; }
  bool HeldByCurrent() const { return owner_ != 0 && owner_ == scheduler_.CurrentId(); }

 private:
  Scheduler& scheduler_;
  uint64_t owner_ = 0;  // fiber id
  WakeFifo queue_;
  std::string what_;  // "mutex NAME", for deadlock reports
};

// RAII lock for Mutex.
class MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) : mutex_(mutex) { mutex_.Lock(); }
  ~MutexLock() { mutex_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mutex_;
};

// A latch that stays set until Reset(), like a kernel completion with complete_all().
class Event {
 public:
  Event(Scheduler& scheduler, std::string name) : waiters_(scheduler, std::move(name)) {}

  void Set();
  void Reset() { set_ = false; }
  bool is_set() const { return set_; }
  void Wait() {
    waiters_.Await([this] { return set_; });
  }

 private:
  bool set_ = false;
  WaitQueue waiters_;
};

// Counts outstanding work (e.g. IOs in flight); Wait() blocks until the count is zero.
class WaitGroup {
 public:
  WaitGroup(Scheduler& scheduler, std::string name) : waiters_(scheduler, std::move(name)) {}

  void Add(uint64_t n = 1) { count_ += n; }
  void Done();
  uint64_t outstanding() const { return count_; }
  void Wait() {
    waiters_.Await([this] { return count_ == 0; });
  }

 private:
  uint64_t count_ = 0;
  WaitQueue waiters_;
};

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_SYNC_H_
