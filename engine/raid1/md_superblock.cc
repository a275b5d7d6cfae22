#include "engine/raid1/md_superblock.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/io/little_endian.h"

namespace powercut::raid1 {
namespace {

using io::LoadLe;
using io::StoreLe;

// Field offsets of struct mdp_superblock_1 (include/uapi/linux/raid/md_p.h).
constexpr size_t kOffMagic = 0;
constexpr size_t kOffMajorVersion = 4;
constexpr size_t kOffFeatureMap = 8;
constexpr size_t kOffPad0 = 12;
constexpr size_t kOffSetUuid = 16;
constexpr size_t kOffSetName = 32;
constexpr size_t kOffCtime = 64;
constexpr size_t kOffLevel = 72;
constexpr size_t kOffLayout = 76;
constexpr size_t kOffSize = 80;
constexpr size_t kOffChunksize = 88;
constexpr size_t kOffRaidDisks = 92;
constexpr size_t kOffBitmapOffset = 96;
constexpr size_t kOffNewLevel = 100;
constexpr size_t kOffReshapePosition = 104;
constexpr size_t kOffDeltaDisks = 112;
constexpr size_t kOffNewLayout = 116;
constexpr size_t kOffNewChunk = 120;
constexpr size_t kOffNewOffset = 124;
constexpr size_t kOffDataOffset = 128;
constexpr size_t kOffDataSize = 136;
constexpr size_t kOffSuperOffset = 144;
constexpr size_t kOffRecoveryOffset = 152;
constexpr size_t kOffDevNumber = 160;
constexpr size_t kOffCntCorrectedRead = 164;
constexpr size_t kOffDeviceUuid = 168;
constexpr size_t kOffDevflags = 184;
constexpr size_t kOffBblogShift = 185;
constexpr size_t kOffBblogSize = 186;
constexpr size_t kOffBblogOffset = 188;
constexpr size_t kOffUtime = 192;
constexpr size_t kOffEvents = 200;
constexpr size_t kOffResyncOffset = 208;
constexpr size_t kOffSbCsum = 216;
constexpr size_t kOffMaxDev = 220;
constexpr size_t kOffPad3 = 224;
constexpr size_t kOffDevRoles = 256;
static_assert(kOffPad3 + 32 == kOffDevRoles, "mdp_superblock_1 is 256 bytes before dev_roles");

absl::Status Invalid(std::string_view field, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("md superblock: ", absl::string_view(field.data(), field.size()), ": ", why));
}

uint64_t SuperblockSectors(uint32_t max_dev) { return MdSuperblockBytes(max_dev) / 512; }

}  // namespace

uint16_t MdSuperblock::role() const {
  return dev_number < dev_roles.size() ? dev_roles[dev_number] : kMdRoleSpare;
}

std::string MdSuperblock::name() const {
  const auto end = std::find(set_name.begin(), set_name.end(), '\0');
  return std::string(set_name.begin(), end);
}

void MdSuperblock::set_name_from(std::string_view name) {
  set_name.fill('\0');
  std::copy_n(name.begin(), std::min(name.size(), set_name.size()), set_name.begin());
}

uint64_t MdSuperblockBytes(uint32_t max_dev, uint32_t logical_block_size) {
  const uint64_t raw = kMdSuperblockFixedSize + 2 * uint64_t{max_dev};
  return (raw + logical_block_size - 1) / logical_block_size * logical_block_size;
}

uint32_t MdSuperblockChecksum(std::span<const std::byte> bytes) {
  if (bytes.size() < kMdSuperblockFixedSize) return 0;
  const uint32_t max_dev = LoadLe<uint32_t>(bytes, kOffMaxDev);
  uint64_t size = std::min<uint64_t>(kMdSuperblockFixedSize + 2 * uint64_t{max_dev},
                                     bytes.size() & ~uint64_t{1});
  uint64_t sum = 0;
  size_t at = 0;
  for (; size >= 4; size -= 4, at += 4) {
    if (at != kOffSbCsum) sum += LoadLe<uint32_t>(bytes, at);
  }
  if (size == 2) sum += LoadLe<uint16_t>(bytes, at);
  // One fold, as md does; a carry out of it is dropped.
  return static_cast<uint32_t>((sum & 0xffffffff) + (sum >> 32));
}

