#include "tools/powercut/image_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"

namespace powercut::tools {
namespace {

// Largest piece read from a device or copied between files at once.
constexpr uint64_t kPieceBytes = 1 << 20;

// Closes a file descriptor when it goes out of scope.
class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;

 private:
  int fd_;
};

absl::Status ErrnoError(const std::string& path, const char* what) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", what, ": ", std::strerror(errno)));
}

// Writes all of `bytes` at `offset`.
absl::Status WriteAll(int fd, const std::string& path, const std::byte* bytes, uint64_t length,
                      uint64_t offset) {
  while (length > 0) {
    const ssize_t wrote = pwrite(fd, bytes, length, static_cast<off_t>(offset));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return ErrnoError(path, "write");
    bytes += wrote;
    length -= static_cast<uint64_t>(wrote);
    offset += static_cast<uint64_t>(wrote);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> ParseSize(std::string_view text) {
  std::string lower = absl::AsciiStrToLower(std::string(text));
  for (std::string_view suffix : {"ib", "b"}) {
    if (lower.size() > suffix.size() && lower.ends_with(suffix) &&
        !absl::ascii_isdigit(static_cast<unsigned char>(lower[lower.size() - suffix.size() - 1]))) {
      lower.resize(lower.size() - suffix.size());
      break;
    }
  }
  int shift = 0;
  if (!lower.empty()) {
    const size_t at = std::string_view("kmgt").find(lower.back());
    if (at != std::string_view::npos) {
      shift = 10 * static_cast<int>(at + 1);
      lower.pop_back();
    }
  }
  uint64_t value = 0;
  if (lower.empty() || !absl::SimpleAtoi(lower, &value) || lower[0] == '-' || lower[0] == '+' ||
      value > (uint64_t{1} << 62 >> shift)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad size \"", std::string(text), "\" (a number of bytes, or with K, M, G or T)"));
  }
  return value << shift;
}

absl::Status CreateImageIfMissing(const std::string& path, uint64_t bytes) {
  if (bytes % io::kSectorSize != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": size ", bytes, " is not a multiple of 512 bytes"));
  }
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) return absl::OkStatus();
  if (fd < 0) return ErrnoError(path, "cannot create");
  FileCloser closer(fd);
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) return ErrnoError(path, "cannot size");
  return absl::OkStatus();
}

absl::Status CopySparse(const std::string& from, const std::string& to) {
  const int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoError(from, "cannot open");
  FileCloser close_in(in);
  struct stat info {};
  if (fstat(in, &info) != 0) return ErrnoError(from, "cannot stat");
  const int out = open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return ErrnoError(to, "cannot create");
  FileCloser close_out(out);
  if (ftruncate(out, info.st_size) != 0) return ErrnoError(to, "cannot size");
  std::vector<std::byte> piece(kPieceBytes);
  off_t at = 0;
  while (at < info.st_size) {
    off_t data = lseek(in, at, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;
    if (data < 0) data = at;  // the file system cannot tell: copy everything
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0) hole = info.st_size;
    for (off_t offset = data; offset < hole;) {
      const size_t length = static_cast<size_t>(std::min<off_t>(hole - offset, kPieceBytes));
      const ssize_t got = pread(in, piece.data(), length, offset);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return ErrnoError(from, "read");
      if (absl::Status wrote = WriteAll(out, to, piece.data(), static_cast<uint64_t>(got),
                                        static_cast<uint64_t>(offset));
          !wrote.ok()) {
        return wrote;
      }
      offset += got;
    }
    at = hole;
  }
  if (fsync(out) != 0) return ErrnoError(to, "fsync");
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> DumpDevice(runtime::Scheduler& scheduler, io::BlockDevice& device,
                                    const std::string& path) {
  const int out = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return ErrnoError(path, "cannot create");
  FileCloser closer(out);
  const uint64_t sectors = device.sector_count();
  if (ftruncate(out, static_cast<off_t>(sectors * io::kSectorSize)) != 0) {
    return ErrnoError(path, "cannot size");
  }
  const uint64_t block = device.block_sectors();
  const uint64_t piece_sectors = kPieceBytes / io::kSectorSize;
  std::vector<std::byte> piece(kPieceBytes);
  uint64_t read = 0;
  for (const io::SectorRange& range : device.DataRanges(0, sectors)) {
    // Whole logical blocks, as the device only takes those.
    uint64_t first = range.first / block * block;
    const uint64_t end = std::min(sectors, (range.end() + block - 1) / block * block);
    while (first < end) {
      const uint64_t count = std::min(piece_sectors, end - first);
      std::span<std::byte> bytes(piece.data(), count * io::kSectorSize);
      if (absl::Status status = io::ReadSync(scheduler, device, first, bytes); !status.ok()) {
        return absl::Status(status.code(), absl::StrCat("reading the logical device at sector ",
                                                        first, ": ", status.message()));
      }
      if (absl::Status status = WriteAll(out, path, bytes.data(), bytes.size(),
                                         first * io::kSectorSize);
          !status.ok()) {
        return status;
      }
      read += count;
      first += count;
    }
  }
  if (fsync(out) != 0) return ErrnoError(path, "fsync");
  return read;
}

}  // namespace powercut::tools
