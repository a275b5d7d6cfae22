#include "sim/sim_pmem.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace powercut::sim {
namespace {

constexpr uint64_t kLine = io::kPmemLineSize;
constexpr uint64_t kUnit = io::kPmemAtomicUnit;
constexpr uint64_t kUnitsPerLine = kLine / kUnit;

void ApplyUnit(std::byte* line, const PmemUnitStore& store) {
  std::byte* unit = line + store.unit * kUnit;
  for (uint64_t b = 0; b < kUnit; ++b) {
    if (store.mask & (1u << b)) unit[b] = store.bytes[b];
  }
}

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return std::numeric_limits<uint64_t>::max();
  }
  return a * b;
}

}  // namespace

// --- PmemCrashState ------------------------------------------------------------------

PmemCrashState::PmemCrashState(std::vector<std::byte> base, std::vector<Line> lines)
    : base_(std::move(base)), lines_(std::move(lines)) {
  if (base_.empty() || base_.size() % kLine != 0) {
    throw std::invalid_argument(
        absl::StrCat("PmemCrashState: base of ", base_.size(),
                     " bytes is not a non-zero multiple of ", kLine));
  }
  const uint64_t line_count = base_.size() / kLine;
  for (size_t i = 0; i < lines_.size(); ++i) {
    const Line& line = lines_[i];
    if (line.index >= line_count || (i > 0 && line.index <= lines_[i - 1].index)) {
      throw std::invalid_argument(absl::StrCat(
          "PmemCrashState: line ", line.index, " out of range or out of order"));
    }
    if (line.guaranteed > line.history.size() ||
        line.history.size() > std::numeric_limits<uint32_t>::max()) {
      throw std::invalid_argument(absl::StrCat("PmemCrashState: line ", line.index,
                                               " guarantees ", line.guaranteed, " of ",
                                               line.history.size(), " stores"));
    }
    for (const PmemUnitStore& store : line.history) {
      if (store.unit >= kUnitsPerLine) {
        throw std::invalid_argument(
            absl::StrCat("PmemCrashState: line ", line.index, " has a store to unit ",
                         store.unit));
      }
    }
  }
}

void PmemCrashState::RenderLine(std::vector<std::byte>& image, size_t i,
                                uint32_t prefix) const {
  const Line& line = lines_[i];
  std::byte* bytes = image.data() + line.index * kLine;
  std::memcpy(bytes, base_.data() + line.index * kLine, kLine);
  for (uint32_t k = 0; k < prefix; ++k) ApplyUnit(bytes, line.history[k]);
}

std::vector<uint32_t> PmemCrashState::SampleChoice(Prng& prng) const {
  // Shapes: 1/8 all minimal (only what was fenced), 1/8 all maximal (everything
  // landed), 1/4 each line at one extreme or the other, 1/2 uniform per line.
  const uint64_t shape = prng.Uniform(8);
  std::vector<uint32_t> choice;
  choice.reserve(lines_.size());
  for (const Line& line : lines_) {
    const auto max = static_cast<uint32_t>(line.history.size());
    uint32_t prefix;
    if (shape == 0) {
      prefix = line.guaranteed;
    } else if (shape == 1) {
      prefix = max;
    } else if (shape < 4) {
      prefix = prng.Chance(1, 2) ? line.guaranteed : max;
    } else {
      prefix = static_cast<uint32_t>(prng.Range(line.guaranteed, max));
    }
    choice.push_back(prefix);
  }
  return choice;
}

std::vector<std::byte> PmemCrashState::Sample(Prng& prng) const {
  return Build(SampleChoice(prng));
}

std::vector<std::byte> PmemCrashState::Build(std::span<const uint32_t> choice) const {
  if (choice.size() != lines_.size()) {
    throw std::invalid_argument(absl::StrCat("PmemCrashState::Build: choice of ",
                                             choice.size(), " prefixes for ",
                                             lines_.size(), " lines"));
  }
  std::vector<std::byte> image = base_;
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (choice[i] < lines_[i].guaranteed || choice[i] > lines_[i].history.size()) {
      throw std::invalid_argument(absl::StrCat(
          "PmemCrashState::Build: prefix ", choice[i], " for line ", lines_[i].index,
          " outside [", lines_[i].guaranteed, ", ", lines_[i].history.size(), "]"));
    }
    RenderLine(image, i, choice[i]);
  }
  return image;
}

