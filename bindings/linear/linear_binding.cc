// LinearStackFactory: builds the pass-through stack, with faults below the mapping
// before the power cut when the options ask for them (linear_binding.h); and the
// engine's registry entry.
#include "bindings/linear/linear_binding.h"

#include "engine/linear/linear_map.h"

namespace powercut::verifier {
namespace {

class LinearStack : public Stack {
 public:
  // `faulty`, if any, wraps the SSD and is what `map` maps onto.
  LinearStack(std::unique_ptr<faults::FaultyBlockDevice> faulty,
              std::unique_ptr<linear::LinearMap> map,
              std::shared_ptr<faults::FaultCounts> fault_tally)
      : faulty_(std::move(faulty)), map_(std::move(map)), fault_tally_(std::move(fault_tally)) {}
  ~LinearStack() override {
    if (faulty_ != nullptr && fault_tally_ != nullptr) *fault_tally_ += faulty_->counts();
  }

  io::BlockDevice& logical() override { return *map_; }
  absl::Status Start() override { return absl::OkStatus(); }

 private:
  std::unique_ptr<faults::FaultyBlockDevice> faulty_;  // over the SSD; null without faults
  std::unique_ptr<linear::LinearMap> map_;             // over faulty_ or the SSD
  std::shared_ptr<faults::FaultCounts> fault_tally_;
};

}  // namespace

StackFactory LinearStackFactory(LinearStackOptions options) {
  return [options](sim::World& world,
                   Devices& devices) -> absl::StatusOr<std::unique_ptr<Stack>> {
    absl::StatusOr<Disk> ssd =
        devices.AddDisk({.name = options.ssd.name,
                         .sectors = options.start_sector + options.logical_sectors + 8,
                         .simulated = options.ssd});
    if (!ssd.ok()) return ssd.status();
    // Faults only before the power cut (see linear_binding.h).
    std::unique_ptr<faults::FaultyBlockDevice> faulty;
    if (options.faults && !devices.recovering()) {
      absl::StatusOr<std::unique_ptr<faults::FaultyBlockDevice>> made =
          faults::FaultyBlockDevice::Create(world, *ssd->device, *options.faults);
      if (!made.ok()) return made.status();
      faulty = std::move(*made);
    }
    io::BlockDevice& lower = faulty ? static_cast<io::BlockDevice&>(*faulty) : *ssd->device;
    absl::StatusOr<std::unique_ptr<linear::LinearMap>> map =
        linear::LinearMap::Create(lower, options.start_sector, options.logical_sectors);
    if (!map.ok()) return map.status();
    return std::unique_ptr<Stack>(
        new LinearStack(std::move(faulty), std::move(*map), options.fault_tally));
  };
}

const EngineEntry& LinearEngine() {
  static const std::vector<ParamField<LinearStackOptions>> fields = {
      {{"logical_sectors", 4096, 8, kMaxLogicalSectors, "size of the mapped device"},
       [](const LinearStackOptions& o) { return o.logical_sectors; },
       [](LinearStackOptions& o, uint64_t v) { o.logical_sectors = v; }},
      {{"start_sector", 24, 0, uint64_t{1} << 30, "offset of the mapping on the SSD"},
       [](const LinearStackOptions& o) { return o.start_sector; },
       [](LinearStackOptions& o, uint64_t v) { o.start_sector = v; }},
  };
  static const EngineEntry entry{
      .name = "linear",
      .summary = "a pass-through mapping (dm-linear) over one SSD",
      .params = ParamTable(fields),
      .bind = [](const ParamValues& values,
                 const EngineEnvironment& environment) -> absl::StatusOr<BoundEngine> {
        LinearStackOptions options = OptionsFromParams(fields, values);
        options.ssd = environment.ssd;
        options.faults = environment.faults;
        if (options.faults) {
          // Fault sectors address the SSD below the mapping.
          const uint64_t ssd_sectors = options.start_sector + options.logical_sectors + 8;
          if (absl::Status valid = faults::Validate(*options.faults, ssd_sectors); !valid.ok()) {
            return valid;
          }
        }
        return BoundEngine{LinearStackFactory(options), options.logical_sectors};
      },
  };
  return entry;
}

}  // namespace powercut::verifier
