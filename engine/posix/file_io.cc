#include "engine/posix/file_io.h"

#include <fcntl.h>
#include <unistd.h>

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
