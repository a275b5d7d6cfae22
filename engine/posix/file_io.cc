#include "engine/posix/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace powercut::posix {

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) close(fd_);
}

absl::Status ErrnoStatus(const std::string& path, const char* what) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", what, ": ", std::strerror(errno)));
}

absl::StatusOr<int> CreateFile(const std::string& path, uint64_t bytes) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus(path, "cannot create");
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    absl::Status failed =
        errno == EFBIG ? absl::FailedPreconditionError(absl::StrCat(
                             path, ": its file system cannot hold a file of ", bytes, " bytes"))
                       : ErrnoStatus(path, "cannot size");
    close(fd);
    return failed;
  }
  return fd;
}

std::vector<io::SectorRange> FileDataRanges(int fd, uint64_t first, uint64_t count) {
  std::vector<io::SectorRange> ranges;
  const off_t end = static_cast<off_t>((first + count) * io::kSectorSize);
  off_t at = static_cast<off_t>(first * io::kSectorSize);
  while (at < end) {
    const off_t data = lseek(fd, at, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // no data past `at`
    if (data < 0) return {{first, count}};  // the file system cannot tell
    if (data >= end) break;
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return {{first, count}};
    hole = std::min(hole, end);
    const uint64_t from = static_cast<uint64_t>(data) / io::kSectorSize;
    const uint64_t to = (static_cast<uint64_t>(hole) + io::kSectorSize - 1) / io::kSectorSize;
    ranges.push_back({from, to - from});
    at = hole;
  }
  return ranges;
}

absl::Status WriteFully(int fd, const std::string& path, std::span<const std::byte> bytes,
                        uint64_t offset) {
  while (!bytes.empty()) {
    const ssize_t wrote = pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return ErrnoStatus(path, "write");
    bytes = bytes.subspan(static_cast<size_t>(wrote));
    offset += static_cast<uint64_t>(wrote);
  }
  return absl::OkStatus();
}

}  // namespace powercut::posix
