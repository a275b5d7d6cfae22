// Raid1Array's layout and formatting (raid1.h): Raid1Geometry::For computes and
// validates where everything is on a member and on the bitmap device (I14: the last
// bitmap page's write stays inside the bitmap area); FormatMember / FormatBitmapFile
// give the bytes of a freshly formatted member and bitmap file without IO; Create()
// writes them and assembles.
//
// Durability: Create() writes the bitmap file (FUA) first, then on every member the
// internal bitmap, then the md superblock, each phase PREFLUSH|FUA and waited for, so
// no md superblock is durable before the bitmap it describes (I5).
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/raid1/internal/metadata.h"
#include "engine/raid1/raid1.h"

namespace powercut::raid1 {
namespace {

constexpr uint64_t kSectorsPerPage = kBitmapPageSize / io::kSectorSize;

uint64_t RoundUp(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

BitmapSuper NewBitmapSuper(const Raid1Geometry& geometry, const Raid1Options& options) {
  return BitmapSuper{.uuid = options.uuid,
                     .sync_size = geometry.array_sectors,
                     .chunksize = static_cast<uint32_t>(geometry.chunk_sectors * io::kSectorSize),
                     .daemon_sleep = options.daemon_sleep_s,
                     .write_behind = options.write_behind,
                     .sectors_reserved = static_cast<uint32_t>(geometry.bitmap_area_sectors)};
}

}  // namespace

namespace internal {

MdSuperblock NewMdSuperblock(const Raid1Geometry& geometry, const Raid1Options& options,
                             uint32_t mirrors, uint32_t index) {
  MdSuperblock sb;
  // A file bitmap leaves no trace in the md superblock (super_1_sync): no feature bit,
  // no offset.
  sb.feature_map = geometry.external_bitmap ? 0 : kMdFeatureBitmapOffset;
  sb.set_uuid = options.uuid;
  sb.set_name_from(options.name);
  sb.level = kMdLevelRaid1;
  sb.size = geometry.array_sectors;
  sb.raid_disks = mirrors;
  sb.bitmap_offset = geometry.external_bitmap ? 0 : kRaid1BitmapOffset;
  sb.data_offset = geometry.data_offset;
  sb.data_size = geometry.member_sectors - geometry.data_offset;
  sb.super_offset = geometry.super_sector;
  sb.dev_number = index;
  if ((options.write_mostly_mask >> index) & 1) sb.devflags = kMdDevFlagWriteMostly;
  sb.device_uuid = options.uuid;
  sb.device_uuid[15] ^= static_cast<uint8_t>(0x80 | index);
  sb.events = 0;
  sb.resync_offset = kMdResyncDone;
  sb.dev_roles.assign(kMdDefaultMaxDev, kMdRoleSpare);
  for (uint32_t i = 0; i < mirrors; ++i) sb.dev_roles[i] = static_cast<uint16_t>(i);
  return sb;
}

}  // namespace internal

using internal::kMetadataWrite;
using internal::NewMdSuperblock;

absl::StatusOr<Raid1Geometry> Raid1Geometry::For(uint64_t member_sectors,
                                                 const Raid1Options& options) {
  return For(member_sectors, options, options.bitmap_file != nullptr);
}

absl::StatusOr<Raid1Geometry> Raid1Geometry::For(uint64_t member_sectors,
                                                 const Raid1Options& options,
                                                 bool external_bitmap) {
  if (options.chunk_sectors == 0 || (options.chunk_sectors & (options.chunk_sectors - 1)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: bitmap chunk of ", options.chunk_sectors,
                                                   " sectors is not a power of two"));
  }
  if (options.chunk_sectors * io::kSectorSize > (uint64_t{1} << 31)) {
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: bitmap chunk of ", options.chunk_sectors, " sectors is too large"));
  }
  if (options.daemon_sleep_s == 0) {
    return absl::InvalidArgumentError("raid1: daemon_sleep must be at least 1 second");
  }
  Raid1Geometry g;
  g.member_sectors = member_sectors;
  g.chunk_sectors = options.chunk_sectors;
  g.external_bitmap = external_bitmap;
  if (external_bitmap) g.bitmap_sector = 0;  // on the bitmap device
  // What the members hold before their data: the md superblock, and an internal bitmap.
  const uint64_t metadata_end = external_bitmap ? g.super_sector + 1 : g.bitmap_sector;
  if (member_sectors <= metadata_end + kSectorsPerPage) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: a member of ", member_sectors,
                                                   " sectors has no room for metadata and data"));
  }
  // The bitmap is sized for the array, which (when not given) is what the bitmap leaves:
  // size it for the largest possible array, then fix the array size.
  const uint64_t wanted =
      options.array_sectors != 0 ? options.array_sectors : member_sectors - metadata_end;
  absl::StatusOr<BitmapGeometry> sizing =
      BitmapGeometry::For(wanted, static_cast<uint32_t>(options.chunk_sectors * io::kSectorSize));
  if (!sizing.ok()) return sizing.status();
  const uint64_t needed = sizing->pages * kSectorsPerPage;
  g.bitmap_area_sectors = options.bitmap_area_sectors != 0 ? options.bitmap_area_sectors : needed;
  const uint64_t member_metadata_end =
      external_bitmap ? metadata_end : g.bitmap_sector + g.bitmap_area_sectors;
  g.data_offset = options.data_offset != 0 ? options.data_offset
                                           : RoundUp(member_metadata_end, kSectorsPerPage);
  if (g.data_offset < member_metadata_end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raid1: data_offset ", g.data_offset, " overlaps the ",
        external_bitmap ? "md superblock" : "bitmap area", " (sectors up to ", member_metadata_end,
        ")"));
  }
  if (options.write_behind > kBitmapMaxWriteBehind) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: write_behind ", options.write_behind,
                                                   " is above ", kBitmapMaxWriteBehind));
  }
  if (g.data_offset >= member_sectors) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: members of ", member_sectors,
                                                   " sectors leave no room for data after a ",
                                                   g.bitmap_area_sectors, "-sector bitmap"));
  }
  g.array_sectors =
      options.array_sectors != 0 ? options.array_sectors : member_sectors - g.data_offset;
  if (g.array_sectors > member_sectors - g.data_offset) {
    return absl::InvalidArgumentError(
        absl::StrCat("raid1: ", g.array_sectors, " array sectors do not fit after data_offset ",
                     g.data_offset, " on members of ", member_sectors, " sectors"));
  }
  absl::StatusOr<BitmapGeometry> bitmap = BitmapGeometry::For(
      g.array_sectors, static_cast<uint32_t>(options.chunk_sectors * io::kSectorSize));
  if (!bitmap.ok()) return bitmap.status();
  g.bitmap = *bitmap;
  // I14: the last page's write must stay inside the area.
  absl::StatusOr<ByteRange> last =
      g.bitmap.PageWriteRange(g.bitmap.pages - 1, io::kSectorSize, g.bitmap_area_bytes());
  if (!last.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("raid1: bitmap area of ", g.bitmap_area_sectors,
                                                   " sectors is too small for a ", g.bitmap.bytes,
                                                   "-byte bitmap (", g.bitmap.chunks, " chunks)"));
  }
  return g;
}

