#include "harness/file_devices.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/posix/file_io.h"
#include "harness/device_dump.h"

namespace powercut::verifier {

absl::StatusOr<Disk> FileDevices::AddDisk(DiskSpec spec) {
  if (spec.sectors == 0) return absl::InvalidArgumentError(absl::StrCat(spec.name, ": zero sectors"));
  const std::string path = (std::filesystem::path(folder_) / (spec.name + ".img")).string();
  if (spec.contents && spec.contents->sector_count() != spec.sectors) {
    return absl::InvalidArgumentError(absl::StrCat(spec.name, ": contents of another size"));
  }
  if (!options_.reopen || spec.contents) {
    if (absl::Status made = WriteDiskImage(spec.contents.value_or(sim::DiskImage(spec.sectors)), path);
        !made.ok()) {
      return made;
    }
  }
  absl::StatusOr<std::unique_ptr<posix::FileBlockDevice>> device = posix::FileBlockDevice::Open(
      reactor_, path, {.name = spec.name, .allow_buffered = options_.buffered});
  if (device.ok() && (*device)->sector_count() != spec.sectors) {
    return absl::FailedPreconditionError(absl::StrCat(path, " holds ", (*device)->sector_count(),
                                                      " sectors; the stack asks for ", spec.sectors));
  }
  if (!device.ok()) return device.status();
  disks_.push_back(*std::move(device));
  paths_.push_back(path);
  return Disk{.device = disks_.back().get(), .simulated = nullptr};
}

absl::StatusOr<Pmem> FileDevices::AddPmem(PmemSpec spec) {
  if (spec.bytes == 0) return absl::InvalidArgumentError(absl::StrCat(spec.name, ": zero bytes"));
  const std::string path = (std::filesystem::path(folder_) / (spec.name + ".pmem")).string();
  if (spec.contents && spec.contents->size() != spec.bytes) {
    return absl::InvalidArgumentError(absl::StrCat(spec.name, ": contents of another size"));
  }
  if (!options_.reopen || spec.contents) {
    absl::StatusOr<int> made = posix::CreateFile(path, spec.bytes);
    if (!made.ok()) return made.status();
    const posix::ScopedFd file(*made);
    if (spec.contents) {
      if (absl::Status wrote = posix::WriteFully(file.get(), path, *spec.contents, 0); !wrote.ok()) {
        return wrote;
      }
      if (fsync(file.get()) != 0) return posix::ErrnoStatus(path, "fsync");
    }
  }
  absl::StatusOr<std::unique_ptr<posix::MappedPersistentMemory>> pmem =
      posix::MappedPersistentMemory::Open(path, {.name = spec.name});
  if (!pmem.ok()) return pmem.status();
  pmems_.push_back(*std::move(pmem));
  paths_.push_back(path);
  return Pmem{.device = pmems_.back().get(), .simulated = nullptr};
}

}  // namespace powercut::verifier
