// FileBlockDevice: an io::BlockDevice over a regular file or a block device, driven by
// io_uring through a UringReactor, opened with O_DIRECT so the page cache neither hides
// nor delays what the engine writes.
//
//   auto reactor = posix::UringReactor::Create();
//   auto origin = posix::FileBlockDevice::Open(**reactor, "origin.img", {.min_sectors = 2048});
//   if (!origin.ok()) { /* missing, too small, read-only, unaligned, no O_DIRECT ... */ }
//
// What each request becomes:
//   read / write    IORING_OP_READ / WRITE at the byte offset; a buffer not aligned for
//                   direct IO (4 KiB) goes through an aligned bounce buffer; a short
//                   transfer is continued until done.
//   kFua            the write with RWF_DSYNC (durable when it completes).
//   kPreflush       IORING_OP_FSYNC (DATASYNC), then the write.
//   Flush           IORING_OP_FSYNC with IORING_FSYNC_DATASYNC: every write completed
//                   before it is durable when it completes (the file's or the device's
//                   volatile cache flushed).
//   Discard         a file: fallocate(PUNCH_HOLE | KEEP_SIZE), the sectors read as zeroes;
//                   a block device: BLKDISCARD (a device without discard: nothing, which
//                   the contract allows).
// DataRanges of a regular file come from SEEK_DATA / SEEK_HOLE; a block device answers
// the whole range.
//
// The device may be a window of the file ([first_sector, first_sector + sectors)); no
// request ever reaches outside it. Opening writes nothing; nor does a read-only device
// (its writes, flushes and discards complete with PermissionDenied).
//
// Threading and ownership: the reactor's thread only; the reactor must outlive the
// device, and the device must outlive its requests (the reactor's destructor waits for
// whatever is still in flight). Owns the file descriptor.
#ifndef POWERCUT_ENGINE_POSIX_FILE_BLOCK_DEVICE_H_
#define POWERCUT_ENGINE_POSIX_FILE_BLOCK_DEVICE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/io/block_device.h"
#include "engine/posix/uring_reactor.h"

namespace powercut::posix {

struct FileDeviceOptions {
  std::string name;             // for messages and traces; default: the path's basename
  bool read_only = false;       // open O_RDONLY; writes are refused
  bool allow_buffered = false;  // where O_DIRECT is refused (tmpfs before Linux 6.6),
                                // fall back to the page cache; Flush still fdatasyncs
  uint64_t first_sector = 0;    // the device starts here in the file
  uint64_t sectors = 0;         // and is this long (0: to the end of the file)
  uint64_t min_sectors = 0;     // refuse a smaller device (FailedPrecondition)
};

class FileBlockDevice : public io::BlockDevice {
 public:
  // Errors, each naming the path: NotFound (missing), InvalidArgument (neither a regular
  // file nor a block device; a size or window not a multiple of 512 bytes; a window past
  // the end), FailedPrecondition (read-only file system or permissions when writing was
  // asked; too small; O_DIRECT refused without allow_buffered).
  static absl::StatusOr<std::unique_ptr<FileBlockDevice>> Open(UringReactor& reactor,
                                                               const std::string& path,
                                                               FileDeviceOptions options);
  ~FileBlockDevice() override;
  FileBlockDevice(const FileBlockDevice&) = delete;
  FileBlockDevice& operator=(const FileBlockDevice&) = delete;

  // O_DIRECT in use (false only after the allow_buffered fallback).
  bool direct() const { return direct_; }
  bool is_block_device() const { return block_device_; }
  const std::string& path() const { return path_; }

  // io::BlockDevice
  uint64_t sector_count() const override { return sectors_; }
  const std::string& name() const override { return name_; }
  uint32_t block_sectors() const override { return block_sectors_; }
  void SubmitRead(uint64_t sector, std::span<std::byte> buffer, io::IoCallback done) override;
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override;
  void SubmitFlush(io::IoCallback done) override;
  void SubmitDiscard(uint64_t sector, uint64_t sectors, io::IoCallback done) override;
  std::vector<io::SectorRange> DataRanges(uint64_t first, uint64_t count) const override;

 private:
  struct Transfer;

  FileBlockDevice(UringReactor& reactor, std::string path, std::string name, int fd);

  // Checks the range against the window and the logical block size; the error, if any,
  // completes `done` from the reactor.
  bool Admit(uint64_t sector, uint64_t sectors, bool writes, io::IoCallback& done);
  // Issues the next part of `transfer` (after a short one, the rest).
  void Continue(std::shared_ptr<Transfer> transfer);
  // Completes `done` from the reactor (never inside Submit*).
  void CompleteLater(io::IoCallback done, absl::Status status);
  absl::Status ErrorStatus(int error, const char* what, uint64_t sector) const;

  UringReactor& reactor_;
  const std::string path_;
  const std::string name_;
  const int fd_;
  bool read_only_ = false;
  bool direct_ = true;
  bool block_device_ = false;
  uint64_t first_sector_ = 0;
  uint64_t sectors_ = 0;
  uint32_t block_sectors_ = 1;
};

}  // namespace powercut::posix

#endif  // POWERCUT_ENGINE_POSIX_FILE_BLOCK_DEVICE_H_
