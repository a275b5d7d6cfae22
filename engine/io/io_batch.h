// IoBatch: submit several IOs from a fiber, then wait for all of them.
//
// This is how engine code keeps many IOs in flight at once (and so exposes the
// reordering a real device does). Wait() returns the first error in completion order,
// after every IO of the batch has completed.
//
//   io::IoBatch batch(scheduler, "metadata");
//   for (auto& region : dirty) batch.Write(ssd, region.sector, region.bytes, io::kNoFlags);
//   absl::Status status = batch.Wait();
//
// Threading: one fiber submits and waits. The batch must not be destroyed while IOs are
// outstanding unless the world has stopped (a crash), in which case none complete.
#ifndef POWERCUT_ENGINE_IO_IO_BATCH_H_
#define POWERCUT_ENGINE_IO_IO_BATCH_H_

#include <span>
#include <string>

#include "absl/status/status.h"
#include "engine/io/block_device.h"
#include "engine/runtime/sync.h"

namespace powercut::io {

class IoBatch {
 public:
  IoBatch(runtime::Scheduler& scheduler, std::string what)
      : pending_(scheduler, "io " + what) {}
  IoBatch(const IoBatch&) = delete;
  IoBatch& operator=(const IoBatch&) = delete;

  void Read(BlockDevice& device, uint64_t sector, std::span<std::byte> buffer);
  void Write(BlockDevice& device, uint64_t sector, std::span<const std::byte> data,
             uint32_t flags);
  void Flush(BlockDevice& device);
  void Discard(BlockDevice& device, uint64_t sector, uint64_t sectors);

  // Blocks until every submitted IO completed; returns the first error. The batch can
  // be reused afterwards.
  [[nodiscard]] absl::Status Wait();
  uint64_t outstanding() const { return pending_.outstanding(); }

 private:
  IoCallback Completion();

  runtime::WaitGroup pending_;
  absl::Status first_error_;
};

// One IO, waited for. Each call suspends the calling fiber.
[[nodiscard]] absl::Status ReadSync(runtime::Scheduler& scheduler, BlockDevice& device,
                                    uint64_t sector, std::span<std::byte> buffer);
[[nodiscard]] absl::Status WriteSync(runtime::Scheduler& scheduler, BlockDevice& device,
                                     uint64_t sector, std::span<const std::byte> data,
                                     uint32_t flags);
[[nodiscard]] absl::Status FlushSync(runtime::Scheduler& scheduler, BlockDevice& device);
[[nodiscard]] absl::Status DiscardSync(runtime::Scheduler& scheduler, BlockDevice& device,
                                       uint64_t sector, uint64_t sectors);

}  // namespace powercut::io

#endif  // POWERCUT_ENGINE_IO_IO_BATCH_H_
