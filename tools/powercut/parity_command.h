// `powercut parity`: one scenario (a replay file, or a family and seed) on the simulator
// and on real files in a folder, then the two compared (scenario/parity.h says how the
// runs are made comparable):
//   - the logical devices, sector by sector, over both sides' data ranges; the first
//     difference is shown with what each side holds there (which op's stamp);
//   - the on-media metadata of the engine, decoded as `powercut inspect` decodes it
//     (the cache's superblock and entry counts; md superblocks and bitmaps), field by
//     field, except fields that follow the clock, listed with the reason;
//   - every device's raw image, reported (not judged: where the cache puts a block
//     depends on which writeback finished first).
//
// Exit code: 0 the logical devices and the compared metadata are equal, 1 they differ
// (the report says where), 2 a usage or input error.
#ifndef POWERCUT_TOOLS_POWERCUT_PARITY_COMMAND_H_
#define POWERCUT_TOOLS_POWERCUT_PARITY_COMMAND_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace powercut::tools {

struct ParityCommandOptions {
  std::string file;                   // a replay file, or
  std::string family;                 // a family and
  std::optional<uint64_t> seed;       // a seed
  std::string dir;                    // where both sides' images go
  bool buffered = false;
  bool json = false;
};

int RunParityCommand(const ParityCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_PARITY_COMMAND_H_
