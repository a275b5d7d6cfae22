// Raid1StackFactory: builds the RAID1 stack over SimSsd members (raid1_stack.h).
#include "properties/raid1_stack.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace powercut::props {
namespace {

class Raid1Stack : public Stack {
 public:
  Raid1Stack(std::vector<std::unique_ptr<sim::SimSsd>> members,
             std::unique_ptr<raid1::Raid1Array> array)
      : members_(std::move(members)), array_(std::move(array)) {}

  io::BlockDevice& logical() override { return *array_; }
  absl::Status Start() override { return array_->Assemble(); }
  CrashImages SampleCrash(sim::Prng& prng) const override {
    CrashImages images;
    for (const auto& member : members_) images.disks.push_back(member->CrashState().Sample(prng));
    return images;
  }

 private:
  std::vector<std::unique_ptr<sim::SimSsd>> members_;
  std::unique_ptr<raid1::Raid1Array> array_;  // over members_
};

}  // namespace

raid1::Raid1Options Raid1ArrayOptions(const Raid1StackOptions& options) {
  raid1::Raid1Options array;
  array.array_sectors = options.logical_sectors;
  array.chunk_sectors = options.chunk_sectors;
  array.daemon_sleep_s = options.daemon_sleep_s;
  return array;
}

absl::StatusOr<raid1::Raid1Geometry> Raid1StackGeometry(const Raid1StackOptions& options) {
  const raid1::Raid1Options array = Raid1ArrayOptions(options);
  // The layout before the data depends only on the array's size, not the member's.
  absl::StatusOr<raid1::Raid1Geometry> sizing = raid1::Raid1Geometry::For(uint64_t{1} << 40, array);
  if (!sizing.ok()) return sizing.status();
  return raid1::Raid1Geometry::For(sizing->data_offset + options.logical_sectors, array);
}

StackFactory Raid1StackFactory(Raid1StackOptions options) {
  return [options](sim::World& world,
                   const CrashImages* recover_from) -> absl::StatusOr<std::unique_ptr<Stack>> {
    absl::StatusOr<raid1::Raid1Geometry> geometry = Raid1StackGeometry(options);
    if (!geometry.ok()) return geometry.status();
    if (recover_from != nullptr && recover_from->disks.size() != options.mirrors) {
      return absl::InvalidArgumentError(absl::StrCat("raid1 stack: expected ", options.mirrors,
                                                     " disk images, got ",
                                                     recover_from->disks.size()));
    }
    const raid1::Raid1Options array_options = Raid1ArrayOptions(options);
    std::vector<std::unique_ptr<sim::SimSsd>> members;
    std::vector<io::BlockDevice*> devices;
    for (uint32_t i = 0; i < options.mirrors; ++i) {
      sim::SimSsdOptions ssd = options.ssd;
      ssd.name = absl::StrCat("ssd", i);
      ssd.sectors = geometry->member_sectors;
      sim::DiskImage image(ssd.sectors);
      if (recover_from != nullptr) {
        image = recover_from->disks[i];
      } else {
        for (const raid1::MetadataBlock& block :
             raid1::Raid1Array::FormatMember(*geometry, array_options, options.mirrors, i)) {
          const std::vector<sim::SectorRef> refs = sim::SplitIntoSectors(block.bytes);
          for (size_t k = 0; k < refs.size(); ++k) image.Put(block.sector + k, refs[k]);
        }
      }
      absl::StatusOr<std::unique_ptr<sim::SimSsd>> made =
          sim::SimSsd::Create(world, ssd, std::move(image));
      if (!made.ok()) return made.status();
      devices.push_back(made->get());
      members.push_back(std::move(*made));
    }
    absl::StatusOr<std::unique_ptr<raid1::Raid1Array>> array =
        raid1::Raid1Array::Open(world.scheduler(), devices, array_options);
    if (!array.ok()) return array.status();
    return std::unique_ptr<Stack>(new Raid1Stack(std::move(members), std::move(*array)));
  };
}

}  // namespace powercut::props
