// libFuzzer target: the replay-file parser.
//
// Any input must be either rejected with a status or parsed into a scenario that
// formats to a file which parses back to the same text (a round trip). A crash, hang,
// sanitizer report or round-trip mismatch is a bug; each one found becomes a case in
// properties/replay_file_test.cc.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "scenario/replay_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<powercut::verifier::Scenario> scenario = powercut::verifier::ParseReplay(text);
  if (!scenario.ok()) return 0;
  const std::string formatted = powercut::verifier::FormatReplay(*scenario);
  absl::StatusOr<powercut::verifier::Scenario> again = powercut::verifier::ParseReplay(formatted);
  if (!again.ok() || powercut::verifier::FormatReplay(*again) != formatted) {
    std::cerr << "round trip failed:\n" << formatted << "\n"
              << (again.ok() ? "formats differently" : std::string(again.status().message()))
              << "\n";
    std::abort();
  }
  return 0;
}
