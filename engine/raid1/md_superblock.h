// The md version-1.2 superblock (`struct mdp_superblock_1`) of one RAID1 member.
//
// Layout of a member, as mdadm creates it with --metadata=1.2 and the kernel reads it:
//
//   sector 0      unused (4 KiB, left for partition tables / boot loaders)
//   sector 8      the md superblock: 256 bytes + 2 bytes per dev_roles slot, padded to
//                 the logical block size (super_offset = 8)
//   8 + bitmap_offset   the internal write-intent bitmap (bitmap_format.h), when
//                 feature_map has kMdFeatureBitmapOffset
//   data_offset   the member's data: data_size sectors, of which the array uses `size`
//
// All fields are little-endian. sb_csum is md's checksum: the sum of the little-endian
// 32-bit words of the first 256 + 2 * max_dev bytes (sb_csum itself taken as zero, a
// trailing 16-bit word added if max_dev is odd), folded once from 64 to 32 bits
// (calc_sb_1_csum in md.c and mdadm's super1.c).
//
//   MdSuperblock sb = {...};
//   std::vector<std::byte> bytes = EncodeMdSuperblock(sb);       // sb_csum computed
//   absl::StatusOr<MdSuperblock> back = DecodeMdSuperblock(bytes, member_sectors);
//
// DecodeMdSuperblock applies the checks of the kernel's super_1_load and names the
// offending field; it never crashes on arbitrary bytes (it is fuzzed).
//
// Threading: plain values and pure functions; safe from any thread.
#ifndef POWERCUT_ENGINE_RAID1_MD_SUPERBLOCK_H_
#define POWERCUT_ENGINE_RAID1_MD_SUPERBLOCK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace powercut::raid1 {

inline constexpr uint32_t kMdMagic = 0xa92b4efc;
inline constexpr uint32_t kMdMajorVersion = 1;
// Version 1.2: the superblock starts 4 KiB (8 sectors) from the member's start.
inline constexpr uint64_t kMdSuperOffsetSectors = 8;
inline constexpr size_t kMdSuperblockFixedSize = 256;
// The kernel reads at most 4 KiB, so dev_roles has at most (4096 - 256) / 2 slots.
inline constexpr uint32_t kMdMaxDevs = 1920;
// mdadm's default for small arrays: a one-sector superblock with 128 role slots.
inline constexpr uint32_t kMdDefaultMaxDev = 128;
// resync_offset of a clean array (MaxSector): everything is in sync.
inline constexpr uint64_t kMdResyncDone = ~uint64_t{0};
inline constexpr int32_t kMdLevelRaid1 = 1;

// dev_roles values other than a slot number.
inline constexpr uint16_t kMdRoleSpare = 0xffff;
inline constexpr uint16_t kMdRoleFaulty = 0xfffe;
inline constexpr uint16_t kMdRoleJournal = 0xfffd;
inline constexpr uint16_t kMdRoleMax = 0xff00;  // roles below this are active slots

// feature_map bits (md_p.h).
inline constexpr uint32_t kMdFeatureBitmapOffset = 1;    // internal bitmap at bitmap_offset
inline constexpr uint32_t kMdFeatureRecoveryOffset = 2;  // recovery_offset is meaningful
inline constexpr uint32_t kMdFeatureReshapeActive = 4;
inline constexpr uint32_t kMdFeatureBadBlocks = 8;
inline constexpr uint32_t kMdFeatureReplacement = 16;
inline constexpr uint32_t kMdFeatureReshapeBackwards = 32;
inline constexpr uint32_t kMdFeatureNewOffset = 64;
inline constexpr uint32_t kMdFeatureRecoveryBitmap = 128;  // recovery guided by the bitmap
inline constexpr uint32_t kMdFeatureClustered = 256;
inline constexpr uint32_t kMdFeatureJournal = 512;
inline constexpr uint32_t kMdFeaturePpl = 1024;
inline constexpr uint32_t kMdFeatureMultiplePpls = 2048;
inline constexpr uint32_t kMdFeatureRaid0Layout = 4096;
inline constexpr uint32_t kMdFeatureAll = 8191;  // every bit the kernel knows

// devflags bits.
inline constexpr uint8_t kMdDevFlagWriteMostly = 1;
inline constexpr uint8_t kMdDevFlagFailFast = 2;

