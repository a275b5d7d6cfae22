// End-to-end tests of the powercut binary (Catch2, label e2e): they run the real
// executable and check its exit codes and output.
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <tuple>
#include <vector>
#include <filesystem>
#include <map>
#include <fstream>
#include <string>

#include "engine/raid1/md_superblock.h"
#include "nlohmann/json.hpp"
#include "tools/powercut/cli_for_test.h"

namespace {

using powercut::tools::Fields;
using powercut::tools::Result;
using powercut::tools::RunBinary;

Result Run(const std::string& args) { return RunBinary(POWERCUT_BINARY, args); }

// Writes `text` to a fresh file in the test's temporary folder and returns its path.
std::string TempFile(const std::string& name, const std::string& text) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "powercut_cli_test";
  std::filesystem::create_directories(dir);
  const std::filesystem::path path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

const std::string kCorpus = POWERCUT_CORPUS_DIR;

}  // namespace

TEST_CASE("run prints a summary table and passes on correct engines", "[e2e]") {
  Result r = Run("run --seeds 30 --images 2");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("crash images") != std::string::npos);
  CHECK(r.output.find("linear") != std::string::npos);
  CHECK(r.output.find("PASS") != std::string::npos);
}

TEST_CASE("run --json is machine-readable and deterministic", "[e2e]") {
  Result a = Run("run --seeds 20 --json --determinism-every 5");
  Result b = Run("run --seeds 20 --json --determinism-every 5");
  REQUIRE(a.exit_code == 0);
  CHECK(a.output.find("\"passed\": true") != std::string::npos);
  CHECK(a.output.find("\"determinism_failures\": 0") != std::string::npos);
  // Only the wall-clock fields may differ between two runs.
  auto strip_seconds = [](std::string s) {
    size_t at;
    while ((at = s.find("\"seconds\":")) != std::string::npos) {
      size_t end = s.find_first_of(",\n}", at);
      s.erase(at, end - at);
    }
    return s;
  };
  CHECK(strip_seconds(a.output) == strip_seconds(b.output));
}

TEST_CASE("bad flags are usage errors with exit code 2", "[e2e]") {
  CHECK(Run("").exit_code == 2);
  CHECK(Run("frobnicate").exit_code == 2);
  CHECK(Run("run --seeds 0").exit_code == 2);
  CHECK(Run("run --seeds banana").exit_code == 2);
  CHECK(Run("run --no-such-flag").exit_code == 2);
}

TEST_CASE("run refuses a failure folder it cannot write before running a seed", "[e2e]") {
  const Result result = powercut::tools::RunBinary(
      std::string("POWERCUT_FAILURE_DIR=/proc/powercut-nope ") + POWERCUT_BINARY,
      "run --families linear --seeds 1");
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output, Catch::Matchers::Contains("/proc/powercut-nope"));
  CHECK_THAT(result.output, Catch::Matchers::Contains("POWERCUT_FAILURE_DIR"));
}

TEST_CASE("an interrupted run prints the summary of what ran and exits 128+signal", "[e2e]") {
  for (const auto& [signal, code] : {std::pair{"INT", 130}, std::pair{"TERM", 143}}) {
    // A campaign far longer than the signal's delay; the shell's exit status is the
    // run's own.
    const Result result = powercut::tools::RunBinary(
        "sh", "-c '" + std::string(POWERCUT_BINARY) +
                  " run --families linear --seeds 100000000 --max-seconds 600 & pid=$!; "
                  "sleep 1; kill -" + signal + " $pid; wait $pid; echo exit=$?'");
    CHECK_THAT(result.output, Catch::Matchers::Contains("INTERRUPTED"));
    CHECK_THAT(result.output, Catch::Matchers::Contains("exit=" + std::to_string(code)));
  }
}

