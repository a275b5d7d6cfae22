// Workloads: what the client fibers do to the device under test.
//
// A Workload is a list of operations, each owned by one client; every client runs its
// operations in order, all clients concurrently. Operations are made from raw draws
// (OpDraw) by MakeOp, one place for the mapping, so that RapidCheck (which shrinks draws
// towards zero, i.e. towards small aligned writes by client 0 at sector 0) and the
// campaign's own PRNG produce workloads the same way.
//
// Mix (by OpDraw::kind % 100): 0-54 write (1 in 8 of them FUA), 55-69 read,
// 70-89 flush, 90-99 discard. Sizes: 3 in 4 aligned (multiples of 8 sectors = 4 KiB,
// at 8-sector boundaries), else 1..max_io_sectors at any sector. Places: 3 in 4 in the
// hot region (the first eighth of the device, at most kHotSectorsMax sectors), else
// anywhere. A 32-bit draw spans kPlaceReach sectors: on a larger device "anywhere" is
// a hot-region-sized window at the end of the device, across sector 2^32, or at a
// drawn place (1 in 4, 1 in 4, 2 in 4), so IO reaches both ends and the 32-bit line.
#ifndef POWERCUT_HARNESS_WORKLOAD_H_
#define POWERCUT_HARNESS_WORKLOAD_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "sim/prng.h"

namespace powercut::verifier {

// kControl: an operator's command to the stack while IO flows (a message, a suspend, a
// member failed or re-added: Stack::Control); never drawn by MakeOp, families add them.
enum class OpKind { kWrite, kRead, kFlush, kDiscard, kControl };

struct Op {
  OpKind kind = OpKind::kWrite;
  uint32_t client = 0;
  uint64_t sector = 0;
  uint32_t sectors = 0;  // 0 for flushes and control operations
  bool fua = false;
  std::string control;  // kControl: the command, e.g. "flush" or "fail 1"
  bool operator==(const Op&) const = default;
};

inline constexpr uint64_t kHotSectorsMax = uint64_t{1} << 17;
inline constexpr uint64_t kPlaceReach = uint64_t{1} << 30;

struct WorkloadShape {
  uint64_t device_sectors = 4096;
  uint32_t clients = 3;
  uint32_t max_ops = 60;
  uint32_t max_io_sectors = 32;
  // If non-zero, every read, write and discard starts at a multiple of this many
  // sectors and covers a multiple of it (for engines with a block size, such as the
  // write-back cache). 0: the mix described above.
  uint32_t alignment_sectors = 0;
};

struct Workload {
  uint64_t device_sectors = 0;
  uint32_t clients = 1;
  std::vector<Op> ops;
  bool operator==(const Workload&) const = default;
};

struct OpDraw {
  uint32_t kind = 0;
  uint32_t client = 0;
  uint32_t place = 0;
  uint32_t size = 0;
  uint32_t flags = 0;
};

Op MakeOp(const OpDraw& draw, const WorkloadShape& shape);
Workload MakeWorkload(const std::vector<OpDraw>& draws, const WorkloadShape& shape);
// A workload of 1..shape.max_ops operations drawn from `prng`.
Workload GenerateWorkload(sim::Prng& prng, const WorkloadShape& shape);

std::string ToString(const Op& op);
// One operation per line: "c1 write 128+8 fua", "c0 flush", "c2 control suspend", ...
std::string ToString(const Workload& workload);
// RapidCheck prints counterexamples through this.
void showValue(const Workload& workload, std::ostream& os);

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_WORKLOAD_H_
