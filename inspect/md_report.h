// Human-readable reports of md metadata, worded like Debian's mdadm 4.2 so a user can
// put `powercut inspect` next to `mdadm -X` / `mdadm --examine` and compare line by
// line: the same field names, uuid grouping, size and chunk units.
#ifndef POWERCUT_INSPECT_MD_REPORT_H_
#define POWERCUT_INSPECT_MD_REPORT_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/raid1/bitmap_format.h"
#include "engine/raid1/md_superblock.h"

namespace powercut::inspect {

// "00112233:44556677:8899aabb:ccddeeff"
std::string UuidText(const std::array<uint8_t, 16>& uuid);
// mdadm's human_size: " (1024.00 MiB 1073.74 MB)", empty below 5000 KiB.
std::string HumanSize(uint64_t bytes);
// mdadm's chunk size wording: "64 KB", "4 MB".
std::string HumanChunk(uint64_t bytes);

struct Report {
  std::vector<std::pair<std::string, std::string>> fields;  // in print order
  std::vector<std::string> problems;                         // inconsistencies found
  std::string Text() const;
};

// `mdadm -X` fields for a bitmap storage image (superblock + bits), then "Dirty
// Chunks" (DirtyChunkRanges); `image` may be shorter than the bits it describes
// (missing bytes count as clean and are reported).
Report BitmapReport(const std::string& filename, const raid1::BitmapSuper& sb,
                    std::span<const std::byte> image);
// The dirty chunks of a bitmap's bits, as ranges ("0, 7-9, 200"; "none"): the first 64
// ranges, then how many more. A line mdadm -X does not print (powercut's own, so a
// user sees which chunks a resync will copy).
std::string DirtyChunkRanges(const raid1::BitmapGeometry& geometry, std::span<const std::byte> image);
// `mdadm --examine` fields for an md v1.2 superblock.
Report MdReport(const raid1::MdSuperblock& sb);

}  // namespace powercut::inspect

#endif  // POWERCUT_INSPECT_MD_REPORT_H_
