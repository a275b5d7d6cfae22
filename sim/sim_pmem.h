// SimPmem: simulated persistent memory (pmem / DAX) with per-line crash semantics.
//
// The model (x86 with clwb, after Px86; see engine/io/persistent_memory.h):
//   - Memory is 64-byte lines of 8-byte atomic units. Every store is split into aligned
//     unit stores (a partial unit store changes only its own bytes) and appended, in
//     address order, to the history of the line it falls in.
//   - At a power cut, each line independently holds its durable base plus a *prefix* of
//     its history: a line may be evicted early, so any prefix may persist, but stores
//     to one line persist in program order (never a later unit store without the
//     earlier ones), and a unit is never torn.
//   - Flush(range) (clwb) and StoreFlushing (memcpy_flushcache) mark each touched line
//     as flush-requested up to its history so far; the next Fence() that *returns*
//     makes that prefix durable. Stores after the flush are not covered.
//   - A Fence orders every flush issued before it, from any fiber: fibers stand for
//     tasks that hand work over through locks, and per-CPU store buffers are not
//     modelled. Called from a fiber, Fence sleeps `fence_latency` of virtual time and
//     applies its flushes when it wakes, so a crash can fall inside a fence and then
//     nothing it covers is promised. Called outside a fiber it applies at once.
//   - Once a fence makes a prefix durable it is folded into the base, so memory stays
//     bounded; a line with more than `max_line_history` unflushed unit stores has its
//     oldest ones folded too (a legal early eviction, recorded as "evict").
//
// What is durable when: DurableImage() holds exactly what every crash must keep
// (flushed, then fenced by a returned Fence, or evicted). CrashState() describes every
// image a crash now may leave (PmemCrashState below). A device is rebuilt after a crash
// by Create(world, options, image).
//
// Example:
//   auto pmem = SimPmem::Create(world, {.name = "pmem0", .size = 1 << 20}).value();
//   world.scheduler().Spawn("writer", [&] {
//     pmem->StoreFlushing(0, bytes);
//     pmem->Fence();  // bytes now in every crash image
//   });
//
// Threading: single-threaded; the World's thread only (Fence suspends when called from
// a fiber). The World must outlive the device. Out-of-range accesses are programming
// errors and throw std::out_of_range.
#ifndef POWERCUT_SIM_SIM_PMEM_H_
#define POWERCUT_SIM_SIM_PMEM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "engine/io/persistent_memory.h"
#include "engine/runtime/time.h"
#include "sim/prng.h"
#include "sim/world.h"

namespace powercut::sim {

// One aligned 8-byte unit store inside a line: bit b of `mask` set means byte
// unit * 8 + b of the line takes bytes[b].
struct PmemUnitStore {
  uint8_t unit = 0;  // 0..7 within the line
  uint8_t mask = 0;
  std::array<std::byte, io::kPmemAtomicUnit> bytes{};
};

// PmemCrashState: every image a power cut may leave on a SimPmem.
//
// A crash image is the base with, for each line that has history, a prefix of that
// line's unit stores applied; the prefix length is any value in [guaranteed, history
// size], chosen independently per line. A *choice* is one prefix length per entry of
// lines(), in order; it identifies one crash state (for replay files and shrinking).
//
// Threading: immutable after construction; value type.
class PmemCrashState {
 public:
  struct Line {
    uint64_t index = 0;       // line number (byte offset / 64)
    uint32_t guaranteed = 0;  // prefix length every crash keeps
    std::vector<PmemUnitStore> history;
  };
  using Visitor = std::function<void(const std::vector<std::byte>&)>;

  // `base.size()` is a non-zero multiple of 64; `lines` are sorted by index, in range,
  // with guaranteed <= history.size(). Violations throw std::invalid_argument.
  PmemCrashState(std::vector<std::byte> base, std::vector<Line> lines);

  const std::vector<std::byte>& base() const { return base_; }
  const std::vector<Line>& lines() const { return lines_; }

  // One seeded crash image. The shape of the draw varies per crash: sometimes every
  // line keeps the minimum, sometimes the maximum, sometimes each line flips between
  // the two, otherwise each line's prefix is uniform, so the extremes are explored often.
  std::vector<std::byte> Sample(Prng& prng) const;
  std::vector<uint32_t> SampleChoice(Prng& prng) const;
  // The image of one choice; throws std::invalid_argument on a choice of the wrong
  // size or with a prefix length out of its line's range.
  std::vector<std::byte> Build(std::span<const uint32_t> choice) const;