absl::Status ValidateMdSuperblock(const MdSuperblock& sb, std::optional<uint64_t> member_sectors) {
  if (sb.dev_roles.size() > kMdMaxDevs) {
    return Invalid("max_dev", absl::StrCat(sb.dev_roles.size(), " role slots exceed ", kMdMaxDevs,
                                           " (a 4 KiB superblock)"));
  }
  const auto max_dev = static_cast<uint32_t>(sb.dev_roles.size());
  if (sb.super_offset != kMdSuperOffsetSectors) {
    return Invalid("super_offset",
                   absl::StrCat(sb.super_offset, " is not 8 (a version-1.2 superblock)"));
  }
  if ((sb.feature_map & ~kMdFeatureAll) != 0) {
    return Invalid("feature_map",
                   absl::StrFormat("unknown feature bits 0x%x", sb.feature_map & ~kMdFeatureAll));
  }
  if (sb.data_size < 10) {
    return Invalid("data_size", absl::StrCat(sb.data_size, " sectors is below 10"));
  }
  const uint64_t sb_end = sb.super_offset + SuperblockSectors(max_dev);
  if (sb.data_offset < sb_end) {
    return Invalid(
        "data_offset",
        absl::StrCat(sb.data_offset, " overlaps the superblock, which ends at sector ", sb_end));
  }
  if (sb.size > sb.data_size) {
    return Invalid("size", absl::StrCat(sb.size, " sectors used exceeds data_size ", sb.data_size));
  }
  if (member_sectors.has_value() &&
      (sb.data_offset > *member_sectors || sb.data_size > *member_sectors - sb.data_offset)) {
    return Invalid("data_size",
                   absl::StrCat(sb.data_size, " sectors at data_offset ", sb.data_offset,
                                " run past the end of the ", *member_sectors, "-sector member"));
  }
  if (sb.has_internal_bitmap()) {
    const int64_t start = sb.bitmap_start_sector();
    if (start < static_cast<int64_t>(sb_end)) {
      return Invalid("bitmap_offset",
                     absl::StrCat(sb.bitmap_offset, " puts the bitmap at sector ", start,
                                  ", inside the superblock (which ends at ", sb_end, ")"));
    }
    if (static_cast<uint64_t>(start) >= sb.data_offset) {
      return Invalid("bitmap_offset",
                     absl::StrCat(sb.bitmap_offset, " puts the bitmap at sector ", start,
                                  ", not before data_offset ", sb.data_offset));
    }
  }
  return absl::OkStatus();
}

