#include "engine/posix/file_block_device.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/posix/file_io.h"

namespace powercut::posix {
namespace {

// Buffers handed to the kernel with O_DIRECT start on this boundary (a page: every
// device's and file system's memory alignment for direct IO divides it).
constexpr size_t kDirectAlignment = 4096;

struct AlignedFree {
  void operator()(std::byte* bytes) const { std::free(bytes); }
};
using AlignedBuffer = std::unique_ptr<std::byte[], AlignedFree>;

AlignedBuffer AllocateAligned(size_t bytes) {
  const size_t rounded = (bytes + kDirectAlignment - 1) / kDirectAlignment * kDirectAlignment;
  return AlignedBuffer(static_cast<std::byte*>(std::aligned_alloc(kDirectAlignment, rounded)));
}

bool Aligned(const void* address) {
  return reinterpret_cast<uintptr_t>(address) % kDirectAlignment == 0;
}

std::string Errno(int error) { return std::strerror(error); }

}  // namespace

// One read or write in progress: what is left, and the bounce buffer if any.
struct FileBlockDevice::Transfer {
  bool write = false;
  int rw_flags = 0;
  uint64_t sector = 0;           // of the request, for messages
  uint64_t byte_offset = 0;      // in the file, of the next part
  std::span<std::byte> caller;   // the request's buffer (a write's is never written)
  AlignedBuffer bounce;          // when the caller's buffer is not aligned
  size_t done_bytes = 0;
  io::IoCallback done;

  std::byte* kernel_buffer() { return bounce ? bounce.get() : caller.data(); }
};

absl::StatusOr<std::unique_ptr<FileBlockDevice>> FileBlockDevice::Open(
    UringReactor& reactor, const std::string& path, FileDeviceOptions options) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", Errno(errno)));
  }
  const bool block_device = S_ISBLK(info.st_mode);
  if (!block_device && !S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": neither a regular file nor a block device"));
  }
  const int access = options.read_only ? O_RDONLY : O_RDWR;
  bool direct = true;
  int fd = open(path.c_str(), access | O_DIRECT | O_CLOEXEC);
  if (fd < 0 && errno == EINVAL) {
    if (!options.allow_buffered) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": its file system refuses O_DIRECT (direct IO); --buffered runs through "
                "the page cache instead (flushes still fdatasync)"));
    }
    direct = false;
    fd = open(path.c_str(), access | O_CLOEXEC);
  }
  if (fd < 0) {
    const int error = errno;
    if (error == EROFS || error == EACCES || error == EPERM) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": read-only (", Errno(error), "); powercut needs to write to it"));
    }
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot open: ", Errno(error)));
  }
  std::unique_ptr<FileBlockDevice> device(new FileBlockDevice(
      reactor, path,
      options.name.empty() ? std::filesystem::path(path).filename().string() : options.name, fd));
  device->read_only_ = options.read_only;
  device->direct_ = direct;
  device->block_device_ = block_device;

  uint64_t bytes = static_cast<uint64_t>(info.st_size);
  uint32_t logical_block = io::kSectorSize;
  if (block_device) {
    int sector_size = 0;
    if (ioctl(fd, BLKGETSIZE64, &bytes) != 0 || ioctl(fd, BLKSSZGET, &sector_size) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": cannot read the device's size: ", Errno(errno)));
    }
    logical_block = static_cast<uint32_t>(std::max(sector_size, 512));
  } else if (direct) {
    struct statx extended {};
    if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &extended) == 0 &&
        (extended.stx_mask & STATX_DIOALIGN) != 0 && extended.stx_dio_offset_align > 0) {
      logical_block = std::max<uint32_t>(extended.stx_dio_offset_align, io::kSectorSize);
    }
  }
  if (bytes % io::kSectorSize != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": its size (", bytes, " bytes) is not a multiple of 512-byte sectors"));
  }
  const uint64_t file_sectors = bytes / io::kSectorSize;
  if (options.first_sector > file_sectors ||
      options.sectors > file_sectors - options.first_sector) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": the window [", options.first_sector, ", +", options.sectors,
        ") lies past its end (", file_sectors, " sectors)"));
  }
  device->first_sector_ = options.first_sector;
  device->sectors_ =
      options.sectors == 0 ? file_sectors - options.first_sector : options.sectors;
  device->block_sectors_ = logical_block / io::kSectorSize;
  if (device->sectors_ < options.min_sectors || device->sectors_ == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": too small: ", device->sectors_, " sectors, needs at least ",
                     std::max<uint64_t>(options.min_sectors, 1)));
  }
  if (device->first_sector_ % device->block_sectors_ != 0 ||
      device->sectors_ % device->block_sectors_ != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the device is not a whole number of its ", logical_block,
                     "-byte logical blocks"));
  }
  return device;
}