uint64_t PmemCrashState::CountStates() const {
  uint64_t count = 1;
  for (const Line& line : lines_) {
    count = SaturatingMul(count, line.history.size() - line.guaranteed + 1);
  }
  return count;
}

absl::StatusOr<uint64_t> PmemCrashState::Enumerate(uint64_t limit, const Visitor& visit) const {
  if (const uint64_t count = CountStates(); count > limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        count, " pmem crash states exceed the enumeration limit of ", limit));
  }
  // An odometer over the lines: each step advances the first line that is not at its
  // maximum and resets the ones before it, re-rendering only the lines that changed.
  std::vector<uint32_t> choice;
  choice.reserve(lines_.size());
  for (const Line& line : lines_) choice.push_back(line.guaranteed);
  std::vector<std::byte> image = Build(choice);
  uint64_t visited = 0;
  while (true) {
    visit(image);
    ++visited;
    size_t i = 0;
    while (i < lines_.size() && choice[i] == lines_[i].history.size()) {
      choice[i] = lines_[i].guaranteed;
      RenderLine(image, i, choice[i]);
      ++i;
    }
    if (i == lines_.size()) return visited;
    ++choice[i];
    ApplyUnit(image.data() + lines_[i].index * kLine, lines_[i].history[choice[i] - 1]);
  }
}

// --- SimPmem -------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<SimPmem>> SimPmem::Create(
    World& world, SimPmemOptions options, std::optional<std::vector<std::byte>> initial) {
  if (options.size == 0 || options.size % kLine != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("pmem '", options.name, "': size ", options.size,
                     " is not a non-zero multiple of the ", kLine, "-byte line"));
  }
  if (options.fence_latency < runtime::Nanos(0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pmem '", options.name, "': negative fence latency ", options.fence_latency.count()));
  }
  if (initial.has_value() && initial->size() != options.size) {
    return absl::InvalidArgumentError(absl::StrCat("pmem '", options.name, "': image of ",
                                                   initial->size(), " bytes for a device of ",
                                                   options.size));
  }
  std::vector<std::byte> contents =
      initial.has_value() ? std::move(*initial) : std::vector<std::byte>(options.size);
  return std::unique_ptr<SimPmem>(new SimPmem(world, std::move(options), std::move(contents)));
}

SimPmem::SimPmem(World& world, SimPmemOptions options, std::vector<std::byte> initial)
    : world_(world), options_(std::move(options)), visible_(initial), durable_(std::move(initial)) {}

void SimPmem::CheckRange(const char* op, uint64_t offset, uint64_t length) const {
  if (offset > options_.size || length > options_.size - offset) {
    throw std::out_of_range(absl::StrCat("pmem '", options_.name, "': ", op, " of ", length,
                                         " bytes at ", offset, " outside [0, ",
                                         options_.size, ")"));
  }
}

void SimPmem::Load(uint64_t offset, std::span<std::byte> out) const {
  CheckRange("load", offset, out.size());
  if (!out.empty()) std::memcpy(out.data(), visible_.data() + offset, out.size());
}

void SimPmem::Append(uint64_t offset, std::span<const std::byte> data) {
  std::memcpy(visible_.data() + offset, data.data(), data.size());
  const uint64_t end = offset + data.size();
  uint64_t pos = offset;
  while (pos < end) {
    const uint64_t unit_start = pos - pos % kUnit;
    const uint64_t unit_end = std::min(unit_start + kUnit, end);
    PmemUnitStore store;
    store.unit = static_cast<uint8_t>((unit_start % kLine) / kUnit);
    for (uint64_t p = pos; p < unit_end; ++p) {
      store.mask = static_cast<uint8_t>(store.mask | (1u << (p - unit_start)));
      store.bytes[p - unit_start] = data[p - offset];
    }
    const uint64_t line = unit_start / kLine;
    std::vector<TimedStore>& history = lines_[line];
    history.push_back(TimedStore{next_seq_++, store});
    if (history.size() > options_.max_line_history) {
      // The line is evicted: its oldest stores reach the media. Folding half at a time
      // keeps this amortised.
      const size_t count = history.size() - options_.max_line_history / 2;
      world_.Record(options_.name, "evict", count, line * kLine, kLine);
      Fold(line, count);
    }
    pos = unit_end;
  }
}

