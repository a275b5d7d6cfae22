#include "harness/recorded_pmem.h"

#include <utility>

namespace powercut::verifier {

absl::StatusOr<std::unique_ptr<RecordedPmem>> RecordedPmem::Create(io::PersistentMemory& memory,
                                                                   std::vector<std::byte> initial) {
  // The shadow's world only names its records; its seed never draws anything.
  auto world = std::make_unique<sim::World>(/*seed=*/1);
  absl::StatusOr<std::unique_ptr<sim::SimPmem>> shadow = sim::SimPmem::Create(
      *world, {.name = memory.name(), .size = memory.size(), .fence_latency = runtime::Nanos(0)},
      std::move(initial));
  if (!shadow.ok()) return shadow.status();
  return std::unique_ptr<RecordedPmem>(
      new RecordedPmem(memory, std::move(world), *std::move(shadow)));
}

RecordedPmem::RecordedPmem(io::PersistentMemory& memory, std::unique_ptr<sim::World> world,
                           std::unique_ptr<sim::SimPmem> shadow)
    : memory_(memory), world_(std::move(world)), shadow_(std::move(shadow)) {}

void RecordedPmem::Store(uint64_t offset, std::span<const std::byte> data) {
  memory_.Store(offset, data);
  shadow_->Store(offset, data);
}

void RecordedPmem::StoreFlushing(uint64_t offset, std::span<const std::byte> data) {
  memory_.StoreFlushing(offset, data);
  shadow_->StoreFlushing(offset, data);
}

void RecordedPmem::Flush(uint64_t offset, uint64_t length) {
  memory_.Flush(offset, length);
  shadow_->Flush(offset, length);
}

void RecordedPmem::Fence() {
  // The shadow's fence first: it covers exactly the flushes issued before this call
  // (a wrapped fence may suspend while other fibers flush more), and applies them at
  // once (its world has no running fiber to suspend). A cut while the wrapped fence is
  // under way then finds them durable: a state the model allows, one fewer to draw.
  shadow_->Fence();
  memory_.Fence();
}

}  // namespace powercut::verifier