FileBlockDevice::FileBlockDevice(UringReactor& reactor, std::string path, std::string name,
                                 int fd)
    : reactor_(reactor), path_(std::move(path)), name_(std::move(name)), fd_(fd) {}

FileBlockDevice::~FileBlockDevice() { close(fd_); }

absl::Status FileBlockDevice::ErrorStatus(int error, const char* what, uint64_t sector) const {
  return absl::ErrnoToStatus(error, absl::StrCat(name_, ": ", what, " at sector ", sector));
}

void FileBlockDevice::CompleteLater(io::IoCallback done, absl::Status status) {
  reactor_.CallAt(reactor_.Now(), [done = std::move(done), status = std::move(status)]() mutable {
    done(std::move(status));
  });
}

bool FileBlockDevice::Admit(uint64_t sector, uint64_t sectors, bool writes,
                            io::IoCallback& done) {
  absl::Status status = io::ValidateRange(sectors_, sector, sectors);
  if (status.ok() && (sector % block_sectors_ != 0 || sectors % block_sectors_ != 0)) {
    status = absl::InvalidArgumentError(
        absl::StrCat(name_, ": sectors [", sector, ", +", sectors, ") are not aligned to its ",
                     block_sectors_ * io::kSectorSize, "-byte logical blocks"));
  }
  if (status.ok() && writes && read_only_) {
    status = absl::PermissionDeniedError(absl::StrCat(name_, " is open read-only"));
  }
  if (status.ok()) return true;
  CompleteLater(std::move(done), std::move(status));
  return false;
}

void FileBlockDevice::SubmitRead(uint64_t sector, std::span<std::byte> buffer,
                                 io::IoCallback done) {
  if (absl::Status shape = io::ValidateBuffer(buffer.size()); !shape.ok()) {
    CompleteLater(std::move(done), std::move(shape));
    return;
  }
  if (!Admit(sector, buffer.size() / io::kSectorSize, false, done)) return;
  auto transfer = std::make_shared<Transfer>();
  transfer->sector = sector;
  transfer->byte_offset = (first_sector_ + sector) * io::kSectorSize;
  transfer->caller = buffer;
  if (direct_ && !Aligned(buffer.data())) transfer->bounce = AllocateAligned(buffer.size());
  transfer->done = std::move(done);
  Continue(std::move(transfer));
}

void FileBlockDevice::SubmitWrite(uint64_t sector, std::span<const std::byte> data,
                                  uint32_t flags, io::IoCallback done) {
  if (absl::Status shape = io::ValidateBuffer(data.size()); !shape.ok()) {
    CompleteLater(std::move(done), std::move(shape));
    return;
  }
  if (!Admit(sector, data.size() / io::kSectorSize, true, done)) return;
  auto transfer = std::make_shared<Transfer>();
  transfer->write = true;
  transfer->rw_flags = (flags & io::kFua) != 0 ? RWF_DSYNC : 0;
  transfer->sector = sector;
  transfer->byte_offset = (first_sector_ + sector) * io::kSectorSize;
  // The kernel only reads a write's buffer; the span is mutable for the bounce copy-back
  // of reads, which never happens for writes.
  transfer->caller = {const_cast<std::byte*>(data.data()), data.size()};
  if (direct_ && !Aligned(data.data())) {
    transfer->bounce = AllocateAligned(data.size());
    std::memcpy(transfer->bounce.get(), data.data(), data.size());
  }
  transfer->done = std::move(done);
  if ((flags & io::kPreflush) == 0) {
    Continue(std::move(transfer));
    return;
  }
  SubmitFlush([this, transfer = std::move(transfer)](absl::Status flushed) mutable {
    if (!flushed.ok()) {
      transfer->done(std::move(flushed));
      return;
    }
    Continue(std::move(transfer));
  });
}

