// LinearMap: a pass-through block device mapping [0, sectors) of itself onto
// [start, start + sectors) of a device below (the dm-linear target).
//
// It is the smallest engine powercut checks: with no state of its own, it must keep the
// BlockDevice contract exactly as the device below keeps it (flushes and FUA are
// forwarded, addresses shifted). It proves the harness and carries the first mutants.
//
// Threading: the Scheduler's thread. Does not own `lower`.
#ifndef POWERCUT_ENGINE_LINEAR_LINEAR_MAP_H_
#define POWERCUT_ENGINE_LINEAR_LINEAR_MAP_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/io/block_device.h"

namespace powercut::linear {

class LinearMap : public io::BlockDevice {
 public:
  // Fails with InvalidArgument if the mapping does not fit inside `lower`.
  static absl::StatusOr<std::unique_ptr<LinearMap>> Create(io::BlockDevice& lower,
                                                           uint64_t start, uint64_t sectors);

  uint64_t sector_count() const override { return sectors_; }
  const std::string& name() const override { return name_; }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;
  // The lower device's data ranges inside the mapping, shifted back.
  std::vector<io::SectorRange> DataRanges(uint64_t first, uint64_t count) const override;

 private:
  LinearMap(io::BlockDevice& lower, uint64_t start, uint64_t sectors);

  io::BlockDevice& lower_;
  uint64_t start_;
  uint64_t sectors_;
  std::string name_;
};

}  // namespace powercut::linear

#endif  // POWERCUT_ENGINE_LINEAR_LINEAR_MAP_H_