TEST_CASE("valid files with a long daemon period or slow devices never hit the harness's time limit",
          "[e2e]") {
  // Both once failed with DEADLINE_EXCEEDED after an hour of virtual time.
  const std::string base = Run("scenario --family raid1 --seed 1").output;
  REQUIRE(base.find("daemon_sleep_s=1\n") != std::string::npos);
  REQUIRE(base.find("write_latency=20000-250000") != std::string::npos);
  std::string slow_daemon = base;
  slow_daemon.replace(slow_daemon.find("daemon_sleep_s=1\n"), 17, "daemon_sleep_s=1200\n");
  std::string slow_device = base;
  slow_device.replace(slow_device.find("write_latency=20000-250000"), 26,
                      "write_latency=20000-7200000000000");
  for (const auto& [name, text] : {std::pair{"daemon.replay", slow_daemon},
                                   std::pair{"device.replay", slow_device}}) {
    const Result result = Run("replay " + TempFile(name, text));
    CHECK(result.exit_code == 0);
    CHECK_THAT(result.output, !Catch::Matchers::Contains("DEADLINE_EXCEEDED"));
  }
}

// 64 writes of `sectors` sectors each on a linear device of 2^31 sectors.
std::string BigWrites(uint64_t sectors) {
  std::string text =
      "powercut-replay 1\nengine: linear\nparam: logical_sectors=2147483648\nseed: 1\n"
      "crash: seeded\nimages: 4\nexpect: pass\nclients: 1\n";
  for (uint64_t i = 0; i < 64; ++i) {
    text += "op: c0 write " + std::to_string(i * 4194304) + "+" + std::to_string(sectors) + "\n";
  }
  return text + "end\n";
}

TEST_CASE("a scenario that needs more memory than --max-memory is refused before it runs",
          "[e2e]") {
  // 64 writes of 512 MiB once drove memory past 40 GB and ended as a property failure.
  const std::string huge = TempFile("huge_writes.replay", BigWrites(1048576));
  for (const std::string& args : {"replay " + huge, "shrink " + huge}) {
    const Result result = Run(args);
    INFO(args << "\n" << result.output);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::Matchers::Contains("needs an estimated 64.06 GiB of memory"));
    CHECK_THAT(result.output, !Catch::Matchers::Contains("verdict"));
  }
  const std::string small = TempFile("small_writes.replay", BigWrites(2048));
  CHECK(Run("replay " + small).exit_code == 0);
  const Result limited = Run("replay --max-memory 100M " + small);
  CHECK(limited.exit_code == 2);
  CHECK_THAT(limited.output, Catch::Matchers::Contains("more than the 0.10 GiB allowed"));
  CHECK(Run("replay --max-memory lots " + small).exit_code == 2);
  const Result json = Run("replay --json " + small);
  CHECK(nlohmann::json::parse(json.output)["memory_estimate_bytes"] == (64 << 20) + 2 * 64 * (1 << 20));
}

TEST_CASE("running out of memory anyway is exit 2, never a verdict", "[e2e]") {
#if defined(__SANITIZE_ADDRESS__)
  WARN("skipped: AddressSanitizer's shadow memory does not run under ulimit -v");
#else
  const std::string huge = TempFile("huge_writes.replay", BigWrites(1048576));
  const Result result = RunBinary("ulimit -v 2000000; " + std::string(POWERCUT_BINARY),
                                  "replay --max-memory 0 " + huge);
  INFO(result.output);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.output, Catch::Matchers::Contains("ran out of memory"));
  CHECK_THAT(result.output, Catch::Matchers::Contains("not a verdict"));
#endif
}

