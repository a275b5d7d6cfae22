// Signature probing: what a file or block device already carries (a file system, a
// partition table, an md, LVM, dm or LUKS header ...), as util-linux's libblkid sees it,
// so that powercut never writes over something it did not make.
//
//   absl::Status safe = posix::RefuseForeignSignatures("disk.img", {}, flags.force);
//   if (!safe.ok()) { /* "disk.img carries the signature of ext4 (filesystem, at byte 1080) ..." */ }
//
// Every signature libblkid knows is reported, not only the first: the probe walks all
// its superblock and partition-table probers (blkid_do_probe in a loop), so a device
// carrying two (a stale file system under a new partition table) names both, where
// blkid_do_safeprobe would give up on the ambiguity. Probing only reads: the device is
// opened O_RDONLY.
//
// Threading: no shared state; callable from any thread. Blocking: reads the device (a
// few KiB at several places), so call it before the scheduler starts, not from a fiber.
#ifndef POWERCUT_ENGINE_POSIX_SIGNATURE_PROBE_H_
#define POWERCUT_ENGINE_POSIX_SIGNATURE_PROBE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace powercut::posix {

// One on-disk signature.
struct Signature {
  // As libblkid names it: "ext4", "xfs", "linux_raid_member", "LVM2_member",
  // "crypto_LUKS", "swap", "dos", "gpt" ...
  std::string type;
  // "filesystem", "raid", "crypto" or "other" (libblkid's USAGE) for a superblock;
  // "partition table" for a partition table.
  std::string usage;
  // Where its magic lies, in bytes from the start of the file or device (not of the
  // probed range): 1080 for ext4, 510 for a dos table, 4096 for an md 1.2 member.
  uint64_t offset_bytes = 0;

  bool operator==(const Signature&) const = default;
};

// The signatures in bytes [offset_bytes, offset_bytes + size_bytes) of `path` (a regular
// file, block or character device); size_bytes 0 means to the end. Probers look where
// their format puts its magic relative to the start of that range, as if it were a whole
// device. Sorted by offset_bytes; empty when nothing is recognized (an all-zero file).
// Errors name the path: NotFound (missing), InvalidArgument (a FIFO, socket or
// directory), FailedPrecondition (cannot be opened, a range libblkid refuses, a read
// failing during the probe).
absl::StatusOr<std::vector<Signature>> ProbeSignatures(const std::string& path,
                                                       uint64_t offset_bytes = 0,
                                                       uint64_t size_bytes = 0);

// OK when `force` is set (without probing), when the range carries no signature, or when
// every signature's type is one of `own_types` (those powercut writes itself, such as
// "linux_raid_member" for an md member it made). Otherwise FailedPrecondition naming each
// foreign signature, its usage and offset, and --force. Errors of ProbeSignatures are
// returned as they are.
[[nodiscard]] absl::Status RefuseForeignSignatures(const std::string& path,
                                                   const std::vector<std::string>& own_types,
                                                   bool force, uint64_t offset_bytes = 0,
                                                   uint64_t size_bytes = 0);

}  // namespace powercut::posix

#endif  // POWERCUT_ENGINE_POSIX_SIGNATURE_PROBE_H_
