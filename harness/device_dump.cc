#include "harness/device_dump.h"

#include <unistd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/posix/file_io.h"

namespace powercut::verifier {
namespace {

// Largest piece read from the device at once.
constexpr uint64_t kPieceBytes = 1 << 20;

}  // namespace

absl::StatusOr<uint64_t> DumpDevice(runtime::Scheduler& scheduler, io::BlockDevice& device,
                                    const std::string& path) {
  const uint64_t sectors = device.sector_count();
  absl::StatusOr<int> made = posix::CreateFile(path, sectors * io::kSectorSize);
  if (!made.ok()) return made.status();
  const posix::ScopedFd closer(*made);
  const int out = *made;
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
      if (absl::Status status = posix::WriteFully(out, path, bytes, first * io::kSectorSize);
          !status.ok()) {
        return status;
      }
      read += count;
      first += count;
    }
  }
  if (fsync(out) != 0) return posix::ErrnoStatus(path, "fsync");
  return read;
}

absl::Status WriteDiskImage(const sim::DiskImage& image, const std::string& path) {
  absl::StatusOr<int> made = posix::CreateFile(path, image.sector_count() * io::kSectorSize);
  if (!made.ok()) return made.status();
  const posix::ScopedFd file(*made);
  std::vector<std::byte> piece;
  for (const io::SectorRange& range : image.StoredRanges(0, image.sector_count())) {
    piece.resize(range.count * io::kSectorSize);
    image.Read(range.first, piece);
    if (absl::Status wrote = posix::WriteFully(file.get(), path, piece, range.first * io::kSectorSize);
        !wrote.ok()) {
      return wrote;
    }
  }
  if (fsync(file.get()) != 0) return posix::ErrnoStatus(path, "fsync");
  return absl::OkStatus();
}

}  // namespace powercut::verifier
