// End-to-end (Catch2, label e2e): Debian's mdadm 4.2 is an independent parser of what
// powercut writes.
//   - `mdadm -X FILE` on external bitmap files from the encoder and from a
//     WriteIntentBitmap's page writes: every printed field and the dirty count agree.
//   - `mdadm --examine FILE` on a member image: the md v1.2 superblock's fields and
//     md's checksum ("correct") agree.
//   - `mdadm -X /dev/loopN` on the same member, attached read-only: the internal bitmap
//     at bitmap_offset agrees (only as root with loop devices; skipped otherwise).
//   - `mdadm -X FILE` on the external bitmap a running Raid1Array keeps on a simulated
//     device (the device's image dumped to FILE): with writes in flight, between daemon
//     periods, after idle periods, and on crash images of the device: every field
//     agrees with the engine's bitmap superblock and the dirty count with its bits.
// Without mdadm (scripts/setup.sh installs it) every case is skipped with a warning;
// POWERCUT_MDADM=/path/to/mdadm picks another binary.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/raid1/bitmap_format.h"
#include "engine/raid1/md_superblock.h"
#include "engine/raid1/raid1.h"
#include "engine/raid1/write_intent_bitmap.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::raid1 {
namespace {

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

Result Shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = fread(chunk.data(), 1, chunk.size(), pipe)) > 0) output.append(chunk.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// POWERCUT_MDADM overrides the search ("none": behave as if mdadm were missing).
std::optional<std::string> FindMdadm() {
  if (const char* forced = std::getenv("POWERCUT_MDADM"); forced != nullptr) {
    if (std::string(forced) == "none" || access(forced, X_OK) != 0) return std::nullopt;
    return std::string(forced);
  }
  for (const char* path : {"/usr/sbin/mdadm", "/sbin/mdadm", "/usr/bin/mdadm"}) {
    if (access(path, X_OK) == 0) return std::string(path);
  }
  Result which = Shell("command -v mdadm");
  if (which.exit_code == 0 && !which.output.empty()) {
    return which.output.substr(0, which.output.find('\n'));
  }
  return std::nullopt;
}

// "   Key : value" lines of mdadm's reports, keyed by the trimmed key.
std::map<std::string, std::string> ParseReport(const std::string& output) {
  std::map<std::string, std::string> fields;
  size_t at = 0;
  while (at < output.size()) {
    size_t end = output.find('\n', at);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(at, end - at);
    at = end + 1;
    const size_t colon = line.find(" : ");
    if (colon == std::string::npos) continue;
    const size_t key_start = line.find_first_not_of(' ');
    if (key_start >= colon) continue;
    std::string key = line.substr(key_start, colon - key_start);
    key.erase(key.find_last_not_of(' ') + 1);
    std::string value = line.substr(colon + 3);
    value.erase(value.find_last_not_of(' ') + 1);
    fields[key] = value;
  }
  return fields;
}

std::filesystem::path TempDir() {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("powercut_mdadm_parity_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

void WriteFile(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string Printf(const char* format, auto... args) {
  char buffer[256];
  std::snprintf(buffer, sizeof(buffer), format, args...);
  return buffer;
}

std::string UuidText(const std::array<uint8_t, 16>& uuid) {
  std::string out;
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ':';
    out += Printf("%02x", uuid[i]);
  }
  return out;
}

// mdadm 4.2's human_size (util.c), for the sizes it appends in parentheses: centi-units
// rounded to nearest, MiB below 2 GiB, GiB below 2 TiB, else TiB.
std::string HumanSize(long long bytes) {
  auto centi = [bytes](long long unit_times_200, bool binary) {
    return static_cast<long>(binary ? (bytes * 200LL / unit_times_200 + 1) / 2
                                    : (bytes / unit_times_200 + 1) / 2);
  };
  const char* binary_unit;
  const char* decimal_unit;
  long binary, decimal;
  if (bytes < 5000 * 1024) return "";
  if (bytes < 2 * (1LL << 30)) {
    binary = centi(1LL << 20, true), decimal = centi(1000000LL / 200, false);
    binary_unit = "MiB", decimal_unit = "MB";
  } else if (bytes < 2 * (1LL << 40)) {
    binary = centi(1LL << 30, true), decimal = centi(1000000000LL / 200, false);
    binary_unit = "GiB", decimal_unit = "GB";
  } else {
    binary = centi(1LL << 40, true), decimal = centi(1000000000000LL / 200, false);
    binary_unit = "TiB", decimal_unit = "TB";
  }
  return Printf(" (%ld.%02ld %s %ld.%02ld %s)", binary / 100, binary % 100, binary_unit,
                decimal / 100, decimal % 100, decimal_unit);
}

std::string HumanChunk(uint64_t bytes) {
  const char* suffixes[] = {"B", "KB", "MB", "GB", "TB"};
  int i = 0;
  while (bytes >> 10) {
    bytes >>= 10;
    ++i;
  }
  return Printf("%llu %s", static_cast<unsigned long long>(bytes), suffixes[i]);
}

// Checks every field `mdadm -X` prints against the superblock and bits of `image`.
void CheckBitmapReport(const std::string& mdadm, const std::string& path,
                       std::span<const std::byte> image) {
  const BitmapSuper sb = *DecodeBitmapSuper(image);
  const BitmapGeometry geometry = *BitmapGeometry::For(sb);
  const uint64_t dirty = CountDirtyChunks(geometry, image);

  Result r = Shell(mdadm + " -X " + path);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::string> f = ParseReport(r.output);
  CHECK(f["Filename"] == path);
  CHECK(f["Magic"] == "6d746962");
  CHECK(f["Version"] == std::to_string(sb.version));
  CHECK(f["UUID"] == UuidText(sb.uuid));
  CHECK(f["Events"] == std::to_string(sb.events));
  CHECK(f["Events Cleared"] == std::to_string(sb.events_cleared));
  CHECK(f["State"] == (sb.state == 0                   ? "OK"
                       : sb.state == kBitmapStateStale ? "Out of date"
                                                       : "Unknown"));
  CHECK(f["Chunksize"] == HumanChunk(sb.chunksize));
  CHECK(f["Daemon"] == std::to_string(sb.daemon_sleep) + "s flush period");
  CHECK(f["Write Mode"] == (sb.write_behind == 0
                                ? std::string("Normal")
                                : "Allow write behind, max " + std::to_string(sb.write_behind)));
  CHECK(f["Sync Size"] ==
        std::to_string(sb.sync_size / 2) + HumanSize(static_cast<long long>(sb.sync_size * 512)));
  CHECK(f["Bitmap"] ==
        Printf("%llu bits (chunks), %llu dirty (%2.1f%%)",
               static_cast<unsigned long long>(geometry.chunks),
               static_cast<unsigned long long>(dirty),
               100.0 * static_cast<double>(dirty) / static_cast<double>(geometry.chunks)));
  CHECK(r.output.find("WARNING") == std::string::npos);
}

constexpr std::array<uint8_t, 16> kUuid = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67,
                                           0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76};

}  // namespace

TEST_CASE("mdadm -X reads external bitmap files the encoder writes", "[e2e]") {
  const std::optional<std::string> mdadm = FindMdadm();
  if (!mdadm) {
    WARN("SKIPPED: mdadm not installed (run scripts/setup.sh); cannot cross-check bitmaps");
    return;
  }
  struct Case {
    const char* name;
    BitmapSuper sb;
    double dirty_fraction;
    bool trailing_ones;  // set the don't-care bits past the last chunk
  };
  const std::vector<Case> cases = {
      {"64 KiB chunks, 1 GiB, clean state",
       {.uuid = kUuid,
        .events = 42,
        .events_cleared = 40,
        .sync_size = 2097152,
        .chunksize = 65536},
       0.1,
       false},
      {"one-sector chunks, a partial last byte with don't-care ones",
       {.uuid = kUuid,
        .events = 7,
        .events_cleared = 7,
        .sync_size = 100003,
        .chunksize = 512,
        .daemon_sleep = 1},
       0.5,
       true},
      {"4 KiB chunks, a partial last chunk, stale, write-behind",
       {.uuid = kUuid,
        .events = 1000,
        .events_cleared = 3,
        .sync_size = 2048003,
        .state = kBitmapStateStale,
        .chunksize = 4096,
        .daemon_sleep = 7,
        .write_behind = 256},
       0.01,
       false},
      {"64 MiB chunks over 2 TiB, host-endian version, every bit dirty",
       {.version = kBitmapVersionHostEndian,
        .uuid = kUuid,
        .events = (uint64_t{1} << 40) + 5,
        .events_cleared = uint64_t{1} << 40,
        .sync_size = uint64_t{1} << 32,
        .chunksize = 64 << 20,
        .daemon_sleep = 3600,
        .write_behind = kBitmapMaxWriteBehind},
       1.0,
       false},
      {"write error state bit shows as Unknown",
       {.uuid = kUuid,
        .events = 5,
        .events_cleared = 5,
        .sync_size = 4096,
        .state = kBitmapStateWriteError,
        .chunksize = 1 << 20},
       0.0,
       false},
  };
  const std::filesystem::path dir = TempDir();
  std::mt19937_64 rng(20261123);
  int index = 0;
  for (const Case& c : cases) {
    INFO(c.name);
    std::vector<std::byte> image = *NewBitmapImage(c.sb, /*all_dirty=*/false);
    const BitmapGeometry geometry = *BitmapGeometry::For(c.sb);
    for (uint64_t chunk = 0; chunk < geometry.chunks; ++chunk) {
      if (static_cast<double>(rng() % 1000000) < c.dirty_fraction * 1000000) {
        SetChunkBit(geometry, image, chunk, true);
      }
    }
    if (c.trailing_ones) {
      for (uint64_t bit = geometry.chunks; bit < (geometry.bytes - kBitmapSuperSize) * 8; ++bit) {
        SetChunkBit(geometry, image, bit, true);
      }
    }
    const std::filesystem::path path = dir / ("bitmap" + std::to_string(index++));
    WriteFile(path, image);
    CheckBitmapReport(*mdadm, path.string(), image);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("mdadm -X agrees with a bitmap file kept by WriteIntentBitmap's page writes", "[e2e]") {
  const std::optional<std::string> mdadm = FindMdadm();
  if (!mdadm) {
    WARN("SKIPPED: mdadm not installed (run scripts/setup.sh); cannot cross-check bitmaps");
    return;
  }
  // 200000 one-sector chunks: 25256 bytes in 7 pages, so writes cross page boundaries
  // and the last page is a short, rounded write.
  const BitmapSuper sb = {
      .uuid = kUuid, .events = 9, .events_cleared = 9, .sync_size = 200000, .chunksize = 512};
  std::vector<std::byte> file = *NewBitmapImage(sb, /*all_dirty=*/false);
  absl::StatusOr<WriteIntentBitmap> bitmap = WriteIntentBitmap::Load(
      file, {.array_uuid = kUuid, .array_events = 9, .resync_offset = kMdResyncDone},
      {.file = true});
  REQUIRE(bitmap.ok());
  auto apply = [&file](const std::vector<PageWrite>& writes) {
    for (const PageWrite& w : writes) {
      if (file.size() < w.range.end()) file.resize(w.range.end());
      std::copy(w.data.begin(), w.data.end(), file.begin() + static_cast<long>(w.range.offset));
    }
  };
  bitmap->set_array_events(12);
  apply({bitmap->UpdateSuper()});

  const std::filesystem::path dir = TempDir();
  const std::string path = (dir / "kept_bitmap").string();
  std::mt19937_64 rng(7);
  struct InFlight {
    uint64_t sector, sectors;
  };
  std::vector<InFlight> in_flight;
  for (int step = 0; step < 400; ++step) {
    const uint64_t sector = rng() % 199000;
    const uint64_t sectors = 1 + rng() % 64;
    REQUIRE(bitmap->StartWrite(sector, sectors, false));
    apply(bitmap->TakeUnplugWrites());  // I2: on "disk" before the data would go out
    in_flight.push_back({sector, sectors});
    if (in_flight.size() > 8 || rng() % 3 == 0) {
      const InFlight done = in_flight.front();
      in_flight.erase(in_flight.begin());
      bitmap->EndWrite(done.sector, done.sectors, /*success=*/rng() % 50 != 0, false);
    }
    if (step % 25 == 24) {
      if (bitmap->DaemonSweep()) apply(bitmap->TakeDaemonWrites());
      WriteFile(path, file);
      INFO("step " << step);
      CheckBitmapReport(*mdadm, path, file);
    }
  }
  // Drain: everything completes and the daemon clears all but the NEEDED chunks.
  for (const InFlight& done : in_flight) bitmap->EndWrite(done.sector, done.sectors, true, false);
  for (int sweep = 0; sweep < 4; ++sweep) {
    if (bitmap->DaemonSweep()) apply(bitmap->TakeDaemonWrites());
  }
  apply(bitmap->TakeUnplugWrites());
  apply({bitmap->UpdateSuper()});
  WriteFile(path, file);
  CheckBitmapReport(*mdadm, path, file);
  uint64_t needed = 0;
  for (const ChunkRange& run : bitmap->ResyncPlan()) needed += run.count;
  CHECK(CountDirtyChunks(bitmap->geometry(), file) == needed);
  CHECK(needed > 0);  // the failed writes
  std::filesystem::remove_all(dir);
}

namespace {

// A 2-member array's member 1: superblock at 4 KiB, bitmap 4 KiB after it, data at 1 MiB.
struct Member {
  MdSuperblock sb;
  BitmapSuper bitmap;
  std::vector<std::byte> bits;  // the whole bitmap image
  uint64_t sectors;
};

Member MakeMember() {
  Member m;
  m.sb.feature_map = kMdFeatureBitmapOffset;
  m.sb.set_uuid = kUuid;
  m.sb.set_name_from("powercut:parity");
  m.sb.ctime = 1700000000;
  m.sb.utime = 1700000600;
  m.sb.level = kMdLevelRaid1;
  m.sb.raid_disks = 2;
  m.sb.size = 20480;
  m.sb.bitmap_offset = 8;
  m.sb.data_offset = 2048;
  m.sb.data_size = 20480 + 64;
  m.sb.dev_number = 1;
  m.sb.device_uuid = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
  m.sb.events = 77;
  m.sb.resync_offset = 0;  // active: not cleanly stopped
  m.sb.dev_roles.assign(kMdDefaultMaxDev, kMdRoleSpare);
  m.sb.dev_roles[0] = 0;
  m.sb.dev_roles[1] = 1;
  m.bitmap = {.uuid = kUuid,
              .events = 77,
              .events_cleared = 70,
              .sync_size = 20480,
              .chunksize = 65536,
              .sectors_reserved = 2048 - 16};
  m.bits = *NewBitmapImage(m.bitmap, false);
  const BitmapGeometry geometry = *BitmapGeometry::For(m.bitmap);
  for (uint64_t chunk : {0, 3, 4, 159}) SetChunkBit(geometry, m.bits, chunk, true);
  m.sectors = m.sb.data_offset + m.sb.data_size;
  return m;
}

// The metadata area is written; the data area is left sparse (zeroes).
std::filesystem::path WriteMember(const Member& m, const std::filesystem::path& path) {
  std::vector<std::byte> head(m.sb.data_offset * 512, std::byte{0});
  const std::vector<std::byte> sb = EncodeMdSuperblock(m.sb);
  std::copy(sb.begin(), sb.end(), head.begin() + kMdSuperOffsetSectors * 512);
  std::copy(m.bits.begin(), m.bits.end(),
            head.begin() + static_cast<long>(m.sb.bitmap_start_sector() * 512));
  WriteFile(path, head);
  std::filesystem::resize_file(path, m.sectors * 512);
  return path;
}

}  // namespace

TEST_CASE("mdadm --examine reads the md v1.2 superblock of a member image", "[e2e]") {
  const std::optional<std::string> mdadm = FindMdadm();
  if (!mdadm) {
    WARN("SKIPPED: mdadm not installed (run scripts/setup.sh); cannot cross-check superblocks");
    return;
  }
  const std::filesystem::path dir = TempDir();
  Member m = MakeMember();
  for (bool clean : {false, true}) {
    m.sb.resync_offset = clean ? kMdResyncDone : 0;
    m.sb.devflags = clean ? kMdDevFlagWriteMostly : 0;
    const std::string path = WriteMember(m, dir / "member1.img").string();
    Result r = Shell(*mdadm + " --examine " + path);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::map<std::string, std::string> f = ParseReport(r.output);
    const time_t ctime = static_cast<time_t>(m.sb.ctime & 0xffffffffffULL);
    const time_t utime = static_cast<time_t>(m.sb.utime & 0xffffffffffULL);
    CHECK(f["Magic"] == "a92b4efc");
    CHECK(f["Version"] == "1.2");
    CHECK(f["Feature Map"] == "0x1");
    CHECK(f["Array UUID"] == UuidText(m.sb.set_uuid));
    CHECK(f["Name"] == m.sb.name());
    CHECK(f["Creation Time"] == std::string(std::ctime(&ctime)).substr(0, 24));
    CHECK(f["Raid Level"] == "raid1");
    CHECK(f["Raid Devices"] == "2");
    CHECK(f["Avail Dev Size"] == std::to_string(m.sb.data_size) + " sectors" +
                                     HumanSize(static_cast<long long>(m.sb.data_size * 512)));
    CHECK(f["Array Size"] == std::to_string(m.sb.size / 2) + " KiB" +
                                 HumanSize(static_cast<long long>(m.sb.size * 512)));
    CHECK(f["Used Dev Size"] == std::to_string(m.sb.size) + " sectors" +
                                    HumanSize(static_cast<long long>(m.sb.size * 512)));
    CHECK(f["Data Offset"] == "2048 sectors");
    CHECK(f["Super Offset"] == "8 sectors");
    CHECK(f["State"] == (clean ? "clean" : "active"));
    CHECK(f["Device UUID"] == UuidText(m.sb.device_uuid));
    CHECK(f["Internal Bitmap"] == "8 sectors from superblock");
    CHECK(f.count("Flags") == (clean ? 1u : 0u));
    if (clean) CHECK(f["Flags"] == "write-mostly");
    CHECK(f["Update Time"] == std::string(std::ctime(&utime)).substr(0, 24));
    CHECK(f["Checksum"] == Printf("%x - correct", MdSuperblockChecksum(EncodeMdSuperblock(m.sb))));
    CHECK(f["Events"] == "77");
    CHECK(f["Device Role"] == "Active device 1");
    CHECK(f["Array State"].substr(0, 2) == "AA");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("mdadm -X reads the internal bitmap of a member through a read-only loop device",
          "[e2e]") {
  const std::optional<std::string> mdadm = FindMdadm();
  if (!mdadm) {
    WARN("SKIPPED: mdadm not installed (run scripts/setup.sh); cannot cross-check bitmaps");
    return;
  }
  if (geteuid() != 0) {
    WARN("SKIPPED: not root, so no loop device for the member image (losetup -r needs root)");
    return;
  }
  const std::filesystem::path dir = TempDir();
  const Member m = MakeMember();
  const std::string path = WriteMember(m, dir / "member1.img").string();
  Result attach = Shell("losetup -r -f --show " + path);
  if (attach.exit_code != 0 || attach.output.rfind("/dev/loop", 0) != 0) {
    WARN("SKIPPED: losetup -r failed (no loop devices here?): " << attach.output);
    std::filesystem::remove_all(dir);
    return;
  }
  const std::string loop = attach.output.substr(0, attach.output.find('\n'));
  struct Detach {
    std::string device;
    ~Detach() { (void)std::system(("losetup -d " + device + " 2>/dev/null").c_str()); }
  } detach{loop};
  Result r = Shell(*mdadm + " -X " + loop);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::string> f = ParseReport(r.output);
  CHECK(f["Magic"] == "6d746962");
  CHECK(f["UUID"] == UuidText(m.bitmap.uuid));
  CHECK(f["Events"] == "77");
  CHECK(f["Events Cleared"] == "70");
  CHECK(f["State"] == "OK");
  CHECK(f["Chunksize"] == "64 KB");
  CHECK(f["Sync Size"] == "10240" + HumanSize(20480LL * 512));
  CHECK(f["Bitmap"] == "160 bits (chunks), 4 dirty (2.5%)");
  std::filesystem::remove_all(dir);
}

namespace {

std::vector<std::byte> ImageBytes(const sim::DiskImage& image, uint64_t sectors) {
  std::vector<std::byte> out(sectors * 512);
  image.Read(0, out);
  return out;
}

// What the engine's bitmap says, against what mdadm printed for the file (`f`).
void CheckAgainstEngine(std::map<std::string, std::string>& f, const WriteIntentBitmap& bitmap,
                        uint64_t file_dirty) {
  const BitmapSuper& sb = bitmap.super();
  CHECK(f["UUID"] == UuidText(sb.uuid));
  CHECK(f["Events"] == std::to_string(sb.events));
  CHECK(f["Events Cleared"] == std::to_string(sb.events_cleared));
  CHECK(f["Chunksize"] == HumanChunk(sb.chunksize));
  CHECK(f["Daemon"] == std::to_string(sb.daemon_sleep) + "s flush period");
  CHECK(f["Sync Size"] == std::to_string(sb.sync_size / 2) +
                              HumanSize(static_cast<long long>(sb.sync_size * 512)));
  const uint64_t chunks = bitmap.geometry().chunks;
  CHECK(f["Bitmap"].rfind(std::to_string(chunks) + " bits (chunks), " +
                              std::to_string(file_dirty) + " dirty",
                          0) == 0);
  // With no page waiting to be written, the file holds exactly the engine's bits.
  bool settled = true;
  for (uint64_t page = 0; page < bitmap.geometry().pages; ++page) {
    settled = settled && bitmap.page_attrs(page) == 0;
  }
  if (settled) CHECK(file_dirty == bitmap.dirty_chunks());
}

}  // namespace

TEST_CASE("mdadm -X agrees with the external bitmap file a running Raid1Array writes", "[e2e]") {
  const std::optional<std::string> mdadm = FindMdadm();
  if (!mdadm) {
    WARN("SKIPPED: mdadm not installed (run scripts/setup.sh); cannot cross-check bitmaps");
    return;
  }
  const std::filesystem::path dir = TempDir();
  const std::string path = (dir / "external_bitmap").string();
  sim::World world(20261123);
  // Slow members (writes stay in flight for a while), a volatile cache everywhere.
  sim::SimSsdOptions slow{.sectors = 16384 + 16};
  slow.write_latency = {runtime::Milliseconds(20), runtime::Milliseconds(60)};
  std::vector<std::unique_ptr<sim::SimSsd>> members;
  for (int i = 0; i < 2; ++i) {
    slow.name = "ssd" + std::to_string(i);
    members.push_back(*sim::SimSsd::Create(world, slow));
  }
  std::unique_ptr<sim::SimSsd> file =
      *sim::SimSsd::Create(world, {.name = "bitmap", .sectors = 64});
  Raid1Options options{.array_sectors = 16384, .chunk_sectors = 16, .daemon_sleep_s = 2};
  options.uuid = kUuid;
  options.bitmap_file = file.get();
  auto array = *Raid1Array::Open(world.scheduler(), {members[0].get(), members[1].get()}, options);
  const uint64_t file_sectors = array->geometry().bitmap_area_sectors;
  int checks = 0;
  // mdadm against our decoder on every field; for the file as the engine left it (not a
  // crash image, which may miss a write in flight), against the engine's bitmap too.
  auto check = [&](const std::vector<std::byte>& image, const char* when, bool engine) {
    INFO(when);
    WriteFile(path, image);
    CheckBitmapReport(*mdadm, path, image);
    if (engine) {
      Result r = Shell(*mdadm + " -X " + path);
      std::map<std::string, std::string> f = ParseReport(r.output);
      CheckAgainstEngine(f, array->bitmap(), CountDirtyChunks(array->geometry().bitmap, image));
    }
    ++checks;
  };
  sim::Prng crash_prng = world.ForkPrng("crash images");
  world.scheduler().Spawn("test", [&] {
    REQUIRE(array->Create().ok());
    check(ImageBytes(file->visible(), file_sectors), "freshly created", true);
    // Writes to 40 chunks, in flight at once.
    std::vector<runtime::Fiber> writers;
    const std::vector<std::byte> data(8 * 512, std::byte{0x5a});
    for (uint64_t k = 0; k < 40; ++k) {
      writers.push_back(world.scheduler().Spawn("writer", [&, k] {
        REQUIRE(io::WriteSync(world.scheduler(), *array, (k * 37 % 1024) * 16, data, io::kNoFlags)
                    .ok());
      }));
    }
    world.scheduler().SleepFor(runtime::Milliseconds(5));  // unplugged, data in flight
    const std::vector<std::byte> in_flight = ImageBytes(file->visible(), file_sectors);
    CHECK(CountDirtyChunks(array->geometry().bitmap, in_flight) == 40);
    check(in_flight, "40 writes in flight", true);
    // The bits were written with FUA before any data went out (I2): a power cut now
    // keeps all of them.
    const std::vector<std::byte> crashed = ImageBytes(file->CrashState().Sample(crash_prng), file_sectors);
    CHECK(CountDirtyChunks(array->geometry().bitmap, crashed) == 40);
    check(crashed, "crash image with writes in flight", false);
    for (const runtime::Fiber& w : writers) world.scheduler().Join(w);
    // One daemon period later the counters decay, the bits are still set; then the
    // clears reach the file.
    for (int period = 1; period <= 4; ++period) {
      world.scheduler().SleepFor(runtime::Seconds(2));
      const std::vector<std::byte> now = ImageBytes(file->visible(), file_sectors);
      check(now, "after a daemon period", true);
      check(ImageBytes(file->CrashState().Sample(crash_prng), file_sectors),
            "crash image after a daemon period", false);
      if (period == 1) CHECK(CountDirtyChunks(array->geometry().bitmap, now) == 40);
    }
    CHECK(array->bitmap().dirty_chunks() == 0);
    CHECK(CountDirtyChunks(array->geometry().bitmap, ImageBytes(file->durable(), file_sectors)) == 0);
    world.Crash();
  });
  const absl::Status run = world.Run(runtime::Seconds(600));
  CHECK((run.ok() || run.code() == absl::StatusCode::kCancelled));
  CHECK(checks == 11);
  world.Halt();
  std::filesystem::remove_all(dir);
}

}  // namespace powercut::raid1
