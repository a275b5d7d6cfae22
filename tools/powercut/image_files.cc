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
#include "engine/io/block_device.h"
#include "engine/io/sector_range.h"
#include "engine/posix/file_io.h"

namespace powercut::tools {
namespace {

using posix::ErrnoStatus;
using posix::ScopedFd;

// Largest piece copied between files at once.
constexpr uint64_t kPieceBytes = 1 << 20;

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
  if (fd < 0) return ErrnoStatus(path, "cannot create");
  ScopedFd closer(fd);
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) return ErrnoStatus(path, "cannot size");
  return absl::OkStatus();
}

absl::Status CopySparse(const std::string& from, const std::string& to) {
  const int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoStatus(from, "cannot open");
  ScopedFd close_in(in);
  struct stat info {};
  if (fstat(in, &info) != 0) return ErrnoStatus(from, "cannot stat");
  const int out = open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return ErrnoStatus(to, "cannot create");
  ScopedFd close_out(out);
  if (ftruncate(out, info.st_size) != 0) return ErrnoStatus(to, "cannot size");
  std::vector<std::byte> piece(kPieceBytes);
  const uint64_t sectors = (static_cast<uint64_t>(info.st_size) + io::kSectorSize - 1) / io::kSectorSize;
  for (const io::SectorRange& range : posix::FileDataRanges(in, 0, sectors)) {
    const off_t hole = std::min<off_t>(static_cast<off_t>(range.end() * io::kSectorSize), info.st_size);
    for (off_t offset = static_cast<off_t>(range.first * io::kSectorSize); offset < hole;) {
      const size_t length = static_cast<size_t>(std::min<off_t>(hole - offset, kPieceBytes));
      const ssize_t got = pread(in, piece.data(), length, offset);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return ErrnoStatus(from, "read");
      if (absl::Status wrote = posix::WriteFully(
              out, to, std::span(piece.data(), static_cast<size_t>(got)), static_cast<uint64_t>(offset));
          !wrote.ok()) {
        return wrote;
      }
      offset += got;
    }
  }
  if (fsync(out) != 0) return ErrnoStatus(to, "fsync");
  return absl::OkStatus();
}

absl::StatusOr<ImageDifference> CompareImages(const std::string& a, const std::string& b,
                                              const ToleratedDifference& tolerated) {
  const int fa = open(a.c_str(), O_RDONLY | O_CLOEXEC);
  if (fa < 0) return ErrnoStatus(a, "cannot open");
  ScopedFd close_a(fa);
  const int fb = open(b.c_str(), O_RDONLY | O_CLOEXEC);
  if (fb < 0) return ErrnoStatus(b, "cannot open");
  ScopedFd close_b(fb);
  struct stat sa {}, sb {};
  if (fstat(fa, &sa) != 0) return ErrnoStatus(a, "cannot stat");
  if (fstat(fb, &sb) != 0) return ErrnoStatus(b, "cannot stat");
  if (sa.st_size != sb.st_size) {
    return absl::FailedPreconditionError(absl::StrCat(a, " holds ", sa.st_size, " bytes, ", b,
                                                      " holds ", sb.st_size));
  }
  const uint64_t sectors = static_cast<uint64_t>(sa.st_size) / io::kSectorSize;
  std::vector<io::SectorRange> ranges = posix::FileDataRanges(fa, 0, sectors);
  for (const io::SectorRange& range : posix::FileDataRanges(fb, 0, sectors)) ranges.push_back(range);
  ImageDifference difference;
  std::vector<std::byte> piece_a(kPieceBytes);
  std::vector<std::byte> piece_b(kPieceBytes);
  for (const io::SectorRange& range : io::Unite(std::move(ranges))) {
    for (uint64_t sector = range.first; sector < range.end();) {
      const uint64_t count = std::min<uint64_t>(range.end() - sector, kPieceBytes / io::kSectorSize);
      const size_t bytes = count * io::kSectorSize;
      const off_t offset = static_cast<off_t>(sector * io::kSectorSize);
      if (pread(fa, piece_a.data(), bytes, offset) != static_cast<ssize_t>(bytes)) {
        return ErrnoStatus(a, "read");
      }
      if (pread(fb, piece_b.data(), bytes, offset) != static_cast<ssize_t>(bytes)) {
        return ErrnoStatus(b, "read");
      }
      for (uint64_t i = 0; i < count; ++i) {
        const std::span<const std::byte> sector_a(piece_a.data() + i * io::kSectorSize, io::kSectorSize);
        const std::span<const std::byte> sector_b(piece_b.data() + i * io::kSectorSize, io::kSectorSize);
        if (std::memcmp(sector_a.data(), sector_b.data(), io::kSectorSize) == 0) continue;
        if (tolerated && tolerated(sector + i, sector_a, sector_b)) {
          ++difference.tolerated_sectors;
          continue;
        }
        if (!difference.first) difference.first = sector + i;
        ++difference.differing_sectors;
      }
      difference.compared_sectors += count;
      sector += count;
    }
  }
  return difference;
}

absl::StatusOr<std::vector<std::byte>> ReadImageSector(const std::string& path, uint64_t sector) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(path, "cannot open");
  ScopedFd closer(fd);
  std::vector<std::byte> bytes(io::kSectorSize);
  if (pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(sector * io::kSectorSize)) < 0) {
    return ErrnoStatus(path, "read");
  }
  return bytes;
}

}  // namespace powercut::tools
