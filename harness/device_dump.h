// DumpDevice: a block device's whole contents written to a file, reading only the
// device's data ranges (io::BlockDevice::DataRanges); the rest of the file is a hole,
// which reads as the zeroes the device promises there. What `powercut recover --dump`
// writes and what parity runs compare.
//
// Threading: from a fiber of the scheduler the device belongs to.
#ifndef POWERCUT_HARNESS_DEVICE_DUMP_H_
#define POWERCUT_HARNESS_DEVICE_DUMP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "engine/runtime/scheduler.h"
#include "sim/disk_image.h"

namespace powercut::verifier {

// Creates or truncates `path` to the device's size and fills it; returns the sectors
// read (whole logical blocks around each data range).
absl::StatusOr<uint64_t> DumpDevice(runtime::Scheduler& scheduler, io::BlockDevice& device,
                                    const std::string& path);

// The same for a simulated image (a crash image, a simulated device's contents): a
// file of its size holding its stored sectors, the rest a hole. Plain blocking calls.
absl::Status WriteDiskImage(const sim::DiskImage& image, const std::string& path);

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_DEVICE_DUMP_H_
