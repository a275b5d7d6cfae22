// End-to-end tests (Catch2, label e2e) of the CLI commands that serve the write-back
// cache and the other new engines: `inspect --format writecache`, run on cache-device
// images the engine wrote (writecache_image_for_test.h) and on corrupted copies, and
// `scenario`, whose output `replay` must accept.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "nlohmann/json.hpp"
#include "tools/powercut/cli_for_test.h"
#include "tools/powercut/writecache_image_for_test.h"

namespace {

using powercut::tools::Fields;
using powercut::tools::Result;

Result Run(const std::string& args) { return powercut::tools::RunBinary(POWERCUT_BINARY, args); }

// Writes `bytes` to a fresh file in the test's temporary folder and returns its path.
std::string TempFile(const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "powercut_cli_writecache_test";
  std::filesystem::create_directories(dir);
  const std::filesystem::path path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

// Little-endian u64 at `offset` of an image held in a string.
void PutU64(std::string& bytes, uint64_t offset, uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes[offset + i] = static_cast<char>(value >> (8 * i));
}
uint64_t GetU64(const std::string& bytes, uint64_t offset) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | static_cast<uint8_t>(bytes[offset + i]);
  return value;
}

constexpr uint64_t kStart = 8;             // the cache area starts 4 KiB in
constexpr uint64_t kSuper = kStart * 512;  // superblock offset in the image
uint64_t EntryAt(uint64_t i) { return kSuper + 64 + 16 * i; }

}  // namespace

TEST_CASE("inspect --format writecache decodes an image the engine wrote, like dmsetup status", "[e2e]") {
  const std::string path = TempFile("wc.img", powercut::tools::EngineWriteCacheImage(kStart));
  Result r = Run("inspect --format writecache --start-sector 8 " + path);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  const auto fields = Fields(r.output);
  CHECK(fields.at("Magic") == "23489321");
  CHECK(fields.at("Version") == "1");
  CHECK(fields.at("Block Size") == "4096 bytes");
  CHECK(fields.at("n_blocks") == "64");
  CHECK(fields.at("seq_count") == "2");
  CHECK(fields.at("Committed") == "12");
  CHECK(fields.at("Free") == "52");
  CHECK(fields.at("Cached Blocks") == "12");
  CHECK(fields.at("Data Offset") == "16 sectors");
  CHECK(fields.at("Status") == "0 64 52 0 0 0 0 0 0 0 0 0 0 0");
  CHECK(r.output.find("INCONSISTENT") == std::string::npos);

  Result json = Run("inspect --format writecache --start-sector 8 --json " + path);
  REQUIRE(json.exit_code == 0);
  const nlohmann::json parsed = nlohmann::json::parse(json.output);
  REQUIRE(parsed.size() == 1);
  CHECK(parsed[0]["fields"]["free"] == "52");
  CHECK(parsed[0]["fields"]["error"] == "0");
  CHECK(parsed[0]["inconsistencies"].empty());
}

TEST_CASE("inspect --format writecache counts uncommitted entries and duplicates as recovery would", "[e2e]") {
  std::string image = powercut::tools::EngineWriteCacheImage(kStart);
  const uint64_t seq = GetU64(image, kSuper + 24);
  PutU64(image, EntryAt(40), 400);  // an entry of the open epoch: freed by recovery
  PutU64(image, EntryAt(40) + 8, seq);
  REQUIRE(GetU64(image, EntryAt(0)) == 0);  // entry 0: sector 0, committed in epoch 0
  REQUIRE(GetU64(image, EntryAt(0) + 8) == 0);
  PutU64(image, EntryAt(41), 0);  // an older version of sector 0 ...
  PutU64(image, EntryAt(41) + 8, 0);
  PutU64(image, EntryAt(0) + 8, 1);  // ... than entry 0, now of epoch 1
  Result r = Run("inspect --format writecache --start-sector 8 " + TempFile("wc_dup.img", image));
  INFO(r.output);
  CHECK(r.exit_code == 0);
  const auto fields = Fields(r.output);
  CHECK(fields.at("Uncommitted") == "1 (freed by recovery)");
  CHECK(fields.at("Committed") == "13");
  CHECK(fields.at("Duplicates").rfind("1 ", 0) == 0);
  CHECK(fields.at("Status") == "0 64 52 0 0 0 0 0 0 0 0 0 0 0");
}

