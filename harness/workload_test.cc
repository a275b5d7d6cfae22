#include "harness/workload.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "harness/workload_gen.h"

namespace powercut::verifier {
namespace {

TEST(Workload, ZeroDrawIsTheSimplestOperation) {
  WorkloadShape shape;
  Op op = MakeOp(OpDraw{}, shape);
  EXPECT_EQ(op, (Op{OpKind::kWrite, 0, 0, 8, false}));
}

TEST(Workload, GenerationIsDeterministic) {
  sim::Prng a(5), b(5);
  WorkloadShape shape;
  EXPECT_EQ(GenerateWorkload(a, shape), GenerateWorkload(b, shape));
}

RC_GTEST_PROP(Workload, EveryOperationFitsTheDevice, ()) {
  WorkloadShape shape;
  shape.device_sectors = *rc::gen::inRange<uint64_t>(1, 5000);
  shape.clients = *rc::gen::inRange<uint32_t>(1, 5);
  const Workload workload = *GenWorkload(shape);
  RC_ASSERT(!workload.ops.empty());
  for (const Op& op : workload.ops) {
    RC_ASSERT(op.client < shape.clients);
    if (op.kind == OpKind::kFlush) continue;
    RC_ASSERT(op.sectors >= 1u);
    RC_ASSERT(op.sector + op.sectors <= shape.device_sectors);
  }
}

TEST(Workload, MixCoversEveryKindAlignedAndUnalignedHotAndCold) {
  sim::Prng prng(1);
  WorkloadShape shape;
  shape.max_ops = 2000;
  int kinds[4] = {0, 0, 0, 0};
  int unaligned = 0, cold = 0, fua = 0;
  for (int round = 0; round < 5; ++round) {
    for (const Op& op : GenerateWorkload(prng, shape).ops) {
      ++kinds[static_cast<int>(op.kind)];
      if (op.kind == OpKind::kFlush) continue;
      unaligned += op.sector % 8 != 0 || op.sectors % 8 != 0;
      cold += op.sector >= shape.device_sectors / 8;
      fua += op.fua;
    }
  }
  for (int k : kinds) EXPECT_GT(k, 0);
  EXPECT_GT(unaligned, 0);
  EXPECT_GT(cold, 0);
  EXPECT_GT(fua, 0);
}

}  // namespace
}  // namespace powercut::verifier
