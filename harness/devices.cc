#include "harness/devices.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace powercut::verifier {
namespace {

// The crash image the `index`-th device of a kind comes back with.
template <typename Image>
absl::StatusOr<Image> CrashImageFor(const std::vector<Image>& images, size_t index,
                                    const std::string& name, const char* kind) {
  if (index >= images.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("device ", name, ": the crash left ", images.size(), " ", kind));
  }
  return images[index];
}

}  // namespace

absl::StatusOr<Disk> SimulatedDevices::AddDisk(DiskSpec spec) {
  sim::SimSsdOptions options = std::move(spec.simulated);
  options.name = spec.name;
  options.sectors = spec.sectors;
  std::optional<sim::DiskImage> initial = std::move(spec.contents);
  if (!initial && recover_from_ != nullptr) {
    absl::StatusOr<sim::DiskImage> image =
        CrashImageFor(recover_from_->disks, disks_.size(), spec.name, "disk images");
    if (!image.ok()) return image.status();
    initial = *std::move(image);
  }
  absl::StatusOr<std::unique_ptr<sim::SimSsd>> made =
      sim::SimSsd::Create(world_, std::move(options), std::move(initial));
  if (!made.ok()) return made.status();
  disks_.push_back(*std::move(made));
  made_pmem_.push_back(false);
  return Disk{.device = disks_.back().get(), .simulated = disks_.back().get()};
}

absl::StatusOr<Pmem> SimulatedDevices::AddPmem(PmemSpec spec) {
  std::optional<std::vector<std::byte>> initial = std::move(spec.contents);
  if (!initial && recover_from_ != nullptr) {
    absl::StatusOr<std::vector<std::byte>> image = CrashImageFor(
        recover_from_->pmems, pmems_.size(), spec.name, "persistent memory images");
    if (!image.ok()) return image.status();
    initial = *std::move(image);
  }
  absl::StatusOr<std::unique_ptr<sim::SimPmem>> made = sim::SimPmem::Create(
      world_, {.name = spec.name, .size = spec.bytes}, std::move(initial));
  if (!made.ok()) return made.status();
  pmems_.push_back(*std::move(made));
  made_pmem_.push_back(true);
  return Pmem{.device = pmems_.back().get(), .simulated = pmems_.back().get()};
}

CrashImages SimulatedDevices::SampleCrash(sim::Prng& prng) const {
  CrashImages images{.power_cuts = power_cuts() + 1};
  size_t disk = 0, pmem = 0;
  for (const bool is_pmem : made_pmem_) {
    if (is_pmem) {
      images.pmems.push_back(pmems_[pmem++]->SampleCrashImage(prng));
    } else {
      images.disks.push_back(disks_[disk++]->SampleCrashImage(prng));
    }
  }
  return images;
}

}  // namespace powercut::verifier
