// VanishingDevice: a device that disappears, as a pulled disk or a dead link does.
// After `after_ios` IOs every IO fails (Unavailable, 10 us later in virtual time)
// without reaching the wrapped device, until ComeBack(); the vanishing and the return
// are recorded in the world's trace ("fault.vanish", "fault.back").
//
// Ownership and threading: does not own the wrapped device; the World's thread only.
#ifndef POWERCUT_FAULTS_VANISHING_DEVICE_H_
#define POWERCUT_FAULTS_VANISHING_DEVICE_H_

#include <cstdint>

#include "engine/io/block_device.h"
#include "sim/world.h"

namespace powercut::faults {

class VanishingDevice : public io::BlockDeviceWrapper {
 public:
  VanishingDevice(sim::World& world, io::BlockDevice& wrapped, uint64_t after_ios)
      : io::BlockDeviceWrapper(wrapped), world_(world), after_ios_(after_ios) {}

  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;
  // Every later IO reaches the wrapped device again.
  void ComeBack();

 private:
  // Counts the IO; true if it must fail.
  bool Gone();
  void Fail(io::IoCallback done);

  sim::World& world_;
  uint64_t after_ios_;
  uint64_t ios_ = 0;
  bool back_ = false;
};

}  // namespace powercut::faults

#endif  // POWERCUT_FAULTS_VANISHING_DEVICE_H_
