#include "properties/linear_stack.h"

#include "engine/linear/linear_target.h"

namespace powercut::props {
namespace {

class LinearStack : public Stack {
 public:
  LinearStack(std::unique_ptr<sim::SimSsd> ssd, std::unique_ptr<linear::LinearTarget> target)
      : ssd_(std::move(ssd)), target_(std::move(target)) {}

  io::BlockDevice& logical() override { return *target_; }
  absl::Status Start() override { return absl::OkStatus(); }
  CrashImages SampleCrash(sim::Prng& prng) const override {
    CrashImages images;
    images.disks.push_back(ssd_->CrashState().Sample(prng));
    return images;
  }

 private:
  std::unique_ptr<sim::SimSsd> ssd_;
  std::unique_ptr<linear::LinearTarget> target_;
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
    absl::StatusOr<std::unique_ptr<linear::LinearTarget>> target =
        linear::LinearTarget::Create(**ssd, options.start_sector, options.logical_sectors);
    if (!target.ok()) return target.status();
    return std::unique_ptr<Stack>(new LinearStack(std::move(*ssd), std::move(*target)));
  };
}

}  // namespace powercut::props
