// Devices: what a stack runs on, made for it by whoever runs the check.
//
// A binding asks for each device by a spec (name, size, and the contents it must start
// with, if any); the harness decides what backs it. SimulatedDevices makes SimSsds and
// SimPmems in a World, fresh or from the crash images of an earlier stack, and draws
// crash images of everything it made; a backend over files or block devices is the
// other implementation the interface is shaped for.
//
// Recovery: when the devices come back after a power cut, the k-th disk (and the k-th
// persistent memory) asked for starts from the k-th crash image of its kind, unless
// its spec gives contents (an operator putting an old device back).
//
// A binding's invariant checkers read the simulation's view of a device (its durable
// image, its stores); `simulated` is that view, null where there is none.
//
// Ownership and threading: the Devices own what they make and must outlive the stack;
// the World's thread only.
#ifndef POWERCUT_HARNESS_DEVICES_H_
#define POWERCUT_HARNESS_DEVICES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "engine/io/persistent_memory.h"
#include "sim/disk_image.h"
#include "sim/prng.h"
#include "sim/sim_pmem.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::verifier {

// The durable contents of every device of a stack after a power cut, in the order the
// stack asked for them.
struct CrashImages {
  std::vector<sim::DiskImage> disks;
  std::vector<std::vector<std::byte>> pmems;
  // The power cuts these images have been through (more than one when they come from
  // devices that were themselves rebuilt from crash images).
  uint32_t power_cuts = 1;
};

struct DiskSpec {
  std::string name;
  uint64_t sectors = 0;
  // What the device must hold when the stack starts; empty: blank when fresh, its crash
  // image when recovering.
  std::optional<sim::DiskImage> contents;
  // How a simulated device behaves (volatile cache, latencies); `name` and `sectors`
  // above override its own. Other backends ignore it.
  sim::SimSsdOptions simulated;
};

struct PmemSpec {
  std::string name;
  uint64_t bytes = 0;
  std::optional<std::vector<std::byte>> contents;  // as DiskSpec::contents
};

struct Disk {
  io::BlockDevice* device = nullptr;
  sim::SimSsd* simulated = nullptr;  // null on a device that is not simulated
};

struct Pmem {
  io::PersistentMemory* device = nullptr;
  sim::SimPmem* simulated = nullptr;
};

class Devices {
 public:
  virtual ~Devices() = default;
  // InvalidArgument for an impossible spec, or when recovering, for a device the crash
  // images do not have.
  virtual absl::StatusOr<Disk> AddDisk(DiskSpec spec) = 0;
  virtual absl::StatusOr<Pmem> AddPmem(PmemSpec spec) = 0;
  // True when the devices come back after a power cut.
  virtual bool recovering() const = 0;
  // The power cuts the devices have been through (0: fresh). A stack that puts an old
  // device back at a recovery does so after the first cut only.
  virtual uint32_t power_cuts() const { return recovering() ? 1 : 0; }
};

class SimulatedDevices : public Devices {
 public:
  // Fresh devices (`recover_from` null) or devices holding those crash images.
  SimulatedDevices(sim::World& world, const CrashImages* recover_from)
      : world_(world), recover_from_(recover_from) {}

  absl::StatusOr<Disk> AddDisk(DiskSpec spec) override;
  absl::StatusOr<Pmem> AddPmem(PmemSpec spec) override;
  bool recovering() const override { return recover_from_ != nullptr; }
  uint32_t power_cuts() const override {
    return recover_from_ != nullptr ? recover_from_->power_cuts : 0;
  }

  // One seeded draw of what a power cut now leaves on every device, drawn in the order
  // they were made (each draw recorded in the world's trace).
  CrashImages SampleCrash(sim::Prng& prng) const;

  // The devices made so far, each kind in the order asked for.
  const std::vector<std::unique_ptr<sim::SimSsd>>& disks() const { return disks_; }
  const std::vector<std::unique_ptr<sim::SimPmem>>& pmems() const { return pmems_; }

 private:
  sim::World& world_;
  const CrashImages* recover_from_;
  std::vector<std::unique_ptr<sim::SimSsd>> disks_;
  std::vector<std::unique_ptr<sim::SimPmem>> pmems_;
  std::vector<bool> made_pmem_;  // per device made, in order: a pmem or a disk
};

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_DEVICES_H_