TEST_CASE("a replay file that cannot be written is named as missing, with the command that recreates it",
          "[e2e]") {
  // /dev/null is a file: no folder can be made under it.
  Result r = RunBinary("POWERCUT_FAILURE_DIR=/dev/null/failures " + std::string(POWERCUT_MUTANTS_BINARY),
                       "mutants --only linear_flush_dropped --seeds 300 --json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string command = nlohmann::json::parse(r.output)[0]["replay_command"];
  const std::string recreate = "powercut_with_mutants scenario --family ";
  REQUIRE(command.rfind(recreate, 0) == 0);
  CHECK_THAT(command, Catch::Matchers::Contains("--mutant linear_flush_dropped -o FILE && "
                                                "powercut_with_mutants replay FILE"));
  // The command works as printed, FILE being any path.
  const std::string file = TempFile("recreated.replay", "");
  std::string runnable = command;
  for (size_t at; (at = runnable.find("FILE")) != std::string::npos;) runnable.replace(at, 4, file);
  const std::string scenario = runnable.substr(runnable.find(' ') + 1, runnable.find(" && ") - runnable.find(' ') - 1);
  CHECK(RunBinary(POWERCUT_MUTANTS_BINARY, scenario).exit_code == 0);
  CHECK(RunBinary(POWERCUT_MUTANTS_BINARY, "replay " + file).exit_code == 1);  // fails as found
}

TEST_CASE("--help works for every command and exits 0", "[e2e]") {
  Result top = Run("--help");
  CHECK(top.exit_code == 0);
  CHECK(top.output.find("run") != std::string::npos);
  Result run = Run("run --help");
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("--seeds") != std::string::npos);
}

TEST_CASE("replay reproduces a passing corpus file and exits 0", "[e2e]") {
  Result r = Run("replay " + kCorpus + "/linear_concurrent_clients_pass.replay");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("reproduced") != std::string::npos);
}

TEST_CASE("replay --check-determinism runs the file twice and compares trace hashes", "[e2e]") {
  Result r = Run("replay --check-determinism " + kCorpus + "/linear_concurrent_clients_pass.replay");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("deterministic: a second run gave the same verdict and trace hash") !=
        std::string::npos);
  Result json = Run("replay --check-determinism --json " + kCorpus +
                    "/linear_concurrent_clients_pass.replay");
  CHECK(nlohmann::json::parse(json.output)["deterministic"] == true);
  Result run = Run("run --seeds 5 --check-determinism --engines writecache --json");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(nlohmann::json::parse(run.output)["families"][0]["determinism_checks"] == 5);
}

TEST_CASE("run --engines selects engines and --families selects families; unknown names fail",
          "[e2e]") {
  auto families = [](const std::string& output) {
    const nlohmann::json json = nlohmann::json::parse(output);
    std::vector<std::string> names;
    for (const auto& family : json["families"]) {
      names.push_back(family["family"]);
    }
    return names;
  };
  Result r = Run("run --seeds 3 --engines writecache,raid1 --json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> names = families(r.output);
  CHECK(std::find(names.begin(), names.end(), "writecache") != names.end());
  CHECK(std::find(names.begin(), names.end(), "writecache-drain") != names.end());
  CHECK(std::find(names.begin(), names.end(), "raid1") != names.end());
  CHECK(std::find(names.begin(), names.end(), "linear") == names.end());
  Result both = Run("run --seeds 2 --engines linear --families raid1-readd --json");
  INFO(both.output);
  REQUIRE(both.exit_code == 0);
  CHECK(families(both.output) == std::vector<std::string>{"linear", "raid1-readd"});
  Result bad = Run("run --engines nosuch");
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.find("unknown engine 'nosuch' (known: linear, writecache, raid1)") !=
        std::string::npos);
  Result family_as_engine = Run("run --engines raid1-faults");
  CHECK(family_as_engine.exit_code == 2);
  CHECK(family_as_engine.output.find("is a scenario family, not an engine: use --families") !=
        std::string::npos);
  Result bad_family = Run("run --families nosuch");
  CHECK(bad_family.exit_code == 2);
  CHECK(bad_family.output.find("unknown scenario family 'nosuch'") != std::string::npos);
}

TEST_CASE("scenario --help lists every engine's parameters as docs/engines.md does", "[e2e]") {
  Result help = Run("scenario --help");
  REQUIRE(help.exit_code == 0);
  CHECK(help.output.find("raid1: an md RAID1 mirror set") != std::string::npos);
  CHECK(help.output.find("readd_at_flush") != std::string::npos);
  std::ifstream doc(std::string(POWERCUT_SOURCE_DIR) + "/docs/engines.md");
  REQUIRE(doc.good());
  const std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  const size_t at = help.output.find("Engines and their parameters");
  REQUIRE(at != std::string::npos);
  // The docs carry the registry's table verbatim (regenerate with `powercut scenario --help`).
  CHECK(text.find(help.output.substr(at)) != std::string::npos);
}

