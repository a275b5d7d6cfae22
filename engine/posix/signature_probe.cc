#include "engine/posix/signature_probe.h"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace powercut::posix {
namespace {

// errno after a libblkid call that failed: it reports failures as -1 and leaves errno as
// the system call that failed set it, or untouched when no system call did.
std::string LibblkidError(int error) {
  return error != 0 ? std::strerror(error) : "libblkid gave no reason";
}

// The value `name` of the probe's current result, if it has one.
bool LookupValue(blkid_probe probe, const char* name, std::string& value) {
  const char* data = nullptr;
  if (blkid_probe_lookup_value(probe, name, &data, nullptr) != 0 || data == nullptr) {
    return false;
  }
  value = data;
  return true;
}

// "bytes [4096, 8192)", or "bytes from 4096 to the end" for size 0.
std::string DescribeRange(uint64_t offset_bytes, uint64_t size_bytes) {
  if (size_bytes == 0) return absl::StrCat("bytes from ", offset_bytes, " to the end");
  return absl::StrCat("bytes [", offset_bytes, ", ", offset_bytes + size_bytes, ")");
}

}  // namespace

absl::StatusOr<std::vector<Signature>> ProbeSignatures(const std::string& path,
                                                       uint64_t offset_bytes, uint64_t size_bytes) {
  constexpr uint64_t kMaxOffset = std::numeric_limits<blkid_loff_t>::max();
  if (offset_bytes > kMaxOffset || size_bytes > kMaxOffset) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot probe ", DescribeRange(offset_bytes, size_bytes)));
  }
  // O_NONBLOCK, as blkid_new_probe_from_filename opens too: opening a FIFO must not block
  // (it is refused just below).
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": cannot open it to probe for signatures: ", std::strerror(errno)));
  }
  absl::Cleanup close_fd = [fd] { close(fd); };

  struct stat info {};
  if (fstat(fd, &info) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": fstat: ", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode) && !S_ISBLK(info.st_mode) && !S_ISCHR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": neither a regular file nor a device, so it cannot be probed"));
  }

  blkid_probe probe = blkid_new_probe();
  if (probe == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(path, ": libblkid cannot allocate a probe"));
  }
  // Declared after close_fd, so the probe is freed before its descriptor is closed.
  absl::Cleanup free_probe = [probe] { blkid_free_probe(probe); };

  errno = 0;
  if (blkid_probe_set_device(probe, fd, static_cast<blkid_loff_t>(offset_bytes),
                             static_cast<blkid_loff_t>(size_bytes)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": libblkid refuses to probe ",
                                                      DescribeRange(offset_bytes, size_bytes),
                                                      " (past its end?): ", LibblkidError(errno)));
  }
  blkid_probe_enable_superblocks(probe, 1);
  blkid_probe_set_superblocks_flags(probe,
                                    BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_MAGIC);
  blkid_probe_enable_partitions(probe, 1);
  blkid_probe_set_partitions_flags(probe, BLKID_PARTS_MAGIC);

  // Each blkid_do_probe returning 0 is one prober's find: a superblock (TYPE, USAGE,
  // SBMAGIC_OFFSET) or a partition table (PTTYPE, PTMAGIC_OFFSET). 1 means all probers
  // of all chains have run.
  std::vector<Signature> found;
  int result = 0;
  for (errno = 0; (result = blkid_do_probe(probe)) == 0; errno = 0) {
    Signature signature;
    std::string magic_offset;
    if (LookupValue(probe, "TYPE", signature.type)) {
      if (!LookupValue(probe, "USAGE", signature.usage)) signature.usage = "other";
      LookupValue(probe, "SBMAGIC_OFFSET", magic_offset);
    } else if (LookupValue(probe, "PTTYPE", signature.type)) {
      signature.usage = "partition table";
      LookupValue(probe, "PTMAGIC_OFFSET", magic_offset);
    } else {
      continue;
    }
    uint64_t offset_in_range = 0;
    if (!magic_offset.empty() && !absl::SimpleAtoi(magic_offset, &offset_in_range)) {
      return absl::InternalError(absl::StrCat(path, ": libblkid gave the ", signature.type,
                                              " signature the offset '", magic_offset, "'"));
    }
    signature.offset_bytes = offset_bytes + offset_in_range;
    found.push_back(std::move(signature));
  }
  if (result < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": libblkid failed while probing for signatures: ", LibblkidError(errno)));
  }
  std::stable_sort(found.begin(), found.end(), [](const Signature& a, const Signature& b) {
    return a.offset_bytes < b.offset_bytes;
  });
  return found;
}

absl::Status RefuseForeignSignatures(const std::string& path,
                                     const std::vector<std::string>& own_types, bool force,
                                     uint64_t offset_bytes, uint64_t size_bytes) {
  if (force) return absl::OkStatus();
  absl::StatusOr<std::vector<Signature>> found = ProbeSignatures(path, offset_bytes, size_bytes);
  if (!found.ok()) return found.status();
  std::vector<std::string> foreign;
  for (const Signature& signature : *found) {
    if (std::find(own_types.begin(), own_types.end(), signature.type) != own_types.end()) {
      continue;
    }
    foreign.push_back(absl::StrCat(signature.type, " (", signature.usage, ", at byte ",
                                   signature.offset_bytes, ")"));
  }
  if (foreign.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(path, " carries the signature of ", absl::StrJoin(foreign, " and "),
                   "; refusing to write over it (--force overrides)"));
}

}  // namespace powercut::posix
