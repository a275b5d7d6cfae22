// ManualReactor (tests only): a minimal Reactor with a time-ordered callback queue and
// FIFO choice among ready fibers, so runtime tests need nothing from sim/.
#ifndef POWERCUT_ENGINE_RUNTIME_MANUAL_REACTOR_FOR_TEST_H_
#define POWERCUT_ENGINE_RUNTIME_MANUAL_REACTOR_FOR_TEST_H_

#include <algorithm>
#include <map>
#include <utility>

#include "engine/runtime/reactor.h"

namespace powercut::runtime {

class ManualReactor : public Reactor {
 public:
  Nanos Now() const override { return now_; }
  void CallAt(Nanos when, absl::AnyInvocable<void()> callback) override {
    queue_.emplace(std::make_pair(std::max(when, now_), next_++), std::move(callback));
  }
  bool RunNext() override {
    if (queue_.empty()) return false;
    auto node = queue_.extract(queue_.begin());
    now_ = node.key().first;
    node.mapped()();
    return true;
  }
  size_t ChooseRunnable(size_t runnable) override { return newest_first_ ? runnable - 1 : 0; }

  // When set, the newest ready fiber goes first (to show that the choice matters).
  void set_newest_first(bool on) { newest_first_ = on; }

 private:
  Nanos now_{0};
  uint64_t next_ = 0;
  std::map<std::pair<Nanos, uint64_t>, absl::AnyInvocable<void()>> queue_;
  bool newest_first_ = false;
};

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_MANUAL_REACTOR_FOR_TEST_H_
