// Time as the engine sees it: nanoseconds since the runtime's epoch (the start of a
// simulated world, or the first reading of the monotonic clock on real devices).
// A plain std::chrono duration so arithmetic is exact and identical on every machine.
#ifndef POWERCUT_ENGINE_RUNTIME_TIME_H_
#define POWERCUT_ENGINE_RUNTIME_TIME_H_

#include <chrono>
#include <cstdint>

namespace powercut::runtime {

using Nanos = std::chrono::nanoseconds;

constexpr Nanos Microseconds(int64_t us) { return Nanos(us * 1000); }
constexpr Nanos Milliseconds(int64_t ms) { return Nanos(ms * 1000 * 1000); }
constexpr Nanos Seconds(int64_t s) { return Nanos(s * 1000 * 1000 * 1000); }

}  // namespace powercut::runtime

#endif  // POWERCUT_ENGINE_RUNTIME_TIME_H_