TEST_CASE("replay refuses a FIFO or a directory before opening it: exit 2, no hang", "[e2e]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "powercut_cli_test";
  std::filesystem::create_directories(dir);
  const std::string fifo = (dir / "replay.fifo").string();
  std::filesystem::remove(fifo);
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& path : {fifo, dir.string()}) {
    Result r = Run("replay " + path);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("not a regular file") != std::string::npos);
  }
  std::filesystem::remove(fifo);
}

TEST_CASE("replaying the same file twice gives identical output", "[e2e]") {
  const std::string args = "replay --timeline " + kCorpus + "/linear_concurrent_clients_pass.replay";
  Result a = Run(args);
  Result b = Run(args);
  REQUIRE(a.exit_code == 0);
  CHECK(a.output == b.output);
  CHECK(a.output.find("POWER CUT") != std::string::npos);
  CHECK(a.output.find("write.done") != std::string::npos);
}

TEST_CASE("the timeline shows each crash image's draws and each recovery", "[e2e]") {
  Result r = RunBinary(POWERCUT_MUTANTS_BINARY,
                       "replay --timeline " + kCorpus + "/linear_flush_dropped.replay");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const size_t cut = r.output.find("POWER CUT");
  const size_t image = r.output.find("---------- crash image 0:");
  const size_t recovery = r.output.find("---------- recovery from crash image 0");
  REQUIRE(cut != std::string::npos);
  REQUIRE(image != std::string::npos);
  REQUIRE(recovery != std::string::npos);
  CHECK(cut < image);
  CHECK(image < recovery);
  // The pending write's fate in the image, then the recovery's read-back.
  CHECK(r.output.find(" crash.", image) < recovery);
  CHECK(r.output.find("read.done", recovery) != std::string::npos);
}

TEST_CASE("a mutant replay needs the test build and says so", "[e2e]") {
  Result shipped = Run("replay " + kCorpus + "/linear_flush_dropped.replay");
  CHECK(shipped.exit_code == 2);
  CHECK(shipped.output.find("powercut_with_mutants") != std::string::npos);
  Result test_build =
      RunBinary(POWERCUT_MUTANTS_BINARY, "replay " + kCorpus + "/linear_flush_dropped.replay");
  INFO(test_build.output);
  CHECK(test_build.exit_code == 0);
  CHECK(test_build.output.find("acknowledged durable write was lost") != std::string::npos);
}

TEST_CASE("the trace is Chrome/Perfetto JSON with IO slices, the power cut and recovery worlds", "[e2e]") {
  const std::string trace = TempFile("trace.json", "");
  Result r = Run("replay --trace " + trace + " " + kCorpus + "/linear_concurrent_clients_pass.replay");
  REQUIRE(r.exit_code == 0);
  std::ifstream in(trace);
  nlohmann::json json = nlohmann::json::parse(in);
  REQUIRE(json.contains("traceEvents"));
  bool io_slice = false, power_cut = false, fiber_thread = false, recovery_process = false;
  for (const auto& event : json["traceEvents"]) {
    recovery_process =
        recovery_process || (event["ph"] == "M" && event["name"] == "process_name" &&
                             event["args"]["name"] == "recovery from crash image 0");
    io_slice = io_slice || (event["ph"] == "X" && event.value("cat", "") == "io");
    power_cut = power_cut || (event["ph"] == "i" &&
                              event["name"].get<std::string>().find("power cut") == 0);
    fiber_thread = fiber_thread || (event["ph"] == "M" &&
                                    event["args"]["name"].get<std::string>().find("fiber ") == 0);
  }
  CHECK(io_slice);
  CHECK(power_cut);
  CHECK(fiber_thread);
  CHECK(recovery_process);
}

