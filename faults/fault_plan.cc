// Validate(): the checks that make a FaultPlan applicable to a device (fault_plan.h).
#include "faults/fault_plan.h"

#include "absl/strings/str_cat.h"

namespace powercut::faults {

absl::Status Validate(const FaultPlan& plan, uint64_t device_sectors) {
  auto invalid = [](auto&&... parts) {
    return absl::InvalidArgumentError(absl::StrCat("fault plan: ", parts...));
  };
  if (device_sectors == 0) return invalid("the device has zero sectors");
  if (plan.io_error_ppm > kPpm) {
    return invalid("io_error_ppm ", plan.io_error_ppm, " exceeds ", kPpm,
                   " (one million parts per million is every IO)");
  }
  if ((plan.io_error_ops & ~static_cast<uint32_t>(kFaultAllOps)) != 0) {
    return invalid("io_error_ops 0x", absl::Hex(plan.io_error_ops),
                   " has bits that name no IO kind");
  }
  if (plan.io_error_ppm > 0 && plan.io_error_ops == 0) {
    return invalid("io_error_ppm ", plan.io_error_ppm,
                   " applies to no IO kind (io_error_ops is empty)");
  }
  if (plan.io_error_ordinals.contains(0)) {
    return invalid("io_error_ordinals counts IOs from 1; ordinal 0 never happens");
  }
  if (!plan.latent_sectors.empty() && *plan.latent_sectors.rbegin() >= device_sectors) {
    return invalid("latent sector ", *plan.latent_sectors.rbegin(),
                   " is beyond the device end (", device_sectors, " sectors)");
  }
  if (!plan.misdirected_writes.empty()) {
    if (plan.misdirected_writes.contains(0)) {
      return invalid("misdirected_writes counts writes from 1; write 0 never happens");
    }
    if (plan.misdirect_offset == 0) {
      return invalid("misdirected writes need a non-zero misdirect_offset (offset 0 lands "
                     "every write where it belongs)");
    }
    const uint64_t magnitude = plan.misdirect_offset < 0
                                   ? uint64_t{0} - static_cast<uint64_t>(plan.misdirect_offset)
                                   : static_cast<uint64_t>(plan.misdirect_offset);
    if (magnitude >= device_sectors) {
      return invalid("misdirect_offset ", plan.misdirect_offset,
                     " is not smaller than the device (", device_sectors, " sectors)");
    }
  }
  if (plan.fault_latency.count() < 0) {
    return invalid("fault_latency ", plan.fault_latency.count(), " ns is negative");
  }
  return absl::OkStatus();
}

}  // namespace powercut::faults
