#include "harness/workload.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace powercut::verifier {

Op MakeOp(const OpDraw& draw, const WorkloadShape& shape) {
  Op op;
  op.client = draw.client % std::max<uint32_t>(shape.clients, 1);
  const uint32_t roll = draw.kind % 100;
  if (roll >= 70 && roll < 90) {
    op.kind = OpKind::kFlush;
    return op;
  }
  op.kind = roll < 55 ? OpKind::kWrite : roll < 70 ? OpKind::kRead : OpKind::kDiscard;
  op.fua = op.kind == OpKind::kWrite && draw.flags % 8 == 7;

  const uint64_t device = shape.device_sectors;
  const uint64_t hot = std::min(std::max<uint64_t>(device / 8, 8), kHotSectorsMax);
  // The op falls in [base, base + region).
  uint64_t base = 0;
  uint64_t region = draw.place % 4 != 3 ? std::min(hot, device) : device;
  if (draw.place % 4 == 3 && device > kPlaceReach) {
    region = hot;
    constexpr uint64_t k2To32 = uint64_t{1} << 32;
    switch ((draw.place / 4) % 4) {
      case 0:
        base = device - region;
        break;
      case 1:
        base = device >= k2To32 + region ? k2To32 - region / 2 : device - region;
        break;
      default:
        base = (draw.place / 16) % (device / region) * region;
        break;
    }
    base = base / 8 * 8;
  }
  const bool aligned = draw.size % 4 != 3 && device >= 8;
  const uint32_t max_io = std::max<uint32_t>(shape.max_io_sectors, 1);
  if (shape.alignment_sectors > 0 && device >= shape.alignment_sectors) {
    const uint32_t unit = shape.alignment_sectors;
    const uint32_t units = std::max<uint32_t>(max_io / unit, 1);
    op.sectors = unit * (1 + (draw.size / 4) % units);
    op.sector = base / unit * unit +
                uint64_t{unit} * ((draw.place / 4) % std::max<uint64_t>(region / unit, 1));
    if (op.sectors > device) op.sectors = static_cast<uint32_t>(device / unit * unit);
    if (op.sector + op.sectors > device) op.sector = (device - op.sectors) / unit * unit;
    return op;
  }
  if (aligned) {
    const uint32_t blocks = std::max<uint32_t>(max_io / 8, 1);
    op.sectors = 8 * (1 + (draw.size / 4) % blocks);
    op.sector = base + 8 * ((draw.place / 4) % std::max<uint64_t>(region / 8, 1));
  } else {
    op.sectors = 1 + (draw.size / 4) % max_io;
    op.sector = base + (draw.place / 4) % region;
  }
  if (op.sectors > device) op.sectors = static_cast<uint32_t>(device);
  if (op.sector + op.sectors > device) op.sector = device - op.sectors;
  return op;
}

Workload MakeWorkload(const std::vector<OpDraw>& draws, const WorkloadShape& shape) {
  Workload workload;
  workload.device_sectors = shape.device_sectors;
  workload.clients = std::max<uint32_t>(shape.clients, 1);
  for (const OpDraw& draw : draws) workload.ops.push_back(MakeOp(draw, shape));
  return workload;
}

Workload GenerateWorkload(sim::Prng& prng, const WorkloadShape& shape) {
  std::vector<OpDraw> draws(1 + prng.Uniform(std::max<uint32_t>(shape.max_ops, 1)));
  for (OpDraw& draw : draws) {
    draw.kind = static_cast<uint32_t>(prng.Next());
    draw.client = static_cast<uint32_t>(prng.Next());
    draw.place = static_cast<uint32_t>(prng.Next());
    draw.size = static_cast<uint32_t>(prng.Next());
    draw.flags = static_cast<uint32_t>(prng.Next());
  }
  return MakeWorkload(draws, shape);
}

std::string ToString(const Op& op) {
  switch (op.kind) {
    case OpKind::kFlush:
      return absl::StrCat("c", op.client, " flush");
    case OpKind::kWrite:
      return absl::StrCat("c", op.client, " write ", op.sector, "+", op.sectors, op.fua ? " fua" : "");
    case OpKind::kRead:
      return absl::StrCat("c", op.client, " read ", op.sector, "+", op.sectors);
    case OpKind::kDiscard:
      return absl::StrCat("c", op.client, " discard ", op.sector, "+", op.sectors);
    case OpKind::kControl:
      return absl::StrCat("c", op.client, " control ", op.control);
  }
  return "?";
}

std::string ToString(const Workload& workload) {
  std::string out = absl::StrCat("device ", workload.device_sectors, " sectors, ",
                                 workload.clients, " clients, ", workload.ops.size(), " ops\n");
  for (const Op& op : workload.ops) absl::StrAppend(&out, "  ", ToString(op), "\n");
  return out;
}

void showValue(const Workload& workload, std::ostream& os) { os << ToString(workload); }

}  // namespace powercut::verifier