  // Product over lines of (history size - guaranteed + 1), saturating at UINT64_MAX.
  // Distinct states may yield equal images (e.g. a store of an unchanged value).
  uint64_t CountStates() const;
  // Visits every crash state (mixed radix over the lines, first line fastest) if
  // CountStates() <= limit, and returns how many it visited (always >= 1); otherwise
  // visits nothing and returns ResourceExhausted. The image passed to `visit` is reused.
  absl::StatusOr<uint64_t> Enumerate(uint64_t limit, const Visitor& visit) const;

 private:
  // Rewrites line `i` of `image` as base plus the first `prefix` stores of its history.
  void RenderLine(std::vector<std::byte>& image, size_t i, uint32_t prefix) const;

  std::vector<std::byte> base_;
  std::vector<Line> lines_;
};

struct SimPmemOptions {
  std::string name = "pmem";
  uint64_t size = 0;  // bytes; a non-zero multiple of 64
  runtime::Nanos fence_latency = runtime::Nanos(100);
  // Unit stores a line may hold unflushed before the oldest half is folded into the
  // durable base (an early eviction). 0: every store is durable at once.
  uint32_t max_line_history = 4096;
};

class SimPmem : public io::PersistentMemory {
 public:
  // A zeroed device, or one whose contents (all durable) are `initial`, e.g. a crash
  // image. Fails on a size of 0 or not a multiple of 64, a negative fence latency, or
  // an image of another size.
  static absl::StatusOr<std::unique_ptr<SimPmem>> Create(
      World& world, SimPmemOptions options,
      std::optional<std::vector<std::byte>> initial = std::nullopt);

  SimPmem(const SimPmem&) = delete;
  SimPmem& operator=(const SimPmem&) = delete;

  // io::PersistentMemory
  uint64_t size() const override { return options_.size; }
  const std::string& name() const override { return options_.name; }
  void Load(uint64_t offset, std::span<std::byte> out) const override;
  void Store(uint64_t offset, std::span<const std::byte> data) override;
  void StoreFlushing(uint64_t offset, std::span<const std::byte> data) override;
  void Flush(uint64_t offset, uint64_t length) override;
  void Fence() override;

  // What loads return: every store so far.
  const std::vector<std::byte>& visible() const { return visible_; }
  // What every crash keeps.
  std::vector<std::byte> DurableImage() const { return durable_; }
  // What a power cut now could leave behind.
  PmemCrashState CrashState() const;
  // One seeded crash image (CrashState().Sample), recording in the world's trace, for
  // each line that had a choice, how many of its stores the crash kept: "crash.line",
  // id = line number, flags "kept K/N stores (F fenced)".
  std::vector<std::byte> SampleCrashImage(Prng& prng) const;

  // Lines whose content is not all durable, and flush requests awaiting a fence.
  size_t lines_with_history() const { return lines_.size(); }
  size_t pending_flushes() const { return pending_.size(); }

 private:
  struct TimedStore {
    uint64_t seq;  // device-wide store order; a flush covers seq < its point
    PmemUnitStore store;
  };
  struct FlushRequest {
    uint64_t line;
    uint64_t before_seq;  // stores of `line` with seq < this become durable
  };

  SimPmem(World& world, SimPmemOptions options, std::vector<std::byte> initial);

  void CheckRange(const char* op, uint64_t offset, uint64_t length) const;
  // Splits a store into unit stores, applies it to `visible_` and appends the history.
  void Append(uint64_t offset, std::span<const std::byte> data);
  void RequestFlush(uint64_t first_line, uint64_t end_line);
  // Makes durable every flush request numbered below `point` not yet applied.
  void ApplyFlushesBefore(uint64_t point);
  // Moves the first `count` stores of `line`'s history into the durable base.
  void Fold(uint64_t line, size_t count);

  World& world_;
  SimPmemOptions options_;
  std::vector<std::byte> visible_;
  std::vector<std::byte> durable_;
  absl::btree_map<uint64_t, std::vector<TimedStore>> lines_;  // ordered: deterministic
  std::deque<FlushRequest> pending_;  // not yet applied by a fence, in issue order
  uint64_t applied_flushes_ = 0;      // requests ever applied: the number of pending_[0]
  uint64_t next_seq_ = 1;
  uint64_t next_op_ = 1;  // trace ids
};

}  // namespace powercut::sim

#endif  // POWERCUT_SIM_SIM_PMEM_H_