MetadataBlock Raid1Array::FormatBitmapFile(const Raid1Geometry& geometry,
                                           const Raid1Options& options) {
  std::vector<std::byte> bitmap = *NewBitmapImage(NewBitmapSuper(geometry, options), false);
  bitmap.resize(RoundUp(bitmap.size(), io::kSectorSize));
  return {geometry.bitmap_sector, std::move(bitmap)};
}

std::vector<MetadataBlock> Raid1Array::FormatMember(const Raid1Geometry& geometry,
                                                    const Raid1Options& options, uint32_t mirrors,
                                                    uint32_t index) {
  std::vector<MetadataBlock> blocks;
  if (!geometry.external_bitmap) blocks.push_back(FormatBitmapFile(geometry, options));
  // The bitmap superblock before the md superblock (I5).
  blocks.push_back(
      {geometry.super_sector, EncodeMdSuperblock(NewMdSuperblock(
                                  geometry, options, static_cast<uint32_t>(mirrors), index))});
  return blocks;
}

absl::Status Raid1Array::Create() {
  const uint32_t mirrors = static_cast<uint32_t>(members_.size());
  std::vector<std::vector<MetadataBlock>> blocks;
  for (uint32_t i = 0; i < mirrors; ++i) blocks.push_back(FormatMember(geometry_, options_, mirrors, i));
  if (external()) {  // the bitmap file before any md superblock (I5)
    const MetadataBlock file = FormatBitmapFile(geometry_, options_);
    if (absl::Status s =
            io::WriteSync(scheduler_, *options_.bitmap_file, file.sector, file.bytes, io::kFua);
        !s.ok()) {
      return s;
    }
  }
  // Internal: the bitmaps, then the md superblocks (I5).
  for (size_t phase = 0; phase < blocks[0].size(); ++phase) {
    io::IoBatch batch(scheduler_, "raid1 format");
    for (uint32_t i = 0; i < mirrors; ++i) {
      const MetadataBlock& block = blocks[i][phase];
      batch.Write(*members_[i], block.sector, block.bytes, kMetadataWrite);
    }
    if (absl::Status s = batch.Wait(); !s.ok()) return s;
  }
  return Assemble();
}

}  // namespace powercut::raid1