TEST_CASE("inspect --format writecache reports equal-seq duplicates and entries past the origin", "[e2e]") {
  std::string image = powercut::tools::EngineWriteCacheImage(kStart);
  image.replace(EntryAt(50), 16, image.substr(EntryAt(3), 16));  // same sector, same seq
  const std::string path = TempFile("wc_equal.img", image);
  Result r = Run("inspect --format writecache --start-sector 8 " + path);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("INCONSISTENT: entries 3 and 50 are both committed for sector 24") !=
        std::string::npos);
  CHECK(Fields(r.output).at("error") == "-22");

  const std::string clean = TempFile("wc_clean.img", powercut::tools::EngineWriteCacheImage(kStart));
  Result past = Run("inspect --format writecache --start-sector 8 --origin-sectors 80 " + clean);
  INFO(past.output);
  CHECK(past.exit_code == 1);
  CHECK(Fields(past.output).at("Past Origin") == "2");
  CHECK(past.output.find("past the end of the origin (80 sectors)") != std::string::npos);
}

TEST_CASE("inspect --format writecache rejects corrupt and truncated images with exit 2 and a reason", "[e2e]") {
  const std::string good = powercut::tools::EngineWriteCacheImage(kStart);
  std::string bad_magic = good;
  bad_magic[kSuper] ^= 1;
  std::string bad_version = good;
  bad_version[kSuper + 4] = 7;
  std::string bad_block_size = good;
  PutU64(bad_block_size, kSuper + 8, 1000);
  std::string huge = good;
  PutU64(huge, kSuper + 16, uint64_t{1} << 40);
  std::string zero_blocks = good;
  PutU64(zero_blocks, kSuper + 16, 0);
  std::string half_formatted = good;
  PutU64(half_formatted, kSuper, uint64_t{1} << 32);  // magic 0, version 1
  std::string random(64 * 1024, '\0');
  uint64_t x = 99;
  for (char& c : random) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<char>(x >> 56);
  }
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"wc_empty.img", "", "past the end of the image (0 sectors)"},
      {"wc_zeros.img", std::string(8192, '\0'), "never formatted"},
      {"wc_random.img", random, "invalid magic"},
      {"wc_magic.img", bad_magic, "invalid magic"},
      {"wc_version.img", bad_version, "invalid version 7"},
      {"wc_bs.img", bad_block_size, "invalid block size"},
      {"wc_huge.img", huge, "truncated"},
      {"wc_zero_blocks.img", zero_blocks, "n_blocks 0"},
      {"wc_half.img", half_formatted, "formatting did not finish"},
      {"wc_short_meta.img", good.substr(0, kSuper + 100), "truncated"},
      {"wc_short_data.img", good.substr(0, good.size() - 512), "truncated"},
      {"wc_tiny.img", good.substr(0, kSuper + 30), "ends 30 bytes into"},
  };
  for (const auto& [name, bytes, reason] : cases) {
    Result r = Run("inspect --format writecache --start-sector 8 " + TempFile(name, bytes));
    INFO(name << ": " << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("not a valid writecache cache device") != std::string::npos);
    CHECK(r.output.find(reason) != std::string::npos);
  }
  const std::string path = TempFile("wc_ok.img", good);
  Result no_start = Run("inspect --format writecache " + path);  // the area starts at 8
  CHECK(no_start.exit_code == 2);
  CHECK(no_start.output.find("never formatted") != std::string::npos);
  Result past_end = Run("inspect --format writecache --start-sector 99999999999 " + path);
  CHECK(past_end.exit_code == 2);
  CHECK(past_end.output.find("past the end of the image") != std::string::npos);
  Result wrong_format = Run("inspect --format md --start-sector 8 " + path);
  CHECK(wrong_format.exit_code == 2);
  CHECK(wrong_format.output.find("need --format writecache") != std::string::npos);
  CHECK(Run("inspect --format writecache --start-sector -1 " + path).exit_code == 2);
}