TEST_CASE("malformed replay files are input errors with exit code 2 and a reason", "[e2e]") {
  std::ifstream in(kCorpus + "/linear_concurrent_clients_pass.replay");
  const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good.substr(0, good.find("op: c1 flush")), "missing final 'end' line"},
      {good.substr(0, good.size() / 2), "line 7: expected 'key: value'"},
      {replace("powercut-replay 1", "powercut-replay 7"), "unsupported format version 7"},
      {"\x01\x02garbage\xff\n", "not a powercut replay file"},
      {replace("seed: 42", "seed: 184467440737095516160"), "bad seed"},
      {replace("op: c0 write 0+16", "op: c0 write 0+99999999999"), "bad sector range"},
      {replace("clients: 3\n", ""), "missing 'clients:'"},
      {"", "empty file"},
  };
  int n = 0;
  for (const auto& [text, reason] : cases) {
    Result r = Run("replay " + TempFile("bad" + std::to_string(n++) + ".replay", text));
    INFO(text);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find(reason) != std::string::npos);
  }
  Result missing = Run("replay /no/such/file.replay");
  CHECK(missing.exit_code == 2);
  CHECK(missing.output.find("cannot open") != std::string::npos);
}

TEST_CASE("shrink minimises a failing replay to a smaller one that still fails", "[e2e]") {
  const std::string big = TempFile("big.replay", R"(powercut-replay 1
engine: linear
param: logical_sectors=1024
mutant: linear_fua_dropped
seed: 3
crash: step 100000
images: 16
expect: fail
clients: 3
op: c0 write 0+16
op: c1 write 64+8
op: c2 flush
op: c1 write 256+24
op: c0 read 0+8
op: c2 discard 512+8
op: c0 write 600+8
op: c1 write 128+8 fua
end
)");
  const std::string small = TempFile("small.replay", "");
  Result r = RunBinary(POWERCUT_MUTANTS_BINARY, "shrink " + big + " -o " + small);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("ops 8 -> 1") != std::string::npos);
  Result replay = RunBinary(POWERCUT_MUTANTS_BINARY, "replay " + small);
  INFO(replay.output);
  CHECK(replay.exit_code == 0);
  CHECK(replay.output.find("verdict fail, expected fail: reproduced") != std::string::npos);
}

TEST_CASE("shrink refuses a passing file", "[e2e]") {
  Result r = Run("shrink " + kCorpus + "/linear_flush_crash_at_end_pass.replay");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("no failure to shrink") != std::string::npos);
}

// The whole matrix is the mutation suites' job (label mutation); here the command itself:
// a mutant of each engine killed, trials and medians, the replay command, and the
// shipped binary refusing.
TEST_CASE("mutants kills a mutant of each engine and reports medians and a replay command",
          "[e2e]") {
  for (const std::string name : {"linear_flush_dropped", "wc_sb_no_fua", "bm_unplug_no_wait"}) {
    Result r = RunBinary(POWERCUT_MUTANTS_BINARY,
                         "mutants --only " + name + " --seeds 300 --trials 3 --json");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const nlohmann::json json = nlohmann::json::parse(r.output);
    REQUIRE(json.size() == 1);
    CHECK(json[0]["mutant"] == name);
    CHECK(json[0]["killed"] == true);
    CHECK(json[0]["kills"] == 3);
    CHECK(json[0]["seeds"].size() == 3);
    CHECK(json[0]["median_seeds"] >= 1);
    const std::string command = json[0]["replay_command"];
    CHECK(command.rfind("powercut_with_mutants replay ", 0) == 0);
    Result replay = RunBinary(POWERCUT_MUTANTS_BINARY, command.substr(command.find(' ') + 1));
    CHECK(replay.exit_code == 0);
  }
  Result table = RunBinary(POWERCUT_MUTANTS_BINARY, "mutants --only linear_fua_dropped");
  CHECK(table.exit_code == 0);
  CHECK(table.output.find("killed") != std::string::npos);
  CHECK(table.output.find("all mutants killed") != std::string::npos);
  CHECK(RunBinary(POWERCUT_MUTANTS_BINARY, "mutants --only no_such_mutant").exit_code == 2);
  Result shipped = Run("mutants");
  CHECK(shipped.exit_code == 2);
  CHECK(shipped.output.find("powercut_with_mutants") != std::string::npos);
}