void FileBlockDevice::Continue(std::shared_ptr<Transfer> transfer) {
  const size_t left = transfer->caller.size() - transfer->done_bytes;
  std::byte* buffer = transfer->kernel_buffer() + transfer->done_bytes;
  const uint64_t offset = transfer->byte_offset + transfer->done_bytes;
  const int fd = fd_;
  reactor_.Submit(
      [&](io_uring_sqe* sqe) {
        if (transfer->write) {
          io_uring_prep_write(sqe, fd, buffer, static_cast<unsigned>(left), offset);
          sqe->rw_flags = transfer->rw_flags;
        } else {
          io_uring_prep_read(sqe, fd, buffer, static_cast<unsigned>(left), offset);
        }
      },
      [this, transfer](int32_t result) mutable {
        if (result < 0) {
          transfer->done(ErrorStatus(-result, transfer->write ? "write" : "read",
                                     transfer->sector));
          return;
        }
        if (result == 0) {  // nothing moved: the file shrank under us
          transfer->done(absl::DataLossError(absl::StrCat(
              name_, ": ", transfer->write ? "write" : "read", " at sector ", transfer->sector,
              " moved no bytes (the file was truncated?)")));
          return;
        }
        transfer->done_bytes += static_cast<size_t>(result);
        if (transfer->done_bytes < transfer->caller.size()) {
          Continue(std::move(transfer));
          return;
        }
        if (!transfer->write && transfer->bounce) {
          std::memcpy(transfer->caller.data(), transfer->bounce.get(), transfer->caller.size());
        }
        transfer->done(absl::OkStatus());
      });
}

void FileBlockDevice::SubmitFlush(io::IoCallback done) {
  if (read_only_) {
    CompleteLater(std::move(done),
                  absl::PermissionDeniedError(absl::StrCat(name_, " is open read-only")));
    return;
  }
  const int fd = fd_;
  reactor_.Submit([fd](io_uring_sqe* sqe) { io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC); },
                  [this, done = std::move(done)](int32_t result) mutable {
                    done(result < 0 ? ErrorStatus(-result, "flush", 0) : absl::OkStatus());
                  });
}

void FileBlockDevice::SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) {
  if (!Admit(sector, sectors, true, done)) return;
  const uint64_t offset = (first_sector_ + sector) * io::kSectorSize;
  const uint64_t length = sectors * io::kSectorSize;
  if (block_device_) {
    uint64_t range[2] = {offset, length};
    const bool refused = ioctl(fd_, BLKDISCARD, &range) != 0;
    const int error = errno;
    CompleteLater(std::move(done), refused && error != EOPNOTSUPP
                                       ? ErrorStatus(error, "discard", sector)
                                       : absl::OkStatus());
    return;
  }
  const int fd = fd_;
  reactor_.Submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset,
                                length);
      },
      [this, sector, done = std::move(done)](int32_t result) mutable {
        const bool unsupported = result == -EOPNOTSUPP;  // contents may stay as they were
        done(result < 0 && !unsupported ? ErrorStatus(-result, "discard", sector)
                                        : absl::OkStatus());
      });
}

std::vector<io::SectorRange> FileBlockDevice::DataRanges(uint64_t first, uint64_t count) const {
  if (block_device_ || count == 0) return {{first, count}};
  std::vector<io::SectorRange> ranges = FileDataRanges(fd_, first_sector_ + first, count);
  for (io::SectorRange& range : ranges) range.first -= first_sector_;
  return ranges;
}

}  // namespace powercut::posix
