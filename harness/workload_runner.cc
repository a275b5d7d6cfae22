#include "harness/workload_runner.h"

#include <algorithm>
#include <span>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/runtime/sync.h"
#include "harness/sector_stamp.h"

namespace powercut::verifier {
namespace {

// Runs one operation and waits for it; the oracle hears about completion from the IO
// callback itself, so its ordering is exact.
void RunOp(sim::World& world, Stack& stack, const Op& op, BlockOracle& oracle,
           std::vector<std::byte>& buffer) {
  if (op.kind == OpKind::kControl) {
    // The stack's own checkers follow it; the data the oracle judges is unchanged.
    const absl::Status status = stack.Control(op.control);
    world.Record(absl::StrCat("client-", op.client), "control", status.ok() ? 1 : 0, 0, 0,
                 op.control);
    return;
  }
  io::BlockDevice& device = stack.logical();
  runtime::Scheduler& scheduler = world.scheduler();
  runtime::Event done(scheduler, "client io");
  // The client's buffer only grows; each op uses its first bytes.
  const size_t bytes = op.sectors * io::kSectorSize;
  if (buffer.size() < bytes) buffer.resize(bytes);
  const std::span<std::byte> data = std::span<std::byte>(buffer).first(bytes);
  switch (op.kind) {
    case OpKind::kWrite: {
      const uint64_t id = oracle.BeginWrite(op.client, op.sector, op.sectors, op.fua, world.Now());
      StampWrite(id, op.sector, data);
      device.SubmitWrite(op.sector, data, op.fua ? io::kFua : io::kNoFlags,
                         [&, id](absl::Status status) {
                           oracle.EndWrite(id, status, world.Now());
                           done.Set();
                         });
      break;
    }
    case OpKind::kDiscard: {
      const uint64_t id = oracle.BeginDiscard(op.client, op.sector, op.sectors, world.Now());
      device.SubmitDiscard(op.sector, op.sectors, [&, id](absl::Status status) {
        oracle.EndWrite(id, status, world.Now());
        done.Set();
      });
      break;
    }
    case OpKind::kFlush: {
      const uint64_t id = oracle.BeginFlush(op.client, world.Now());
      device.SubmitFlush([&, id](absl::Status status) {
        oracle.EndFlush(id, status, world.Now());
        done.Set();
      });
      break;
    }
    case OpKind::kRead: {
      // Zeroes, so a read that fills nothing cannot pass with an earlier op's data.
      std::fill(data.begin(), data.end(), std::byte{0});
      const uint64_t id = oracle.BeginRead(op.client, op.sector, op.sectors, world.Now());
      device.SubmitRead(op.sector, data, [&, id](absl::Status status) {
        oracle.EndRead(id, status, data, world.Now());
        done.Set();
      });
      break;
    }
    case OpKind::kControl:
      break;
  }
  done.Wait();
}

}  // namespace

std::vector<runtime::Fiber> SpawnWorkload(sim::World& world, Stack& stack,
                                          const Workload& workload, BlockOracle& oracle) {
  std::vector<runtime::Fiber> fibers;
  for (uint32_t client = 0; client < workload.clients; ++client) {
    fibers.push_back(world.scheduler().Spawn(absl::StrCat("client-", client), [&, client] {
      std::vector<std::byte> buffer;
      for (const Op& op : workload.ops) {
        if (op.client == client) RunOp(world, stack, op, oracle, buffer);
      }
    }));
  }
  return fibers;
}

}  // namespace powercut::verifier