namespace {

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// An external bitmap file: the golden superblock of fuzz/seeds plus bits, some set.
std::string BitmapFile() {
  std::string super = ReadBytes(std::string(POWERCUT_SOURCE_DIR) + "/fuzz/seeds/bitmap_super/golden").substr(0, 256);
  std::string bits(2048, '\0');
  bits[0] = 0x05;
  bits[100] = static_cast<char>(0xff);
  return TempFile("bitmap.img", super + bits);
}

bool HaveMdadm() { return std::system("mdadm --version >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("inspect --format bitmap agrees with mdadm -X on every field", "[e2e]") {
  const std::string file = BitmapFile();
  Result ours = Run("inspect --format bitmap " + file);
  INFO(ours.output);
  CHECK(ours.exit_code == 1);  // the golden superblock has events_cleared > events
  CHECK(ours.output.find("INCONSISTENT: events_cleared") != std::string::npos);
  // powercut's own line: the dirty chunks themselves (bits 0 and 2 of byte 0, all of byte 100).
  CHECK(ours.output.find("Dirty Chunks : 0, 2, 800-807\n") != std::string::npos);
  if (!HaveMdadm()) {
    WARN("SKIPPED the mdadm comparison: mdadm is not installed (scripts/setup.sh installs it)");
    return;
  }
  Result theirs = RunBinary("mdadm", "-X " + file);
  INFO(theirs.output);
  const auto a = Fields(ours.output), b = Fields(theirs.output);
  for (const char* field : {"Filename", "Magic", "Version", "UUID", "Events", "Events Cleared",
                            "State", "Chunksize", "Daemon", "Write Mode", "Sync Size", "Bitmap"}) {
    INFO(field);
    CHECK(a.at(field) == b.at(field));
  }
}

TEST_CASE("inspect --format md decodes a member and its internal bitmap like mdadm --examine", "[e2e]") {
  const std::string md = ReadBytes(std::string(POWERCUT_SOURCE_DIR) + "/fuzz/seeds/md_superblock/golden").substr(8);
  const std::string bitmap = ReadBytes(BitmapFile());
  const std::string path = TempFile("member.img", "");
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    f.write(md.data(), static_cast<std::streamsize>(md.size()));
    f.seekp(16 * 512);
    f.write(bitmap.data(), static_cast<std::streamsize>(bitmap.size()));
  }
  std::filesystem::resize_file(path, (2048 + 2099200 + 8) * 512ULL);  // sparse
  Result ours = Run("inspect --format md " + path);
  INFO(ours.output);
  CHECK(ours.exit_code == 1);
  CHECK(ours.output.find("(internal bitmap)") != std::string::npos);
  if (!HaveMdadm()) {
    WARN("SKIPPED the mdadm comparison: mdadm is not installed (scripts/setup.sh installs it)");
    return;
  }
  Result theirs = RunBinary("mdadm", "--examine " + path);
  INFO(theirs.output);
  const auto a = Fields(ours.output), b = Fields(theirs.output);
  for (const char* field : {"Magic", "Version", "Feature Map", "Array UUID", "Name", "Raid Level",
                            "Raid Devices", "Avail Dev Size", "Array Size", "Used Dev Size",
                            "Data Offset", "Super Offset", "State", "Device UUID",
                            "Internal Bitmap", "Flags", "Events", "Device Role", "Array State"}) {
    INFO(field);
    CHECK(a.at(field) == b.at(field));
  }
}

TEST_CASE("inspect --format md refuses a superblock's level or device count it cannot trust", "[e2e]") {
  // The golden superblock with a valid checksum but raid_disks 0xFFFFFFFF (once a
  // multi-GiB "Array State"), or level INT32_MIN (once reported as "level -2147483648").
  const std::string golden =
      ReadBytes(std::string(POWERCUT_SOURCE_DIR) + "/fuzz/seeds/md_superblock/golden").substr(8);
  std::vector<std::byte> bytes(golden.size());
  std::memcpy(bytes.data(), golden.data(), golden.size());
  const uint64_t member_sectors = 2048 + 2099200 + 8;
  absl::StatusOr<powercut::raid1::MdSuperblock> sb = powercut::raid1::DecodeMdSuperblock(bytes, member_sectors);
  REQUIRE(sb.ok());
  powercut::raid1::MdSuperblock many = *sb;
  many.raid_disks = 0xFFFFFFFF;
  powercut::raid1::MdSuperblock foreign = *sb;
  foreign.level = std::numeric_limits<int32_t>::min();
  for (const auto& [name, bad, says] :
       {std::tuple{"raid_disks", many, "raid_disks 4294967295 exceeds"},
        std::tuple{"level", foreign, "raid level -2147483648"}}) {
    const std::vector<std::byte> encoded = powercut::raid1::EncodeMdSuperblock(bad);
    std::string image(16 * 1024, '\0');
    std::memcpy(image.data() + 4096, encoded.data(), encoded.size());
    const std::string path = TempFile(std::string(name) + ".img", image);
    std::filesystem::resize_file(path, member_sectors * 512);  // sparse, the size it claims
    Result r = Run("inspect --format md " + path);
    INFO(name << ": " << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.output.find(says) != std::string::npos);
  }
}

TEST_CASE("inspect never crashes on corrupt or foreign images: exit 2 with a reason", "[e2e]") {
  std::string random(64 * 1024, '\0');
  uint64_t x = 12345;
  for (char& c : random) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<char>(x >> 56);
  }
  const std::vector<std::pair<std::string, std::string>> images = {
      {"empty.img", ""}, {"zeros.img", std::string(8192, '\0')}, {"random.img", random},
      {"short.img", ReadBytes(BitmapFile()).substr(0, 100)}};
  for (const auto& [name, bytes] : images) {
    const std::string path = TempFile(name, bytes);
    for (const char* format : {"bitmap", "md"}) {
      Result r = Run(std::string("inspect --format ") + format + " " + path);
      INFO(name << " as " << format << ": " << r.output);
      CHECK(r.exit_code == 2);
      CHECK(r.output.find("not a valid") != std::string::npos);
    }
  }
  Result missing = Run("inspect --format md /no/such/image");
  CHECK(missing.exit_code == 2);
  Result bad_format = Run("inspect --format ext4 " + BitmapFile());
  CHECK(bad_format.exit_code == 2);
}