TEST_CASE("inspect --format writecache reads a huge sparse cache in bounded memory", "[e2e]") {
  // A superblock claiming 2^26 blocks of 512 bytes over a sparse file of 33 GiB: every
  // entry reads as zeroes (committed for sector 0 with seq_count 0). The metadata area
  // alone is 1 GiB; inspect once read it whole (and, at 2^31 blocks, aborted).
  const uint64_t n_blocks = uint64_t{1} << 26;
  std::string superblock(64, '\0');
  PutU64(superblock, 0, (uint64_t{1} << 32 | 0x23489321u));  // version 1, magic
  PutU64(superblock, 8, 512);                                 // block_size, pad
  PutU64(superblock, 16, n_blocks);
  PutU64(superblock, 24, 5);                                  // seq_count
  const std::string path = TempFile("huge_sparse_cache.img", superblock);
  const uint64_t metadata = (64 + 16 * n_blocks + 511) / 512 * 512;
  std::filesystem::resize_file(path, metadata + n_blocks * 512);
#if defined(__SANITIZE_ADDRESS__)
  const std::string limit;  // AddressSanitizer's shadow memory does not run under ulimit -v
#else
  const std::string limit = "ulimit -v 400000; ";
#endif
  const Result r = powercut::tools::RunBinary(limit + POWERCUT_BINARY, "inspect --format writecache " + path);
  std::filesystem::remove(path);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  const std::map<std::string, std::string> fields = Fields(r.output);
  CHECK(fields.at("Committed") == "67108864");
  CHECK(fields.at("Cached Blocks") == "1");
  CHECK(fields.at("error") == "-22");
  CHECK(r.output.find("... and 67108853 more like the above") != std::string::npos);
}

TEST_CASE("scenario prints a family's seed as a replay file that replays with its verdict", "[e2e]") {
  for (const char* family : {"writecache", "writecache-drain", "raid1", "linear"}) {
    Result r = Run(std::string("scenario --family ") + family + " --seed 7 --images 2");
    INFO(family << ": " << r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.rfind("powercut-replay 1\n", 0) == 0);
    CHECK(r.output.find("images: 2") != std::string::npos);
    CHECK(r.output.find(std::string("of the ") + family + " scenario family") != std::string::npos);
    Result again = Run(std::string("scenario --family ") + family + " --seed 7 --images 2");
    CHECK(again.output == r.output);
    const std::string path = TempFile(std::string(family) + ".replay", r.output);
    Result replay = Run("replay " + path);
    INFO(replay.output);
    CHECK(replay.exit_code == 0);
  }
  const std::string out = std::filesystem::temp_directory_path() / "powercut_cli_writecache_test" / "o.replay";
  Result written = Run("scenario --family raid1 --seed 1 --comment 'two mirrors' -o " + out);
  CHECK(written.exit_code == 0);
  std::ifstream in(out);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  CHECK(second == "comment: two mirrors");
}

TEST_CASE("scenario rejects unknown families and bad flags with exit 2", "[e2e]") {
  Result unknown = Run("scenario --family nosuch --seed 1");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.output.find("unknown family 'nosuch' (known: linear") != std::string::npos);
  CHECK(Run("scenario --seed 1").exit_code == 2);
  CHECK(Run("scenario --family raid1 --seed banana").exit_code == 2);
  CHECK(Run("scenario --family raid1 --seed 1 --images 0").exit_code == 2);
  CHECK(Run("scenario --family raid1 --seed 1 -o /no/such/dir/x.replay").exit_code == 2);
  Result help = Run("scenario --help");
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("--family") != std::string::npos);
}
