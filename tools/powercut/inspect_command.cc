#include "tools/powercut/inspect_command.h"

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "inspect/md_report.h"
#include "inspect/writecache_report.h"
#include "nlohmann/json.hpp"

namespace powercut::tools {
namespace {

using inspect::BitmapReport;
using inspect::MdReport;
using inspect::Report;
using inspect::WriteCacheReport;
using inspect::WriteCacheGeometry;
using inspect::WriteCacheReportOptions;

// Largest metadata read: a bitmap of kBitmapMaxChunks bits plus its superblock.
constexpr uint64_t kMaxMetadataBytes = raid1::kBitmapSuperSize + raid1::kBitmapMaxChunks / 8;

// Reads up to `length` bytes at `offset`; fewer if the file is shorter.
absl::StatusOr<std::vector<std::byte>> ReadAt(const std::string& path, uint64_t offset,
                                              uint64_t length) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return absl::DataLossError(absl::StrCat(path, ": cannot determine its size"));
  const uint64_t file_size = static_cast<uint64_t>(size);
  if (offset >= file_size) return std::vector<std::byte>();
  const uint64_t n = std::min(length, file_size - offset);
  std::vector<std::byte> bytes(n);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n));
  if (!in) return absl::DataLossError(absl::StrCat(path, ": read failed"));
  return bytes;
}

// Reads a bitmap (superblock + bits) at `offset` and reports it.
absl::StatusOr<Report> InspectBitmapAt(const std::string& path, uint64_t offset,
                                       const std::string& label) {
  absl::StatusOr<std::vector<std::byte>> head = ReadAt(path, offset, raid1::kBitmapSuperSize);
  if (!head.ok()) return head.status();
  absl::StatusOr<raid1::BitmapSuper> sb = raid1::DecodeBitmapSuper(*head);
  if (!sb.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": not a valid bitmap superblock: ",
                                                   sb.status().message()));
  }
  absl::StatusOr<raid1::BitmapGeometry> geometry = raid1::BitmapGeometry::For(*sb);
  const uint64_t want = geometry.ok() ? std::min(geometry->bytes, kMaxMetadataBytes)
                                      : raid1::kBitmapSuperSize;
  absl::StatusOr<std::vector<std::byte>> image = ReadAt(path, offset, want);
  if (!image.ok()) return image.status();
  return BitmapReport(label, *sb, *image);
}

absl::StatusOr<uint64_t> FileSize(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  const std::streamoff size = in.tellg();
  if (size < 0) return absl::DataLossError(absl::StrCat(path, ": cannot determine its size"));
  return static_cast<uint64_t>(size);
}

// A cache device's area: its byte offset in the image (options.start_sector) once the
// superblock's geometry is checked against what the image holds, so a corrupt n_blocks
// never makes anything read or allocate more than the file holds.
absl::StatusOr<uint64_t> CacheAreaOffset(const InspectCommandOptions& options,
                                         writecache::Geometry& geometry) {
  const uint64_t start_sector = options.start_sector.value_or(0);
  absl::StatusOr<uint64_t> size = FileSize(options.image);
  if (!size.ok()) return size.status();
  const std::string invalid = absl::StrCat(options.image, ": not a valid writecache cache device");
  if (start_sector > *size / 512) {
    return absl::InvalidArgumentError(absl::StrCat(invalid, ": --start-sector ", start_sector,
                                                   " is past the end of the image (", *size / 512,
                                                   " sectors)"));
  }
  const uint64_t offset = start_sector * 512;
  absl::StatusOr<std::vector<std::byte>> head = ReadAt(options.image, offset, writecache::kSuperblockBytes);
  if (!head.ok()) return head.status();
  absl::StatusOr<writecache::Geometry> checked = WriteCacheGeometry(*head);
  if (!checked.ok()) return absl::InvalidArgumentError(absl::StrCat(invalid, ": ", checked.status().message()));
  const uint64_t area = *size - offset;
  const uint64_t needed = checked->metadata_bytes + checked->n_blocks * checked->block_size;
  if (area < needed) {
    return absl::InvalidArgumentError(absl::StrCat(
        invalid, ": truncated: ", checked->n_blocks, " blocks of ", checked->block_size,
        " bytes and their metadata need ", needed, " bytes from sector ", start_sector,
        ", the image has ", area));
  }
  geometry = *checked;
  return offset;
}

absl::StatusOr<Report> InspectWriteCache(const InspectCommandOptions& options) {
  writecache::Geometry geometry;
  absl::StatusOr<uint64_t> offset = CacheAreaOffset(options, geometry);
  if (!offset.ok()) return offset.status();
  const inspect::CacheAreaReader read = [&](uint64_t at, uint64_t length) {
    return ReadAt(options.image, *offset + at, length);
  };
  absl::StatusOr<Report> report = WriteCacheReport(
      options.image, read,
      {.start_sector = options.start_sector.value_or(0), .origin_sectors = options.origin_sectors});
  if (!report.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.image, ": not a valid writecache cache device: ", report.status().message()));
  }
  return report;
}

}  // namespace

