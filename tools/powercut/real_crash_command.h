// `powercut realcrash`: a scenario (a replay file, or a family and seed) run on real
// files through io_uring instead of the simulator, power cut at the scenario's step (or
// one drawn from its seed), crash images drawn from what the run's IO left under the
// simulator's crash model, each recovered and judged on the simulator with the engine's
// invariant checkers (harness/real_crash_check.h). `--runs N` repeats it with seeds
// seed, seed+1, ... (a new power-cut step and new images each time).
//
// On a failure the check's crash images (DIR/failure/imageK-DEVICE.img) and each
// device's IO log (DIR/DEVICE.io.log) are kept for `powercut recover` and a reader.
//
// Exit code: 0 every run passed, 1 a run failed (printed), 2 a usage or input error.
#ifndef POWERCUT_TOOLS_POWERCUT_REAL_CRASH_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_REAL_CRASH_COMMAND_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "scenario/scenario.h"

namespace powercut::tools {

struct RealCrashCommandOptions {
  std::string file;
  std::string family;
  std::optional<uint64_t> seed;
  std::string dir;
  uint64_t runs = 1;
  bool buffered = false;
  bool json = false;
  uint64_t max_memory_bytes = verifier::kDefaultMaxMemoryBytes;  // 0: no limit
};

int RunRealCrashCommand(const RealCrashCommandOptions& options, std::ostream& out,
                        std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_REAL_CRASH_COMMAND_H_
