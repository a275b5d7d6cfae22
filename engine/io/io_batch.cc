#include "engine/io/io_batch.h"

namespace powercut::io {

IoCallback IoBatch::Completion() {
  pending_.Add();
  return [this](absl::Status status) {
    if (!status.ok() && first_error_.ok()) first_error_ = std::move(status);
    pending_.Done();
  };
}

void IoBatch::Read(BlockDevice& device, uint64_t sector, std::span<std::byte> buffer) {
  device.SubmitRead(sector, buffer, Completion());
}

void IoBatch::Write(BlockDevice& device, uint64_t sector, std::span<const std::byte> data,
                    uint32_t flags) {
  device.SubmitWrite(sector, data, flags, Completion());
}

void IoBatch::Flush(BlockDevice& device) { device.SubmitFlush(Completion()); }

void IoBatch::Discard(BlockDevice& device, uint64_t sector, uint64_t sectors) {
  device.SubmitDiscard(sector, sectors, Completion());
}

absl::Status IoBatch::Wait() {
  pending_.Wait();
  absl::Status result = std::move(first_error_);
  first_error_ = absl::OkStatus();
  return result;
}

absl::Status ReadSync(runtime::Scheduler& scheduler, BlockDevice& device, uint64_t sector,
                      std::span<std::byte> buffer) {
  IoBatch batch(scheduler, "read");
  batch.Read(device, sector, buffer);
  return batch.Wait();
}

absl::Status WriteSync(runtime::Scheduler& scheduler, BlockDevice& device, uint64_t sector,
                       std::span<const std::byte> data, uint32_t flags) {
  IoBatch batch(scheduler, "write");
  batch.Write(device, sector, data, flags);
  return batch.Wait();
}

absl::Status FlushSync(runtime::Scheduler& scheduler, BlockDevice& device) {
  IoBatch batch(scheduler, "flush");
  batch.Flush(device);
  return batch.Wait();
}

absl::Status DiscardSync(runtime::Scheduler& scheduler, BlockDevice& device, uint64_t sector,
                         uint64_t sectors) {
  IoBatch batch(scheduler, "discard");
  batch.Discard(device, sector, sectors);
  return batch.Wait();
}

}  // namespace powercut::io
