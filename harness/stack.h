// Stack: a storage stack under test (simulated devices + an engine on top), as the
// crash harness sees it.
//
// A StackFactory builds a stack inside a World, either fresh or from the crash images
// of an earlier stack (the power came back). Start() runs in a fiber: it formats a
// fresh stack or recovers one built from images. logical() is the device the workload
// and the oracle talk to.
#ifndef POWERCUT_HARNESS_STACK_H_
#define POWERCUT_HARNESS_STACK_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "harness/block_oracle.h"
#include "sim/disk_image.h"
#include "sim/prng.h"
#include "sim/world.h"

namespace powercut::props {

// The durable contents of every device of a stack after a power cut.
struct CrashImages {
  std::vector<sim::DiskImage> disks;
  std::vector<std::vector<std::byte>> pmems;
};

class Stack {
 public:
  virtual ~Stack() = default;
  virtual io::BlockDevice& logical() = 0;
  // Called from a fiber before any IO: format (fresh) or recover (from images).
  [[nodiscard]] virtual absl::Status Start() = 0;
  // One seeded draw of what a power cut now leaves on every device.
  virtual CrashImages SampleCrash(sim::Prng& prng) const = 0;
  // What the stack promises (e.g. whether FUA alone makes a write durable).
  virtual OracleOptions oracle_options() const { return {}; }
};

using StackFactory = std::function<absl::StatusOr<std::unique_ptr<Stack>>(
    sim::World& world, const CrashImages* recover_from)>;

}  // namespace powercut::props

#endif  // POWERCUT_HARNESS_STACK_H_
