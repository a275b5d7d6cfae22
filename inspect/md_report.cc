#include "inspect/md_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace powercut::inspect {

std::string UuidText(const std::array<uint8_t, 16>& uuid) {
  std::string out;
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ':';
    absl::StrAppendFormat(&out, "%02x", uuid[i]);
  }
  return out;
}

std::string HumanSize(uint64_t bytes_unsigned) {
  const auto bytes = static_cast<long long>(bytes_unsigned);
  if (bytes < 5000 * 1024) return "";
  long long binary_unit, decimal_unit;
  const char *binary_name, *decimal_name;
  if (bytes < 2 * (1LL << 30)) {
    binary_unit = 1LL << 20, decimal_unit = 1000000LL, binary_name = "MiB", decimal_name = "MB";
  } else if (bytes < 2 * (1LL << 40)) {
    binary_unit = 1LL << 30, decimal_unit = 1000000000LL, binary_name = "GiB", decimal_name = "GB";
  } else {
    binary_unit = 1LL << 40, decimal_unit = 1000000000000LL, binary_name = "TiB", decimal_name = "TB";
  }
  // Centi-units rounded to nearest, as mdadm computes them.
  const long long binary = (bytes * 200 / binary_unit + 1) / 2;
  const long long decimal = (bytes / (decimal_unit / 200) + 1) / 2;
  return absl::StrFormat(" (%d.%02d %s %d.%02d %s)", binary / 100, binary % 100, binary_name,
                         decimal / 100, decimal % 100, decimal_name);
}

std::string HumanChunk(uint64_t bytes) {
  static const char* kSuffixes[] = {"B", "KB", "MB", "GB", "TB"};
  int i = 0;
  while ((bytes >> 10) != 0 && i < 4) {
    bytes >>= 10;
    ++i;
  }
  return absl::StrCat(bytes, " ", kSuffixes[i]);
}

std::string Report::Text() const {
  std::string out;
  for (const auto& [name, value] : fields) absl::StrAppendFormat(&out, "%16s : %s\n", name, value);
  for (const std::string& problem : problems) absl::StrAppend(&out, "     INCONSISTENT: ", problem, "\n");
  return out;
}

Report BitmapReport(const std::string& filename, const raid1::BitmapSuper& sb,
                    std::span<const std::byte> image) {
  Report report;
  auto add = [&report](std::string name, std::string value) {
    report.fields.emplace_back(std::move(name), std::move(value));
  };
  add("Filename", filename);
  add("Magic", absl::StrFormat("%08x", raid1::kBitmapMagic));
  add("Version", absl::StrCat(sb.version));
  add("UUID", UuidText(sb.uuid));
  add("Events", absl::StrCat(sb.events));
  add("Events Cleared", absl::StrCat(sb.events_cleared));
  add("State", sb.state == 0 ? "OK" : sb.state == raid1::kBitmapStateStale ? "Out of date" : "Unknown");
  add("Chunksize", HumanChunk(sb.chunksize));
  add("Daemon", absl::StrCat(sb.daemon_sleep, "s flush period"));
  add("Write Mode", sb.write_behind == 0 ? std::string("Normal")
                                         : absl::StrCat("Allow write behind, max ", sb.write_behind));
  add("Sync Size", absl::StrCat(sb.sync_size / 2, HumanSize(sb.sync_size * 512)));
  if (sb.events_cleared > sb.events) {
    report.problems.push_back(absl::StrCat("events_cleared ", sb.events_cleared,
                                           " is above events ", sb.events, " (I6)"));
  }
  absl::StatusOr<raid1::BitmapGeometry> geometry = raid1::BitmapGeometry::For(sb);
  if (!geometry.ok()) {
    report.problems.push_back(std::string(geometry.status().message()));
    return report;
  }
  uint64_t dirty = 0;
  if (image.size() >= geometry->bytes) {
    dirty = raid1::CountDirtyChunks(*geometry, image);
  } else {
    report.problems.push_back(absl::StrCat("image holds ", image.size(), " bytes, the bitmap needs ",
                                           geometry->bytes, "; missing bits counted clean"));
    for (uint64_t chunk = 0; chunk < geometry->chunks && geometry->ByteOfChunk(chunk) < image.size();
         ++chunk) {
      dirty += raid1::TestChunkBit(*geometry, image, chunk);
    }
  }
  add("Bitmap", absl::StrFormat("%d bits (chunks), %d dirty (%2.1f%%)", geometry->chunks, dirty,
                                100.0 * static_cast<double>(dirty) /
                                    static_cast<double>(geometry->chunks)));
  add("Dirty Chunks", DirtyChunkRanges(*geometry, image));
  return report;
}

