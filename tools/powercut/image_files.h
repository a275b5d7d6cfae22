// Image files for `powercut format` and `powercut recover`: sizes as people write them,
// sparse files made and copied, a logical device dumped to a file.
//
// Threading: DumpDevice runs inside a fiber of the scheduler the device belongs to; the
// rest are plain blocking calls.
#ifndef POWERCUT_TOOLS_POWERCUT_IMAGE_FILES_H_
#define POWERCUT_TOOLS_POWERCUT_IMAGE_FILES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "engine/runtime/scheduler.h"

namespace powercut::tools {

// "4096", "64K", "16M", "2G", "1T" (powers of 1024; a trailing "iB" or "B" is allowed)
// in bytes; InvalidArgument for anything else or a size past 2^62.
absl::StatusOr<uint64_t> ParseSize(std::string_view text);

// Makes `path` a sparse file of `bytes` (a multiple of 512) if it does not exist; an
// existing file is left as it is (its size is checked where it is opened).
absl::Status CreateImageIfMissing(const std::string& path, uint64_t bytes);

// Copies `from` to `to` (created or truncated), holes kept as holes.
absl::Status CopySparse(const std::string& from, const std::string& to);

// From a fiber: writes the whole of `device` to `path` (created or truncated, the
// device's size), reading only its DataRanges (the rest stays a hole, i.e. zeroes).
// Returns the sectors read.
absl::StatusOr<uint64_t> DumpDevice(runtime::Scheduler& scheduler, io::BlockDevice& device,
                                    const std::string& path);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_IMAGE_FILES_H_
