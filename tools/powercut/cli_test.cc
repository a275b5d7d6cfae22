// End-to-end tests of the powercut binary (Catch2, label e2e): they run the real
// executable and check its exit codes and output.
#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

namespace {

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

Result Run(const std::string& args) {
  const std::string command = std::string(POWERCUT_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = fread(chunk.data(), 1, chunk.size(), pipe)) > 0) output.append(chunk.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

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

TEST_CASE("--help works for every command and exits 0", "[e2e]") {
  Result top = Run("--help");
  CHECK(top.exit_code == 0);
  CHECK(top.output.find("run") != std::string::npos);
  Result run = Run("run --help");
  CHECK(run.exit_code == 0);
  CHECK(run.output.find("--seeds") != std::string::npos);
}
