// Parity: one scenario's workload run twice, on the simulator and on real files
// (engine/posix through harness/file_devices.h), each side's results left as image
// files for comparison (tools/powercut/parity_command.cc compares them).
//
// So that the two runs must end equal, timing is taken out of what they compute:
//   - the workload's operations run one after another, in file order, from one fiber
//     (clients are ignored: concurrent writes to one sector may land either way);
//   - after the last operation the stack settles (Stack::Settle: the cache writes
//     every block back, RAID1 stops clean), so background work has finished on both;
//   - scenarios with a fault plan or a mutant are refused (faults fire on timing).
// What is left that follows the clock (commit counts, update times, event counters) is
// for the comparison to exclude, by name.
//
// Files: FOLDER/sim/NAME.img (.pmem) and FOLDER/real/NAME.img (.pmem) for every device
// of the stack, FOLDER/sim/logical.img and FOLDER/real/logical.img for the logical
// device after the workload (sparse: only the device's data ranges are read).
//
// Threading: blocking; runs both worlds to the end on the calling thread.
#ifndef POWERCUT_SCENARIO_PARITY_H_
#define POWERCUT_SCENARIO_PARITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scenario/scenario.h"

namespace powercut::verifier {

struct ParityOptions {
  std::string folder;
  bool buffered = false;  // real side: where O_DIRECT is refused, use the page cache
};

// One device of the stack on both sides.
struct ParityDevice {
  std::string name;
  std::string sim_path;
  std::string real_path;
  bool pmem = false;
};

struct ParityRun {
  uint64_t logical_sectors = 0;
  std::string sim_logical;
  std::string real_logical;
  std::vector<ParityDevice> devices;  // disks, then persistent memories, as asked for
  uint64_t ops = 0;
};

// InvalidArgument for a scenario parity cannot run; the engine's own failures (start,
// an IO error, settling) as their status, naming the side.
absl::StatusOr<ParityRun> RunParity(const Scenario& scenario, const ParityOptions& options);

}  // namespace powercut::verifier

#endif  // POWERCUT_SCENARIO_PARITY_H_
