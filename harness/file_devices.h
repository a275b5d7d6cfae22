// FileDevices: the Devices a stack asks for, as image files in a folder, run through
// the real backend (engine/posix): a disk is NAME.img opened with O_DIRECT over
// io_uring, a persistent memory is NAME.pmem mapped with mmap.
//
//   FileDevices devices(reactor, "/var/tmp/parity/real", {});
//   absl::StatusOr<std::unique_ptr<Stack>> stack = factory(world, devices);
//
// Each file is made fresh (sparse, the size the spec asks) and holds the spec's
// contents, if any, before the device opens; nothing else in the folder is touched.
// With Options::reopen the files are those a killed process left: opened as they are,
// unless the spec gives contents (an old device put back). There is no simulated view
// (Disk::simulated and Pmem::simulated are null), so a binding's invariant checkers
// must be off (EngineEnvironment::simulated = false).
//
// Ownership and threading: owns the devices it made; the reactor's thread only; the
// reactor must outlive them.
#ifndef POWERCUT_HARNESS_FILE_DEVICES_H_
#define POWERCUT_HARNESS_FILE_DEVICES_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/posix/file_block_device.h"
#include "engine/posix/mapped_pmem.h"
#include "engine/posix/uring_reactor.h"
#include "harness/devices.h"

namespace powercut::verifier {

class FileDevices : public Devices {
 public:
  struct Options {
    bool buffered = false;  // where O_DIRECT is refused, use the page cache
    // Open the files already in the folder as they are (the devices come back after a
    // crash: recovering() is true) instead of making fresh ones.
    bool reopen = false;
  };
  FileDevices(posix::UringReactor& reactor, std::string folder, Options options)
      : reactor_(reactor), folder_(std::move(folder)), options_(options) {}

  absl::StatusOr<Disk> AddDisk(DiskSpec spec) override;
  absl::StatusOr<Pmem> AddPmem(PmemSpec spec) override;
  bool recovering() const override { return options_.reopen; }

  // The files made, in the order they were asked for.
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  posix::UringReactor& reactor_;
  const std::string folder_;
  const Options options_;
  std::vector<std::string> paths_;
  std::vector<std::unique_ptr<posix::FileBlockDevice>> disks_;
  std::vector<std::unique_ptr<posix::MappedPersistentMemory>> pmems_;
};

}  // namespace powercut::verifier

#endif  // POWERCUT_HARNESS_FILE_DEVICES_H_
