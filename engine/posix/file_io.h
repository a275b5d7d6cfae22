// Small blocking file helpers shared by the tools that make and copy image files (not
// the engines' IO path, which is FileBlockDevice): a descriptor closed on scope exit
// and a positioned write that writes everything.
//
// Threading: any thread; plain system calls.
#ifndef POWERCUT_ENGINE_POSIX_FILE_IO_H_
#define POWERCUT_ENGINE_POSIX_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace powercut::posix {

// Owns a file descriptor (-1: none) and closes it.
class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ~ScopedFd();
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// FailedPrecondition "PATH: WHAT: strerror(errno)".
absl::Status ErrnoStatus(const std::string& path, const char* what);

// A fresh sparse file of `bytes` at `path` (replacing one there), open read-write; the
// caller owns the descriptor.
absl::StatusOr<int> CreateFile(const std::string& path, uint64_t bytes);

// pwrite until every byte of `bytes` is at `offset` (EINTR retried).
absl::Status WriteFully(int fd, const std::string& path, std::span<const std::byte> bytes,
                        uint64_t offset);

}  // namespace powercut::posix

#endif  // POWERCUT_ENGINE_POSIX_FILE_IO_H_