std::string DirtyChunkRanges(const raid1::BitmapGeometry& geometry, std::span<const std::byte> image) {
  constexpr size_t kMaxRanges = 64;
  std::string out;
  size_t ranges = 0;
  for (uint64_t chunk = 0; chunk < geometry.chunks && geometry.ByteOfChunk(chunk) < image.size();) {
    if (!raid1::TestChunkBit(geometry, image, chunk)) {
      ++chunk;
      continue;
    }
    uint64_t last = chunk;
    while (last + 1 < geometry.chunks && geometry.ByteOfChunk(last + 1) < image.size() &&
           raid1::TestChunkBit(geometry, image, last + 1)) {
      ++last;
    }
    if (++ranges <= kMaxRanges) {
      absl::StrAppend(&out, out.empty() ? "" : ", ", chunk);
      if (last > chunk) absl::StrAppend(&out, "-", last);
    }
    chunk = last + 1;
  }
  if (ranges == 0) return "none";
  if (ranges > kMaxRanges) absl::StrAppend(&out, ", ... (", ranges - kMaxRanges, " more ranges)");
  return out;
}

Report MdReport(const raid1::MdSuperblock& sb) {
  Report report;
  auto add = [&report](std::string name, std::string value) {
    report.fields.emplace_back(std::move(name), std::move(value));
  };
  add("Magic", absl::StrFormat("%x", raid1::kMdMagic));
  add("Version", "1.2");
  add("Feature Map", absl::StrFormat("0x%x", sb.feature_map));
  add("Array UUID", UuidText(sb.set_uuid));
  add("Name", sb.name());
  add("Raid Level", sb.level == raid1::kMdLevelRaid1 ? "raid1" : absl::StrCat("level ", sb.level));
  add("Raid Devices", absl::StrCat(sb.raid_disks));
  add("Avail Dev Size", absl::StrCat(sb.data_size, " sectors", HumanSize(sb.data_size * 512)));
  add("Array Size", absl::StrCat(sb.size / 2, " KiB", HumanSize(sb.size * 512)));
  add("Used Dev Size", absl::StrCat(sb.size, " sectors", HumanSize(sb.size * 512)));
  add("Data Offset", absl::StrCat(sb.data_offset, " sectors"));
  add("Super Offset", absl::StrCat(sb.super_offset, " sectors"));
  add("State", sb.clean() ? "clean" : "active");
  add("Device UUID", UuidText(sb.device_uuid));
  if (sb.has_internal_bitmap()) add("Internal Bitmap", absl::StrCat(sb.bitmap_offset, " sectors from superblock"));
  if (sb.write_mostly()) add("Flags", "write-mostly");
  add("Events", absl::StrCat(sb.events));
  if (!sb.clean()) add("Resync Offset", absl::StrCat(sb.resync_offset, " sectors"));
  const uint16_t role = sb.role();
  add("Device Role", role < raid1::kMdRoleMax ? absl::StrCat("Active device ", role)
                     : role == raid1::kMdRoleFaulty ? "Faulty" : "spare");
  std::string state;
  for (uint32_t slot = 0; slot < sb.raid_disks; ++slot) {
    bool active = false;
    for (uint16_t r : sb.dev_roles) active = active || r == slot;
    state += active ? 'A' : '.';
  }
  add("Array State", absl::StrCat(state, " ('A' == active, '.' == missing, 'R' == replacing)"));
  return report;
}

}  // namespace powercut::inspect