// The decoded superblock. Field names, units (512-byte sectors unless noted) and order
// are those of struct mdp_superblock_1; the byte offset of each is in the comment.
struct MdSuperblock {
  // constant array information
  uint32_t feature_map = 0;            //   8
  std::array<uint8_t, 16> set_uuid{};  //  16  the array uuid
  std::array<char, 32> set_name{};     //  32  "host:name", NUL-padded
  uint64_t ctime = 0;                  //  64  low 40 bits seconds
  int32_t level = kMdLevelRaid1;       //  72
  uint32_t layout = 0;                 //  76
  uint64_t size = 0;                   //  80  sectors of each member the array uses
  uint32_t chunksize = 0;              //  88  sectors (0 for RAID1)
  uint32_t raid_disks = 0;             //  92
  int32_t bitmap_offset = 0;           //  96  sectors from the superblock (signed)
  uint32_t new_level = 0;              // 100  (reshape fields, feature bit 4)
  uint64_t reshape_position = 0;       // 104
  uint32_t delta_disks = 0;            // 112
  uint32_t new_layout = 0;             // 116
  uint32_t new_chunk = 0;              // 120
  uint32_t new_offset = 0;             // 124
  // constant this-device information
  uint64_t data_offset = 0;                       // 128  first data sector on this member
  uint64_t data_size = 0;                         // 136  sectors usable for data
  uint64_t super_offset = kMdSuperOffsetSectors;  // 144  where this superblock is
  uint64_t recovery_offset = 0;                   // 152  recovered up to here (feature bit 2)
  uint32_t dev_number = 0;                        // 160  index into dev_roles (not the role)
  uint32_t cnt_corrected_read = 0;                // 164
  std::array<uint8_t, 16> device_uuid{};          // 168
  uint8_t devflags = 0;                           // 184  kMdDevFlag*
  uint8_t bblog_shift = 0;                        // 185
  uint16_t bblog_size = 0;                        // 186
  uint32_t bblog_offset = 0;                      // 188
  // array state information
  uint64_t utime = 0;          // 192
  uint64_t events = 0;         // 200  bumped on every superblock update
  uint64_t resync_offset = 0;  // 208  in sync below this; kMdResyncDone = clean
  // 216 sb_csum (computed), 220 max_dev (= dev_roles.size()), 224..255 zero padding.
  std::vector<uint16_t> dev_roles;  // 256  role of each dev_number

  bool clean() const { return resync_offset == kMdResyncDone; }
  bool has_internal_bitmap() const { return (feature_map & kMdFeatureBitmapOffset) != 0; }
  bool write_mostly() const { return (devflags & kMdDevFlagWriteMostly) != 0; }
  // The role of this member (kMdRoleSpare when dev_number has no slot), as md reads it.
  uint16_t role() const;
  // set_name up to its first NUL.
  std::string name() const;
  void set_name_from(std::string_view name);  // truncated to 32 bytes
  // First sector of the internal bitmap on the member (super_offset + bitmap_offset).
  int64_t bitmap_start_sector() const { return static_cast<int64_t>(super_offset) + bitmap_offset; }

  bool operator==(const MdSuperblock&) const = default;
};

// Bytes the superblock occupies on disk: 256 + 2 * max_dev, rounded up to
// `logical_block_size` (what the kernel reads and writes as rdev->sb_size).
uint64_t MdSuperblockBytes(uint32_t max_dev, uint32_t logical_block_size = 512);

// md's sb_csum of an encoded superblock: over 256 + 2 * max_dev bytes (max_dev read
// from offset 220), the stored sb_csum treated as zero. Bytes missing from a short span
// are left out of the sum; 0 for fewer than 256 bytes.
uint32_t MdSuperblockChecksum(std::span<const std::byte> bytes);

// Checks the rules DecodeMdSuperblock enforces on the fields alone (everything but
// magic, version, padding and checksum). `member_sectors`, if known, is the member's
// size, to check that the data area fits.
[[nodiscard]] absl::Status ValidateMdSuperblock(const MdSuperblock& sb,
                                                std::optional<uint64_t> member_sectors);

// The on-disk bytes: MdSuperblockBytes(dev_roles.size()) long, with sb_csum computed.
// REQUIRES: dev_roles.size() <= kMdMaxDevs. Does not validate the fields.
std::vector<std::byte> EncodeMdSuperblock(const MdSuperblock& sb);

// Decodes and validates a superblock read from kMdSuperOffsetSectors (at most 4 KiB).
[[nodiscard]] absl::StatusOr<MdSuperblock> DecodeMdSuperblock(
    std::span<const std::byte> bytes, std::optional<uint64_t> member_sectors = std::nullopt);

}  // namespace powercut::raid1

#endif  // POWERCUT_ENGINE_RAID1_MD_SUPERBLOCK_H_