TEST_CASE("fuzz refuses bad options with exit 2 and a reason", "[e2e]") {
  const std::string out = (std::filesystem::temp_directory_path() / "powercut_cli_test_fuzz").string();
  for (const auto& [args, reason] : std::vector<std::pair<std::string, std::string>>{
           {"--duration banana", "bad duration"},
           {"--duration 0s", "bad duration"},
           {"--shard 0/2", "--shard"},
           {"--shard 3/2", "--shard"},
           {"--shard two", "--shard"},
           {"--families nope", "unknown scenario family"},
           {"--mutant wc_sb_no_fua", "no mutants compiled in"},
           {"--jobs 0", "--jobs"}}) {
    const std::string duration = args.starts_with("--duration") ? "" : "--duration 1s ";
    const Result result = Run("fuzz " + duration + "--out " + out + " " + args);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::Matchers::Contains(reason));
  }
  const Result unknown =
      RunBinary(POWERCUT_MUTANTS_BINARY, "fuzz --duration 1s --out " + out + " --mutant nope");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.output, Catch::Matchers::Contains("unknown mutant 'nope'"));
  const Result folder = Run("fuzz --duration 1s --out /proc/powercut-nope");
  CHECK(folder.exit_code == 2);
  CHECK_THAT(folder.output, Catch::Matchers::Contains("/proc/powercut-nope"));
}

