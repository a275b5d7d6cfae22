// Always-on assertions at an engine's internal boundaries (entry states, free counts,
// bitmap counters): a broken internal promise stops the run and is reported as a typed
// failure with its location, never as an abort and never compiled out.
//
//   POWERCUT_ASSERT(!entries_[e].in_tree, "entry ", e, " on the free list is in the tree");
//
// A failed assertion throws AssertionFailure. It is deliberately not a std::exception,
// so engine code that catches std::exception cannot swallow it; the Scheduler catches
// it (in a fiber or in an event callback), stops the run and returns Aborted from Run(),
// with the failure kept in Scheduler::failed_assertion().
//
// The location is the source path from the repository root (the build maps __FILE__ so,
// see CMakeLists.txt: the same on every machine) and the line.
#ifndef POWERCUT_ENGINE_RUNTIME_ASSERTION_H_
#define POWERCUT_ENGINE_RUNTIME_ASSERTION_H_

#include <string>

#include "absl/strings/str_cat.h"

namespace powercut::runtime {

struct AssertionFailure {
  std::string location;   // "engine/writecache/writecache.cc:262"
  std::string condition;  // the asserted expression, as written
  std::string message;

  std::string Describe() const;  // "assertion failed at LOC: CONDITION (MESSAGE)"
};

namespace internal {
[[noreturn]] void FailAssertion(const char* file, int line, const char* condition,
                                std::string message);
}  // namespace internal

}  // namespace powercut::runtime

#define POWERCUT_ASSERT(condition, ...)                                                  \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      ::powercut::runtime::internal::FailAssertion(__FILE__, __LINE__, #condition,       \
                                                   ::absl::StrCat(__VA_ARGS__));         \
    }                                                                                    \
  } while (false)

#endif  // POWERCUT_ENGINE_RUNTIME_ASSERTION_H_
