#include "sim/trace.h"

#include "absl/strings/str_format.h"
#include "sim/prng.h"

namespace powercut::sim {
namespace {

uint64_t Fold(uint64_t hash, uint64_t value) { return Mix64(hash ^ value) + 0x9e3779b97f4a7c15ull; }

}  // namespace

void Trace::Record(const TraceEvent& event) {
  uint64_t h = Fold(hash_, static_cast<uint64_t>(event.time.count()));
  h = Fold(h, HashLabel(event.actor));
  h = Fold(h, HashLabel(event.op));
  h = Fold(h, event.id);
  h = Fold(h, event.sector);
  h = Fold(h, event.sectors);
  h = Fold(h, HashLabel(event.flags));
  hash_ = h;
  ++events_;
  if (observer_) observer_(event);
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