TEST_CASE("fuzz prints the first seed it drew, writes summary.json and exits 0 or 1", "[e2e]") {
  const std::string out = (std::filesystem::temp_directory_path() / "powercut_cli_test_fuzz_ok").string();
  std::filesystem::remove_all(out);
  const Result pass = Run("fuzz --duration 2s --jobs 2 --families linear --out " + out + " --json");
  CHECK(pass.exit_code == 0);
  CHECK_THAT(pass.output, Catch::Matchers::Contains("(drawn; --first-seed repeats it)"));
  std::ifstream file(out + "/summary.json");
  const nlohmann::json summary = nlohmann::json::parse(file);
  CHECK(summary["seeds"].get<uint64_t>() > 0);
  CHECK(summary["failures"] == 0);
  CHECK(summary["probes"].size() > 0);
  const Result fail = RunBinary(POWERCUT_MUTANTS_BINARY,
                                "fuzz --duration 10m --max-seeds 200 --jobs 2 --families linear "
                                "--mutant linear_flush_dropped "
                                "--first-seed 1 --out " + out);
  CHECK(fail.exit_code == 1);
  CHECK_THAT(fail.output, Catch::Matchers::Contains("linear--lost-durable-write"));
  CHECK_THAT(fail.output, Catch::Matchers::Contains("reproduce: powercut_with_mutants replay "));
}

TEST_CASE("an interrupted fuzz campaign prints what ran and exits 128+signal", "[e2e]") {
  const std::string out = (std::filesystem::temp_directory_path() / "powercut_cli_test_fuzz_int").string();
  const Result result = RunBinary(
      "sh", "-c '" + std::string(POWERCUT_BINARY) + " fuzz --duration 10m --jobs 2 --families linear --out " +
                out + " & pid=$!; sleep 1; kill -INT $pid; wait $pid; echo exit=$?'");
  CHECK_THAT(result.output, Catch::Matchers::Contains("(interrupted)"));
  CHECK_THAT(result.output, Catch::Matchers::Contains("exit=130"));
}

TEST_CASE("scenario --swarm prints the seed's swarm scenario that fuzz checks", "[e2e]") {
  const Result whole = Run("scenario --family raid1 --seed 3");
  const Result swarm = Run("scenario --family raid1 --seed 3 --swarm");
  REQUIRE(swarm.exit_code == 0);
  CHECK_THAT(swarm.output, Catch::Matchers::Contains("comment: swarm: writes"));
  CHECK(swarm.output.size() <= whole.output.size() + 64);
  const std::string file = TempFile("swarm.replay", swarm.output);
  CHECK(Run("replay " + file).exit_code == 0);
}

TEST_CASE("the Slurm scripts run a sharded campaign and merge it, even without Slurm", "[e2e]") {
  const std::filesystem::path out = std::filesystem::temp_directory_path() / "powercut_cli_test_slurm";
  std::filesystem::remove_all(out);
  const std::string env = "OUT=" + out.string() + " FIRST_SEED=99 DURATION=2s POWERCUT=" + POWERCUT_BINARY +
                          " FUZZ_ARGS='--families linear' SLURM_CPUS_PER_TASK=1 SLURM_ARRAY_TASK_COUNT=2 ";
  const std::string scripts = std::string(POWERCUT_SOURCE_DIR) + "/scripts/slurm/";
  for (const char* task : {"0", "1"}) {
    const Result shard = RunBinary("env", env + "SLURM_ARRAY_TASK_ID=" + task + " bash " + scripts + "fuzz.sbatch");
    CHECK(shard.exit_code == 0);
  }
  std::ifstream first(out / "shard-1" / "summary.json");
  CHECK(nlohmann::json::parse(first)["shard"] == "1/2");
  const Result merge = RunBinary("env", env + "bash " + scripts + "merge.sbatch");
  CHECK(merge.exit_code == 0);
  CHECK_THAT(merge.output, Catch::Matchers::Contains("shard all/2"));
  std::ifstream merged(out / "merged" / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(merged);
  CHECK(summary["shard"] == "all/2");
  CHECK(summary["jobs"] == 2);
  CHECK(std::filesystem::exists(out / "merged" / "report.html"));
  const Result missing = Run("fuzz-merge " + out.string() + "/nope --out " + out.string() + "/m2");
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Matchers::Contains("cannot read"));
}