void SimPmem::Fold(uint64_t line, size_t count) {
  auto it = lines_.find(line);
  if (it == lines_.end() || count == 0) return;
  std::vector<TimedStore>& history = it->second;
  std::byte* bytes = durable_.data() + line * kLine;
  for (size_t k = 0; k < count; ++k) ApplyUnit(bytes, history[k].store);
  if (count == history.size()) {
    lines_.erase(it);
  } else {
    history.erase(history.begin(), history.begin() + static_cast<ptrdiff_t>(count));
  }
}

void SimPmem::RequestFlush(uint64_t first_line, uint64_t end_line) {
  // A line with no history has nothing to flush; stores after this point are not
  // covered, which `before_seq` expresses.
  for (auto it = lines_.lower_bound(first_line); it != lines_.end() && it->first < end_line;
       ++it) {
    pending_.push_back(FlushRequest{it->first, next_seq_});
  }
}

void SimPmem::Store(uint64_t offset, std::span<const std::byte> data) {
  CheckRange("store", offset, data.size());
  if (data.empty()) return;
  world_.Record(options_.name, "store", next_op_++, offset, data.size());
  Append(offset, data);
}

void SimPmem::StoreFlushing(uint64_t offset, std::span<const std::byte> data) {
  CheckRange("store", offset, data.size());
  if (data.empty()) return;
  world_.Record(options_.name, "store", next_op_++, offset, data.size(), "flushing");
  Append(offset, data);
  RequestFlush(offset / kLine, (offset + data.size() + kLine - 1) / kLine);
}

void SimPmem::Flush(uint64_t offset, uint64_t length) {
  CheckRange("flush", offset, length);
  if (length == 0) return;
  world_.Record(options_.name, "flush", next_op_++, offset, length);
  RequestFlush(offset / kLine, (offset + length + kLine - 1) / kLine);
}

void SimPmem::Fence() {
  const uint64_t id = next_op_++;
  // The fence covers every flush issued before this call, even if another fence
  // applies some of them first.
  const uint64_t point = applied_flushes_ + pending_.size();
  world_.Record(options_.name, "fence", id);
  if (world_.scheduler().current() != nullptr) {
    // A crash while the fence is in progress promises none of its flushes.
    world_.scheduler().SleepFor(options_.fence_latency);
    world_.Record(options_.name, "fence.done", id);
  }
  ApplyFlushesBefore(point);
}

void SimPmem::ApplyFlushesBefore(uint64_t point) {
  while (applied_flushes_ < point && !pending_.empty()) {
    const FlushRequest request = pending_.front();
    pending_.pop_front();
    ++applied_flushes_;
    auto it = lines_.find(request.line);
    if (it == lines_.end()) continue;
    const std::vector<TimedStore>& history = it->second;
    const auto covered = std::partition_point(
        history.begin(), history.end(),
        [&](const TimedStore& s) { return s.seq < request.before_seq; });
    Fold(request.line, static_cast<size_t>(covered - history.begin()));
  }
}

PmemCrashState SimPmem::CrashState() const {
  // Every durable prefix has been folded into `durable_`, so nothing beyond it is
  // guaranteed: a fence still in progress promises nothing.
  std::vector<PmemCrashState::Line> lines;
  lines.reserve(lines_.size());
  for (const auto& [index, history] : lines_) {
    PmemCrashState::Line line;
    line.index = index;
    line.history.reserve(history.size());
    for (const TimedStore& s : history) line.history.push_back(s.store);
    lines.push_back(std::move(line));
  }
  return PmemCrashState(durable_, std::move(lines));
}

std::vector<std::byte> SimPmem::SampleCrashImage(Prng& prng) const {
  const PmemCrashState state = CrashState();
  const std::vector<uint32_t> choice = state.SampleChoice(prng);
  for (size_t i = 0; i < choice.size(); ++i) {
    const PmemCrashState::Line& line = state.lines()[i];
    if (line.guaranteed == line.history.size()) continue;  // no choice: all fenced
    const std::string flags = absl::StrCat("kept ", choice[i], "/", line.history.size(),
                                           " stores (", line.guaranteed, " fenced)");
    world_.Record(name(), "crash.line", line.index, 0, 0, flags);
  }
  return state.Build(choice);
}

}  // namespace powercut::sim
