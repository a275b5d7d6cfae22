// Helpers for the CLI's end-to-end tests (Catch2): run a binary with arguments and
// capture its exit code and output, and read "Name : value" report lines.
#ifndef POWERCUT_TOOLS_POWERCUT_CLI_FOR_TEST_H_
#define POWERCUT_TOOLS_POWERCUT_CLI_FOR_TEST_H_

#include <sys/wait.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <string>

namespace powercut::tools {

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

inline Result RunBinary(const std::string& binary, const std::string& args) {
  const std::string command = binary + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = fread(chunk.data(), 1, chunk.size(), pipe)) > 0) output.append(chunk.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// "Name : value" lines of an mdadm- or dmsetup-style report; names and values trimmed,
// the first occurrence of a name wins.
inline std::map<std::string, std::string> Fields(const std::string& text) {
  std::map<std::string, std::string> fields;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const size_t colon = line.find(" : ");
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    std::string value = line.substr(colon + 3);
    value.erase(value.find_last_not_of(' ') + 1);
    fields.emplace(name, value);
  }
  return fields;
}

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_CLI_FOR_TEST_H_
