#include "engine/io/block_device.h"

#include "absl/strings/str_cat.h"

namespace powercut::io {

absl::Status ValidateRange(uint64_t sector_count, uint64_t sector, uint64_t sectors) {
  if (sectors == 0) return absl::InvalidArgumentError("IO of zero sectors");
  if (sector >= sector_count || sectors > sector_count - sector) {
    return absl::OutOfRangeError(absl::StrCat("IO [", sector, ", +", sectors,
                                              ") beyond device end ", sector_count));
  }
  return absl::OkStatus();
}

absl::Status ValidateBuffer(size_t bytes) {
  if (bytes == 0 || bytes % kSectorSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("buffer of ", bytes, " bytes is not a positive multiple of 512"));
  }
  return absl::OkStatus();
}

}  // namespace powercut::io