absl::StatusOr<std::vector<Report>> InspectImage(const InspectCommandOptions& options) {
  if (options.format != "writecache" && (options.start_sector || options.origin_sectors)) {
    return absl::InvalidArgumentError("--start-sector and --origin-sectors need --format writecache");
  }
  if (options.format == "writecache") {
    absl::StatusOr<Report> report = InspectWriteCache(options);
    if (!report.ok()) return report.status();
    return std::vector<Report>{*report};
  }
  if (options.format == "bitmap") {
    absl::StatusOr<Report> report = InspectBitmapAt(options.image, 0, options.image);
    if (!report.ok()) return report.status();
    return std::vector<Report>{*report};
  }
  absl::StatusOr<raid1::MdSuperblock> sb = ReadMdSuperblock(options);
  if (!sb.ok()) return sb.status();
  std::vector<Report> reports = {MdReport(*sb)};
  if (sb->has_internal_bitmap()) {
    const int64_t start = sb->bitmap_start_sector();
    if (start < 0) {
      reports[0].problems.push_back("internal bitmap offset points before the device start");
      return reports;
    }
    absl::StatusOr<Report> bitmap = InspectBitmapAt(options.image, static_cast<uint64_t>(start) * 512,
                                                    absl::StrCat(options.image, " (internal bitmap)"));
    if (!bitmap.ok()) {
      reports[0].problems.push_back(std::string(bitmap.status().message()));
      return reports;
    }
    // I5: the bitmap's events must not lag the superblock's, or it is stale.
    absl::StatusOr<std::vector<std::byte>> head =
        ReadAt(options.image, static_cast<uint64_t>(start) * 512, raid1::kBitmapSuperSize);
    if (head.ok()) {
      absl::StatusOr<raid1::BitmapSuper> bsb = raid1::DecodeBitmapSuper(*head);
      if (bsb.ok() && bsb->events < sb->events && !bsb->stale()) {
        bitmap->problems.push_back(absl::StrCat("bitmap events ", bsb->events,
                                                " lag the superblock's ", sb->events,
                                                ": the bitmap is stale (I5)"));
      }
      if (bsb.ok() && bsb->uuid != sb->set_uuid) {
        bitmap->problems.push_back("bitmap uuid differs from the array uuid");
      }
    }
    reports.push_back(*bitmap);
  }
  return reports;
}


absl::StatusOr<std::vector<std::byte>> ReadWriteCacheMetadata(const InspectCommandOptions& options) {
  writecache::Geometry geometry;
  absl::StatusOr<uint64_t> offset = CacheAreaOffset(options, geometry);
  if (!offset.ok()) return offset.status();
  if (geometry.metadata_bytes > kMaxCacheMetadataBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.image, ": ", geometry.n_blocks, " blocks need ", geometry.metadata_bytes,
        " bytes of metadata, more than the ", kMaxCacheMetadataBytes,
        " recovery holds in memory (inspect reads a cache of any size)"));
  }
  return ReadAt(options.image, *offset, geometry.metadata_bytes);
}

absl::StatusOr<raid1::MdSuperblock> ReadMdSuperblock(const InspectCommandOptions& options) {
  // md v1.2: the superblock 4 KiB in.
  const uint64_t super_offset = raid1::kMdSuperOffsetSectors * 512;
  absl::StatusOr<std::vector<std::byte>> bytes = ReadAt(options.image, super_offset, 4096);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<uint64_t> size = FileSize(options.image);
  if (!size.ok()) return size.status();
  absl::StatusOr<raid1::MdSuperblock> sb = raid1::DecodeMdSuperblock(*bytes, *size / 512);
  if (!sb.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(options.image, ": not a valid md v1.2 superblock: ",
                                                   sb.status().message()));
  }
  // What a report would otherwise believe: only RAID1 members, and no more devices
  // than the superblock has role slots for (max_dev, at most kMdMaxDevs).
  if (sb->level != raid1::kMdLevelRaid1) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.image, ": not a valid member for powercut: raid level ", sb->level,
                     " (powercut inspects RAID1, level ", raid1::kMdLevelRaid1, ", members only)"));
  }
  if (sb->raid_disks > sb->dev_roles.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.image, ": not a valid md v1.2 superblock: raid_disks ", sb->raid_disks,
        " exceeds its ", sb->dev_roles.size(), " role slots (max_dev)"));
  }
  return sb;
}

absl::StatusOr<raid1::BitmapSuper> ReadBitmapSuper(const InspectCommandOptions& options,
                                                   uint64_t offset) {
  absl::StatusOr<std::vector<std::byte>> head = ReadAt(options.image, offset, raid1::kBitmapSuperSize);
  if (!head.ok()) return head.status();
  absl::StatusOr<raid1::BitmapSuper> sb = raid1::DecodeBitmapSuper(*head);
  if (!sb.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(options.image, ": not a valid bitmap superblock at byte ",
                                                   offset, ": ", sb.status().message()));
  }
  return sb;
}

int RunInspectCommand(const InspectCommandOptions& options, std::ostream& out, std::ostream& err) {
  absl::StatusOr<std::vector<Report>> reports = InspectImage(options);
  if (!reports.ok()) {
    err << "powercut inspect: " << reports.status().message() << "\n";
    return 2;
  }
  bool consistent = true;
  if (options.json) {
    nlohmann::json json = nlohmann::json::array();
    for (const Report& report : *reports) {
      nlohmann::json fields = nlohmann::json::object();
      for (const auto& [name, value] : report.fields) fields[name] = value;
      json.push_back({{"fields", fields}, {"inconsistencies", report.problems}});
      consistent = consistent && report.problems.empty();
    }
    out << json.dump(2) << "\n";
  } else {
    for (size_t i = 0; i < reports->size(); ++i) {
      if (i > 0) out << "\n";
      out << (*reports)[i].Text();
      consistent = consistent && (*reports)[i].problems.empty();
    }
  }
  return consistent ? 0 : 1;
}

}  // namespace powercut::tools
