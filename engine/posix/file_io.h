// Small blocking file helpers shared by FileBlockDevice and the tools that make, copy
// and compare image files: a descriptor closed on scope exit, a fresh sparse file, where
// a file holds data, and a positioned write that writes everything.
//
// Threading: any thread; plain system calls.
#ifndef POWERCUT_ENGINE_POSIX_FILE_IO_H_
#define POWERCUT_ENGINE_POSIX_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "engine/io/sector_range.h"

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

// The sectors of [first, first + count) of an open file that may hold data (SEEK_DATA /
// SEEK_HOLE, widened to whole 512-byte sectors), sorted; the whole range when the file
// system cannot tell. Every other sector reads as zeroes.
std::vector<io::SectorRange> FileDataRanges(int fd, uint64_t first, uint64_t count);

// pwrite until every byte of `bytes` is at `offset` (EINTR retried).
absl::Status WriteFully(int fd, const std::string& path, std::span<const std::byte> bytes,
                        uint64_t offset);

}  // namespace powercut::posix

#endif  // POWERCUT_ENGINE_POSIX_FILE_IO_H_