std::vector<std::byte> EncodeMdSuperblock(const MdSuperblock& sb) {
  const auto max_dev = static_cast<uint32_t>(sb.dev_roles.size());
  std::vector<std::byte> out(MdSuperblockBytes(max_dev), std::byte{0});
  std::span<std::byte> b(out);
  StoreLe<uint32_t>(b, kOffMagic, kMdMagic);
  StoreLe<uint32_t>(b, kOffMajorVersion, kMdMajorVersion);
  StoreLe<uint32_t>(b, kOffFeatureMap, sb.feature_map);
  std::memcpy(out.data() + kOffSetUuid, sb.set_uuid.data(), sb.set_uuid.size());
  std::memcpy(out.data() + kOffSetName, sb.set_name.data(), sb.set_name.size());
  StoreLe<uint64_t>(b, kOffCtime, sb.ctime);
  StoreLe<uint32_t>(b, kOffLevel, static_cast<uint32_t>(sb.level));
  StoreLe<uint32_t>(b, kOffLayout, sb.layout);
  StoreLe<uint64_t>(b, kOffSize, sb.size);
  StoreLe<uint32_t>(b, kOffChunksize, sb.chunksize);
  StoreLe<uint32_t>(b, kOffRaidDisks, sb.raid_disks);
  StoreLe<uint32_t>(b, kOffBitmapOffset, static_cast<uint32_t>(sb.bitmap_offset));
  StoreLe<uint32_t>(b, kOffNewLevel, sb.new_level);
  StoreLe<uint64_t>(b, kOffReshapePosition, sb.reshape_position);
  StoreLe<uint32_t>(b, kOffDeltaDisks, sb.delta_disks);
  StoreLe<uint32_t>(b, kOffNewLayout, sb.new_layout);
  StoreLe<uint32_t>(b, kOffNewChunk, sb.new_chunk);
  StoreLe<uint32_t>(b, kOffNewOffset, sb.new_offset);
  StoreLe<uint64_t>(b, kOffDataOffset, sb.data_offset);
  StoreLe<uint64_t>(b, kOffDataSize, sb.data_size);
  StoreLe<uint64_t>(b, kOffSuperOffset, sb.super_offset);
  StoreLe<uint64_t>(b, kOffRecoveryOffset, sb.recovery_offset);
  StoreLe<uint32_t>(b, kOffDevNumber, sb.dev_number);
  StoreLe<uint32_t>(b, kOffCntCorrectedRead, sb.cnt_corrected_read);
  std::memcpy(out.data() + kOffDeviceUuid, sb.device_uuid.data(), sb.device_uuid.size());
  StoreLe<uint8_t>(b, kOffDevflags, sb.devflags);
  StoreLe<uint8_t>(b, kOffBblogShift, sb.bblog_shift);
  StoreLe<uint16_t>(b, kOffBblogSize, sb.bblog_size);
  StoreLe<uint32_t>(b, kOffBblogOffset, sb.bblog_offset);
  StoreLe<uint64_t>(b, kOffUtime, sb.utime);
  StoreLe<uint64_t>(b, kOffEvents, sb.events);
  StoreLe<uint64_t>(b, kOffResyncOffset, sb.resync_offset);
  StoreLe<uint32_t>(b, kOffMaxDev, max_dev);
  for (uint32_t i = 0; i < max_dev; ++i) {
    StoreLe<uint16_t>(b, kOffDevRoles + 2 * size_t{i}, sb.dev_roles[i]);
  }
  StoreLe<uint32_t>(b, kOffSbCsum, MdSuperblockChecksum(out));
  return out;
}

