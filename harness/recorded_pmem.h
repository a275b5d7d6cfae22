// RecordedPmem: a wrapper that watches persistent memory (a real mapping, usually) and
// keeps what a power cut at any moment could leave in it, with the simulator's own pmem
// model (sim/sim_pmem.h: 64-byte lines persisting independently, 8-byte atomic stores,
// stores durable once flushed and fenced, the rest kept or not per line in store order).
// Every store, flush and fence goes to the wrapped memory and, in the same order, to a
// shadow SimPmem of the same size in a world of its own (so the shadow's fences never
// suspend the caller and its trace stays apart); a crash image is drawn from the shadow.
//
//   RecordedPmem recorded(mapping, initial_contents);
//   ... the engine runs on `recorded` ...
//   std::vector<std::byte> image = recorded.SampleCrashImage(prng);
//
// The starting contents given must be what the memory holds (they are durable). Loads
// read the wrapped memory.
//
// Memory: a second copy of the memory (the shadow's visible and durable images) and the
// stores not yet durable.
//
// Threading: the wrapped memory's thread; does not own it.
#ifndef POWERCUT_HARNESS_RECORDED_PMEM_H_
#define POWERCUT_HARNESS_RECORDED_PMEM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/io/persistent_memory.h"
#include "sim/prng.h"
#include "sim/sim_pmem.h"
#include "sim/world.h"

namespace powercut::verifier {

class RecordedPmem : public io::PersistentMemory {
 public:
  // Fails as SimPmem::Create does for `initial` of another size than `memory`.
  static absl::StatusOr<std::unique_ptr<RecordedPmem>> Create(io::PersistentMemory& memory,
                                                              std::vector<std::byte> initial);

  uint64_t size() const override { return memory_.size(); }
  const std::string& name() const override { return memory_.name(); }
  void Load(uint64_t offset, std::span<std::byte> out) const override { memory_.Load(offset, out); }
  void Store(uint64_t offset, std::span<const std::byte> data) override;
  void StoreFlushing(uint64_t offset, std::span<const std::byte> data) override;
  void Flush(uint64_t offset, uint64_t length) override;
  void Fence() override;

  // One crash image under the model (SimPmem::SampleCrashImage of the shadow).
  std::vector<std::byte> SampleCrashImage(sim::Prng& prng) const { return shadow_->SampleCrashImage(prng); }

 private:
  RecordedPmem(io::PersistentMemory& memory, std::unique_ptr<sim::World> world,
               std::unique_ptr<sim::SimPmem> shadow);

  io::PersistentMemory& memory_;
  std::unique_ptr<sim::World> world_;  // the shadow's: never run
  std::unique_ptr<sim::SimPmem> shadow_;
};

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_RECORDED_PMEM_H_
