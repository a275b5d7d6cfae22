// `powercut inspect IMAGE --format bitmap|md|writecache`: decodes on-media metadata from
// an image file and prints it in the wording of `mdadm -X` / `mdadm --examine` /
// `dmsetup status`, with any inconsistencies found. Corrupt input is reported, never
// trusted.
//   bitmap:     an external bitmap file (bitmap_super_t at offset 0, then the bits);
//   md:         a RAID1 member image (md v1.2 superblock 4 KiB in, and its internal
//               bitmap when the superblock has one);
//   writecache: a dm-writecache cache device (superblock at start_sector, entries,
//               data blocks; see writecache_report.h).
#ifndef POWERCUT_TOOLS_POWERCUT_INSPECT_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_INSPECT_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/raid1/bitmap_format.h"
#include "engine/raid1/md_superblock.h"
#include "inspect/md_report.h"

namespace powercut::tools {

struct InspectCommandOptions {
  std::string image;
  std::string format;  // "bitmap", "md" or "writecache"
  bool json = false;
  // writecache only: where the cache area starts, and the origin's size (to find
  // entries past its end).
  std::optional<uint64_t> start_sector;
  std::optional<uint64_t> origin_sectors;
};

// Exit code: 0 decoded and consistent, 1 decoded with inconsistencies, 2 unreadable or
// not decodable (the reason is printed).
// What `inspect` prints, as reports (an md member gives its superblock's and its
// internal bitmap's); InvalidArgument when the image does not decode.
absl::StatusOr<std::vector<inspect::Report>> InspectImage(const InspectCommandOptions& options);

// The decoders `recover` shares. Each reads only what the image holds and checks it as
// inspect does; errors name the image and the reason.
//   the metadata area of a cache device (superblock first), at options.start_sector,
//   at most kMaxCacheMetadataBytes (2^26 blocks: recovery keeps every entry in memory,
//   as the kernel does);
inline constexpr uint64_t kMaxCacheMetadataBytes = uint64_t{1} << 30;
absl::StatusOr<std::vector<std::byte>> ReadWriteCacheMetadata(const InspectCommandOptions& options);
//   a RAID1 member's md v1.2 superblock;
absl::StatusOr<raid1::MdSuperblock> ReadMdSuperblock(const InspectCommandOptions& options);
//   a bitmap superblock at byte `offset`.
absl::StatusOr<raid1::BitmapSuper> ReadBitmapSuper(const InspectCommandOptions& options,
                                                   uint64_t offset);

int RunInspectCommand(const InspectCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_INSPECT_COMMAND_H_
