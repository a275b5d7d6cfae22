// FaultPlan: what a FaultyBlockDevice (faulty_block_device.h) does wrong, as plain data.
//
// A plan is a value (it belongs in replay files); it names faults by position in the IO
// stream or by sector, never by time, so a plan plus a seed replays exactly. Each fault
// models something real devices do; all may be combined:
//
//   IO errors        IOs fail with DataLoss. Chosen two ways, OR-ed:
//                      - io_error_ordinals: the n-th IO submitted through the wrapper
//                        (counting every Submit* call, reads, writes, flushes and
//                        discards alike, malformed ones too, from 1) fails whatever it is;
//                      - io_error_ppm: each well-formed IO whose kind is in
//                        io_error_ops fails with probability ppm / 1e6, drawn from the
//                        wrapper's own PRNG stream (World::ForkPrng("faults:" + name)).
//                    A failed write, discard or flush may or may not have reached the
//                    medium, as on a real device where the error can come from the
//                    transport before the command ran or from the completion after it
//                    ran: per failure, the PRNG picks "dropped" (never forwarded) or
//                    "landed" (forwarded; the device's completion is reported as the
//                    error). So an engine must treat a failed write as "may have landed"
//                    and a failed flush as "made nothing durable". A failed read is never
//                    forwarded and leaves the buffer untouched.
//   latent sector    A read covering any sector in latent_sectors fails with DataLoss
//   errors (LSE)     naming the first such sector, until a write or discard covering that
//                    sector completes successfully at it (the drive remaps the sector);
//                    from then on it reads normally. Writes and discards are never failed
//                    by an LSE.
//   misdirected      The n-th well-formed write (counting writes only, from 1; discards
//   writes           are not writes) lands at sector + misdirect_offset, clamped so the
//                    whole write stays inside the device, and reports success. If
//                    clamping brings it back onto its own sector, nothing is injected.
//   lying flush      Flushes complete OK without reaching the device, and PREFLUSH is
//                    stripped from writes (the write itself still goes through).
//   fua dropped      FUA is stripped from writes: they complete OK but sit in the
//                    volatile cache like any other write.
//
// Sector numbers are the wrapped device's own (for a stack, the physical SSD sector,
// not the engine's logical sector). Validate() before use.
#ifndef POWERCUT_FAULTS_FAULT_PLAN_H_
#define POWERCUT_FAULTS_FAULT_PLAN_H_

#include <cstdint>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "engine/runtime/time.h"

namespace powercut::faults {

// Which kinds of IO the random error rate may fail (a bit set).
enum FaultOps : uint32_t {
  kFaultRead = 1u << 0,
  kFaultWrite = 1u << 1,
  kFaultFlush = 1u << 2,
  kFaultDiscard = 1u << 3,
  kFaultAllOps = kFaultRead | kFaultWrite | kFaultFlush | kFaultDiscard,
};

inline constexpr uint32_t kPpm = 1'000'000;

struct FaultPlan {
  // --- IO errors ------------------------------------------------------------------
  absl::btree_set<uint64_t> io_error_ordinals;  // IO ordinals, from 1
  uint32_t io_error_ppm = 0;                    // random rate, parts per million
  uint32_t io_error_ops = kFaultAllOps;         // kinds the random rate applies to

  // --- Latent sector errors ---------------------------------------------------------
  absl::btree_set<uint64_t> latent_sectors;

  // --- Misdirected writes -----------------------------------------------------------
  absl::btree_set<uint64_t> misdirected_writes;  // write ordinals, from 1
  int64_t misdirect_offset = 0;                   // sectors; may be negative

  // --- Broken durability ------------------------------------------------------------
  bool lying_flush = false;
  bool fua_dropped = false;

  // How long after submission an IO that the wrapper fails (or a lying flush it
  // acknowledges) without forwarding completes. Completion is always asynchronous.
  runtime::Nanos fault_latency = runtime::Microseconds(15);

  // True when the plan injects nothing (the wrapper is then a pure pass-through).
  bool empty() const {
    return io_error_ordinals.empty() && io_error_ppm == 0 && latent_sectors.empty() &&
           misdirected_writes.empty() && !lying_flush && !fua_dropped;
  }
};

// OK if `plan` can be applied to a device of `device_sectors` sectors; otherwise
// InvalidArgument saying what is impossible: a rate above 1e6 ppm, a rate with no IO
// kinds to apply to, unknown kind bits, ordinal 0, a latent sector beyond the device,
// misdirected writes with offset 0 or an offset as large as the device, a negative
// fault_latency, or a zero-sized device.
[[nodiscard]] absl::Status Validate(const FaultPlan& plan, uint64_t device_sectors);

}  // namespace powercut::faults

#endif  // POWERCUT_FAULTS_FAULT_PLAN_H_
