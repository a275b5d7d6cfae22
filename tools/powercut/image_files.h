// Image files for `powercut format` and `powercut recover`: sizes as people write them,
// sparse files made and copied.
//
// Threading: plain blocking calls.
#ifndef POWERCUT_TOOLS_POWERCUT_IMAGE_FILES_H_
#define POWERCUT_TOOLS_POWERCUT_IMAGE_FILES_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace powercut::tools {

// "4096", "64K", "16M", "2G", "1T" (powers of 1024; a trailing "iB" or "B" is allowed)
// in bytes; InvalidArgument for anything else or a size past 2^62.
absl::StatusOr<uint64_t> ParseSize(std::string_view text);

// Makes `path` a sparse file of `bytes` (a multiple of 512) if it does not exist; an
// existing file is left as it is (its size is checked where it is opened).
absl::Status CreateImageIfMissing(const std::string& path, uint64_t bytes);

// Copies `from` to `to` (created or truncated), holes kept as holes.
absl::Status CopySparse(const std::string& from, const std::string& to);

// Two images of one size compared sector by sector, over both files' data (a hole
// reads as zeroes). A differing sector that `tolerated` (if given) accepts, called with
// the sector and both sides' bytes, is counted apart.
struct ImageDifference {
  uint64_t compared_sectors = 0;    // sectors with data in either file
  uint64_t differing_sectors = 0;   // not counting tolerated ones
  uint64_t tolerated_sectors = 0;
  std::optional<uint64_t> first;    // the first differing sector not tolerated
};
using ToleratedDifference =
    std::function<bool(uint64_t sector, std::span<const std::byte> a, std::span<const std::byte> b)>;
absl::StatusOr<ImageDifference> CompareImages(const std::string& a, const std::string& b,
                                              const ToleratedDifference& tolerated = nullptr);

// Sector `sector` of an image file (zeroes past its end).
absl::StatusOr<std::vector<std::byte>> ReadImageSector(const std::string& path, uint64_t sector);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_IMAGE_FILES_H_
