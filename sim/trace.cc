#include "sim/trace.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_format.h"
#include "sim/prng.h"

namespace powercut::sim {
namespace {

constexpr uint64_t kOdd1 = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kOdd2 = 0xc2b2ae3d27d4eb4full;

// A label's bytes, eight at a time (labels are short: one to three multiplies). The
// last word overlaps the one before when the length is not a multiple of eight. Not
// HashLabel (prng.h): its values seed every forked PRNG stream and must never change,
// while this hash only feeds the trace hash, which no file stores.
uint64_t HashText(std::string_view text) {
  const size_t n = text.size();
  uint64_t h = n * kOdd2;
  uint64_t word = 0;
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) word |= uint64_t{static_cast<unsigned char>(text[i])} << (8 * i);
    return (h ^ word) * kOdd1;
  }
  for (size_t i = 0; i + 8 < n; i += 8) {
    std::memcpy(&word, text.data() + i, 8);
    h = (h ^ word) * kOdd1;
  }
  std::memcpy(&word, text.data() + n - 8, 8);
  return (h ^ word) * kOdd1;
}

}  // namespace

// The event's fields are mixed in independent parts; only the last mix depends on the
// running hash, so consecutive events do not wait on each other's whole digest.
void Trace::Record(const TraceEvent& event) {
  const uint64_t when = Mix64(static_cast<uint64_t>(event.time.count()) ^ std::rotl(event.id, 32));
  const uint64_t where = Mix64(event.sector * kOdd1 + event.sectors);
  const uint64_t what = Mix64(HashText(event.actor) ^ std::rotl(HashText(event.op), 21) ^
                              std::rotl(HashText(event.flags), 42));
  hash_ = Mix64(hash_ ^ when ^ std::rotl(where, 17) ^ std::rotl(what, 34)) + kOdd1;
  ++events_;
  if (observer_) observer_(event);
}

void Trace::RecordRun(runtime::Nanos time, uint64_t fiber_id, std::string_view fiber_name) {
  constexpr uint64_t kRun = 0x72756e0000000000ull;  // "run", apart from any Record() mix
  hash_ = Mix64(hash_ ^ Mix64(static_cast<uint64_t>(time.count()) ^ std::rotl(fiber_id, 32)) ^
                kRun) +
          kOdd1;
  ++events_;
  if (observer_) observer_(TraceEvent{time, fiber_name, "run", fiber_id, 0, 0, {}});
}

std::string Trace::Format(const TraceEvent& event) {
  const int64_t ns = event.time.count();
  std::string line = absl::StrFormat("%4d.%06dms %-12s %-12s", ns / 1'000'000, ns % 1'000'000,
                                     std::string(event.actor), std::string(event.op));
  if (event.id != 0) absl::StrAppendFormat(&line, " #%d", event.id);
  if (event.sectors != 0) absl::StrAppendFormat(&line, " sec %d+%d", event.sector, event.sectors);
  if (!event.flags.empty()) absl::StrAppendFormat(&line, " %s", std::string(event.flags));
  return line;
}

}  // namespace powercut::sim
