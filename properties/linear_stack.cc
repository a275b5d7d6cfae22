// LinearStackFactory: builds the pass-through stack, with faults below the target before
// the power cut when the options ask for them (linear_stack.h).
#include "properties/linear_stack.h"

#include "engine/linear/linear_target.h"

namespace powercut::props {
namespace {

class LinearStack : public Stack {
 public:
  // `faulty`, if any, wraps `ssd` and is what `target` maps onto.
  LinearStack(std::unique_ptr<sim::SimSsd> ssd, std::unique_ptr<faults::FaultyBlockDevice> faulty,
              std::unique_ptr<linear::LinearTarget> target,
              std::shared_ptr<faults::FaultCounts> fault_tally)
      : ssd_(std::move(ssd)),
        faulty_(std::move(faulty)),
        target_(std::move(target)),
        fault_tally_(std::move(fault_tally)) {}
  ~LinearStack() override {
    if (faulty_ != nullptr && fault_tally_ != nullptr) *fault_tally_ += faulty_->counts();
  }

  io::BlockDevice& logical() override { return *target_; }
  absl::Status Start() override { return absl::OkStatus(); }
  CrashImages SampleCrash(sim::Prng& prng) const override {
    CrashImages images;
    images.disks.push_back(ssd_->CrashState().Sample(prng));
    return images;
  }

 private:
  std::unique_ptr<sim::SimSsd> ssd_;
  std::unique_ptr<faults::FaultyBlockDevice> faulty_;  // over ssd_; null without faults
  std::unique_ptr<linear::LinearTarget> target_;       // over faulty_ or ssd_
  std::shared_ptr<faults::FaultCounts> fault_tally_;
};

}  // namespace

StackFactory LinearStackFactory(LinearStackOptions options) {
  return [options](sim::World& world,
                   const CrashImages* recover_from) -> absl::StatusOr<std::unique_ptr<Stack>> {
    sim::SimSsdOptions ssd_options = options.ssd;
    ssd_options.sectors = options.start_sector + options.logical_sectors + 8;
    std::optional<sim::DiskImage> initial;
    if (recover_from != nullptr) {
      if (recover_from->disks.size() != 1) {
        return absl::InvalidArgumentError("linear stack: expected exactly one disk image");
      }
      initial = recover_from->disks[0];
    }
    absl::StatusOr<std::unique_ptr<sim::SimSsd>> ssd =
        sim::SimSsd::Create(world, ssd_options, std::move(initial));
    if (!ssd.ok()) return ssd.status();
    // Faults only before the power cut (see linear_stack.h).
    std::unique_ptr<faults::FaultyBlockDevice> faulty;
    if (options.faults && recover_from == nullptr) {
      absl::StatusOr<std::unique_ptr<faults::FaultyBlockDevice>> made =
          faults::FaultyBlockDevice::Create(world, **ssd, *options.faults);
      if (!made.ok()) return made.status();
      faulty = std::move(*made);
    }
    io::BlockDevice& lower = faulty ? static_cast<io::BlockDevice&>(*faulty) : **ssd;
    absl::StatusOr<std::unique_ptr<linear::LinearTarget>> target =
        linear::LinearTarget::Create(lower, options.start_sector, options.logical_sectors);
    if (!target.ok()) return target.status();
    return std::unique_ptr<Stack>(new LinearStack(std::move(*ssd), std::move(faulty),
                                                  std::move(*target), options.fault_tally));
  };
}

}  // namespace powercut::props
