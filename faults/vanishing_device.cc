#include "faults/vanishing_device.h"

#include "absl/strings/str_cat.h"

namespace powercut::faults {

void VanishingDevice::SubmitRead(uint64_t sector, std::span<std::byte> buffer,
                                 io::IoCallback done) {
  if (Gone()) return Fail(std::move(done));
  wrapped().SubmitRead(sector, buffer, std::move(done));
}

void VanishingDevice::SubmitWrite(uint64_t sector, std::span<const std::byte> data,
                                  uint32_t flags, io::IoCallback done) {
  if (Gone()) return Fail(std::move(done));
  wrapped().SubmitWrite(sector, data, flags, std::move(done));
}

void VanishingDevice::SubmitFlush(io::IoCallback done) {
  if (Gone()) return Fail(std::move(done));
  wrapped().SubmitFlush(std::move(done));
}

void VanishingDevice::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  if (Gone()) return Fail(std::move(done));
  wrapped().SubmitDiscard(sector, sectors, std::move(done));
}

void VanishingDevice::ComeBack() {
  if (!back_ && ios_ > after_ios_) world_.Record(name(), "fault.back", ios_);
  back_ = true;
}

bool VanishingDevice::Gone() {
  if (back_ || ios_ < after_ios_) {
    ++ios_;
    return false;
  }
  if (ios_++ == after_ios_) world_.Record(name(), "fault.vanish", ios_);
  return true;
}

void VanishingDevice::Fail(io::IoCallback done) {
  world_.CallAt(world_.Now() + runtime::Microseconds(10), [this, done = std::move(done)]() mutable {
    done(absl::UnavailableError(absl::StrCat(name(), ": the device has vanished")));
  });
}

}  // namespace powercut::faults