absl::StatusOr<MdSuperblock> DecodeMdSuperblock(std::span<const std::byte> bytes,
                                                std::optional<uint64_t> member_sectors) {
  if (bytes.size() < kMdSuperblockFixedSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("md superblock: truncated: ", bytes.size(), " of 256 bytes"));
  }
  const uint32_t magic = LoadLe<uint32_t>(bytes, kOffMagic);
  if (magic != kMdMagic) {
    return Invalid("magic", absl::StrFormat("0x%08x is not 0xa92b4efc", magic));
  }
  const uint32_t major = LoadLe<uint32_t>(bytes, kOffMajorVersion);
  if (major != kMdMajorVersion) {
    return Invalid("major_version", absl::StrCat(major, " is not 1"));
  }
  const uint32_t max_dev = LoadLe<uint32_t>(bytes, kOffMaxDev);
  if (max_dev > kMdMaxDevs) {
    return Invalid("max_dev", absl::StrCat(max_dev, " exceeds ", kMdMaxDevs));
  }
  if (bytes.size() < kMdSuperblockFixedSize + 2 * size_t{max_dev}) {
    return Invalid("max_dev", absl::StrCat(max_dev, " role slots need ",
                                           kMdSuperblockFixedSize + 2 * size_t{max_dev},
                                           " bytes, only ", bytes.size(), " given"));
  }
  const uint32_t stored_csum = LoadLe<uint32_t>(bytes, kOffSbCsum);
  const uint32_t csum = MdSuperblockChecksum(bytes);
  if (stored_csum != csum) {
    return Invalid("sb_csum", absl::StrFormat("stored 0x%08x, computed 0x%08x", stored_csum, csum));
  }
  if (LoadLe<uint32_t>(bytes, kOffPad0) != 0) return Invalid("pad0", "not zero");
  for (size_t i = kOffPad3; i < kOffDevRoles; ++i) {
    if (bytes[i] != std::byte{0}) return Invalid("pad3", absl::StrCat("byte ", i, " not zero"));
  }

  MdSuperblock sb;
  sb.feature_map = LoadLe<uint32_t>(bytes, kOffFeatureMap);
  std::memcpy(sb.set_uuid.data(), bytes.data() + kOffSetUuid, sb.set_uuid.size());
  std::memcpy(sb.set_name.data(), bytes.data() + kOffSetName, sb.set_name.size());
  sb.ctime = LoadLe<uint64_t>(bytes, kOffCtime);
  sb.level = static_cast<int32_t>(LoadLe<uint32_t>(bytes, kOffLevel));
  sb.layout = LoadLe<uint32_t>(bytes, kOffLayout);
  sb.size = LoadLe<uint64_t>(bytes, kOffSize);
  sb.chunksize = LoadLe<uint32_t>(bytes, kOffChunksize);
  sb.raid_disks = LoadLe<uint32_t>(bytes, kOffRaidDisks);
  sb.bitmap_offset = static_cast<int32_t>(LoadLe<uint32_t>(bytes, kOffBitmapOffset));
  sb.new_level = LoadLe<uint32_t>(bytes, kOffNewLevel);
  sb.reshape_position = LoadLe<uint64_t>(bytes, kOffReshapePosition);
  sb.delta_disks = LoadLe<uint32_t>(bytes, kOffDeltaDisks);
  sb.new_layout = LoadLe<uint32_t>(bytes, kOffNewLayout);
  sb.new_chunk = LoadLe<uint32_t>(bytes, kOffNewChunk);
  sb.new_offset = LoadLe<uint32_t>(bytes, kOffNewOffset);
  sb.data_offset = LoadLe<uint64_t>(bytes, kOffDataOffset);
  sb.data_size = LoadLe<uint64_t>(bytes, kOffDataSize);
  sb.super_offset = LoadLe<uint64_t>(bytes, kOffSuperOffset);
  sb.recovery_offset = LoadLe<uint64_t>(bytes, kOffRecoveryOffset);
  sb.dev_number = LoadLe<uint32_t>(bytes, kOffDevNumber);
  sb.cnt_corrected_read = LoadLe<uint32_t>(bytes, kOffCntCorrectedRead);
  std::memcpy(sb.device_uuid.data(), bytes.data() + kOffDeviceUuid, sb.device_uuid.size());
  sb.devflags = LoadLe<uint8_t>(bytes, kOffDevflags);
  sb.bblog_shift = LoadLe<uint8_t>(bytes, kOffBblogShift);
  sb.bblog_size = LoadLe<uint16_t>(bytes, kOffBblogSize);
  sb.bblog_offset = LoadLe<uint32_t>(bytes, kOffBblogOffset);
  sb.utime = LoadLe<uint64_t>(bytes, kOffUtime);
  sb.events = LoadLe<uint64_t>(bytes, kOffEvents);
  sb.resync_offset = LoadLe<uint64_t>(bytes, kOffResyncOffset);
  sb.dev_roles.resize(max_dev);
  for (uint32_t i = 0; i < max_dev; ++i) {
    sb.dev_roles[i] = LoadLe<uint16_t>(bytes, kOffDevRoles + 2 * size_t{i});
  }
  absl::Status valid = ValidateMdSuperblock(sb, member_sectors);
  if (!valid.ok()) return valid;
  return sb;
}

}  // namespace powercut::raid1
