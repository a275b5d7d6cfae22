#include "engine/posix/mapped_pmem.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace powercut::posix {
namespace {

std::string Errno(int error) { return std::strerror(error); }

uint64_t RoundDown(uint64_t value, uint64_t unit) { return value / unit * unit; }
uint64_t RoundUp(uint64_t value, uint64_t unit) { return (value + unit - 1) / unit * unit; }

// A device DAX character device has no st_size; the kernel tells its size in sysfs (the
// way ndctl and PMDK find it).
absl::StatusOr<uint64_t> DeviceDaxSize(const std::string& path, dev_t device) {
  const std::string size_file =
      absl::StrCat("/sys/dev/char/", major(device), ":", minor(device), "/size");
  std::ifstream in(size_file);
  uint64_t size = 0;
  if (!(in >> size)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a character device without ", size_file, ", so not a device DAX"));
  }
  return size;
}

#if defined(__x86_64__)
// Each loop is compiled for the one instruction it uses, so this file needs no -m flag;
// only the loop CPUID approved is ever called.
__attribute__((target("clwb"))) void ClwbLines(std::byte* begin, std::byte* end) {
  for (std::byte* line = begin; line < end; line += io::kPmemLineSize) _mm_clwb(line);
}

__attribute__((target("clflushopt"))) void ClflushoptLines(std::byte* begin, std::byte* end) {
  for (std::byte* line = begin; line < end; line += io::kPmemLineSize) _mm_clflushopt(line);
}

void ClflushLines(std::byte* begin, std::byte* end) {
  for (std::byte* line = begin; line < end; line += io::kPmemLineSize) _mm_clflush(line);
}
#endif

}  // namespace

MappedPersistentMemory::FlushInstruction MappedPersistentMemory::DetectFlushInstruction() {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  // Leaf 7, subleaf 0: EBX bit 24 is CLWB, bit 23 CLFLUSHOPT.
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) != 0) {
    if ((ebx & (1u << 24)) != 0) return FlushInstruction::kClwb;
    if ((ebx & (1u << 23)) != 0) return FlushInstruction::kClflushopt;
  }
  // Leaf 1: EDX bit 19 is CLFLUSH.
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (edx & (1u << 19)) != 0) {
    return FlushInstruction::kClflush;
  }
#endif
  return FlushInstruction::kNone;
}

absl::StatusOr<std::unique_ptr<MappedPersistentMemory>> MappedPersistentMemory::Open(
    const std::string& path, MappedPmemOptions options) {
  // Checked before opening: opening a FIFO would block.
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", Errno(errno)));
  }
  if (!S_ISREG(info.st_mode) && !S_ISCHR(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": neither a regular file nor a character device (device DAX)"));
  }

  const bool opened_read_only = options.read_only || options.copy_on_write;
  const int fd = open(path.c_str(), (opened_read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    if (!opened_read_only && (error == EACCES || error == EPERM || error == EROFS)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": read-only (cannot open it for writing: ", Errno(error), ")"));
    }
    return absl::FailedPreconditionError(absl::StrCat(path, ": ", Errno(error)));
  }
  // The mapping keeps the file; the descriptor is not needed once it exists.
  absl::Cleanup close_fd = [fd] { close(fd); };

  if (fstat(fd, &info) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": fstat: ", Errno(errno)));
  }
  uint64_t size = static_cast<uint64_t>(info.st_size);
  if (S_ISCHR(info.st_mode)) {
    absl::StatusOr<uint64_t> device_size = DeviceDaxSize(path, info.st_rdev);
    if (!device_size.ok()) return device_size.status();
    size = *device_size;
  }
  if (size == 0 || size % io::kPmemLineSize != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": its size, ", size,
                                                   " bytes, is not a positive multiple of ",
                                                   io::kPmemLineSize, " (a pmem line)"));
  }

  // MAP_SYNC is refused (EOPNOTSUPP) by a file system for a file that is not on DAX, and
  // MAP_SHARED_VALIDATE is unknown (EINVAL) to kernels before 4.15: both mean the page
  // cache, where msync gives durability.
  const int protection = options.read_only ? PROT_READ : PROT_READ | PROT_WRITE;
  bool map_sync = !options.copy_on_write;
  void* base = options.copy_on_write
                   ? mmap(nullptr, size, protection, MAP_PRIVATE, fd, 0)
                   : mmap(nullptr, size, protection, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
  if (base == MAP_FAILED && !options.copy_on_write && (errno == EOPNOTSUPP || errno == EINVAL)) {
    map_sync = false;
    base = mmap(nullptr, size, protection, MAP_SHARED, fd, 0);
  }
  if (base == MAP_FAILED) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": mmap: ", Errno(errno)));
  }

  std::string name = std::move(options.name);
  if (name.empty()) name = std::filesystem::path(path).filename().string();
  if (name.empty()) name = path;
  std::unique_ptr<MappedPersistentMemory> pmem(
      new MappedPersistentMemory(std::move(name), static_cast<std::byte*>(base), size,
                                 options.read_only, map_sync, DetectFlushInstruction()));
  pmem->copy_on_write_ = options.copy_on_write;
  return pmem;
}

MappedPersistentMemory::MappedPersistentMemory(std::string name, std::byte* base, uint64_t size,
                                               bool read_only, bool map_sync,
                                               FlushInstruction instruction)
    : name_(std::move(name)),
      base_(base),
      size_(size),
      page_size_(static_cast<uint64_t>(sysconf(_SC_PAGESIZE))),
      read_only_(read_only),
      map_sync_(map_sync),
      instruction_(instruction) {}

MappedPersistentMemory::~MappedPersistentMemory() { munmap(base_, size_); }

std::string_view MappedPersistentMemory::flush_method() const {
  switch (instruction_) {
    case FlushInstruction::kClwb:
      return map_sync_ ? "clwb" : "clwb+msync";
    case FlushInstruction::kClflushopt:
      return map_sync_ ? "clflushopt" : "clflushopt+msync";
    case FlushInstruction::kClflush:
      return map_sync_ ? "clflush" : "clflush+msync";
    case FlushInstruction::kNone:
      break;
  }
  return "msync";
}

void MappedPersistentMemory::CheckRange(const char* operation, uint64_t offset,
                                        uint64_t length) const {
  if (offset > size_ || length > size_ - offset) {
    throw std::out_of_range(absl::StrCat(name_, ": ", operation, " of ", length,
                                         " bytes at offset ", offset, " outside [0, ", size_, ")"));
  }
}

void MappedPersistentMemory::CheckWritable(const char* operation) const {
  if (read_only_) {
    throw std::logic_error(absl::StrCat(name_, ": ", operation, " on a read-only mapping"));
  }
}

void MappedPersistentMemory::Load(uint64_t offset, std::span<std::byte> out) const {
  CheckRange("Load", offset, out.size());
  if (out.empty()) return;
  std::memcpy(out.data(), base_ + offset, out.size());
}

void MappedPersistentMemory::Store(uint64_t offset, std::span<const std::byte> data) {
  CheckWritable("Store");
  CheckRange("Store", offset, data.size());
  if (data.empty()) return;
  std::memcpy(base_ + offset, data.data(), data.size());
}

void MappedPersistentMemory::StoreFlushing(uint64_t offset, std::span<const std::byte> data) {
  CheckWritable("StoreFlushing");
  CheckRange("StoreFlushing", offset, data.size());
  if (data.empty()) return;
  std::memcpy(base_ + offset, data.data(), data.size());
  WriteBack(offset, data.size());
}

void MappedPersistentMemory::Flush(uint64_t offset, uint64_t length) {
  CheckWritable("Flush");
  CheckRange("Flush", offset, length);
  if (length == 0) return;
  WriteBack(offset, length);
}

void MappedPersistentMemory::WriteBack(uint64_t offset, uint64_t length) {
#if defined(__x86_64__)
  // size_ is a multiple of the line size, so the rounded-up end stays inside the mapping.
  std::byte* const first_line = base_ + RoundDown(offset, io::kPmemLineSize);
  std::byte* const end_line = base_ + RoundUp(offset + length, io::kPmemLineSize);
  switch (instruction_) {
    case FlushInstruction::kClwb:
      ClwbLines(first_line, end_line);
      break;
    case FlushInstruction::kClflushopt:
      ClflushoptLines(first_line, end_line);
      break;
    case FlushInstruction::kClflush:
      ClflushLines(first_line, end_line);
      break;
    case FlushInstruction::kNone:
      break;
  }
#endif
  if (!needs_msync()) return;
  const uint64_t begin = RoundDown(offset, page_size_);
  const uint64_t end = std::min(RoundUp(offset + length, page_size_), size_);
  if (dirty_begin_ == dirty_end_) {
    dirty_begin_ = begin;
    dirty_end_ = end;
  } else {
    dirty_begin_ = std::min(dirty_begin_, begin);
    dirty_end_ = std::max(dirty_end_, end);
  }
}

void MappedPersistentMemory::Fence() {
#if defined(__x86_64__)
  // Orders the write-backs (clwb and clflushopt are weakly ordered) before what follows.
  _mm_sfence();
#endif
  if (dirty_begin_ == dirty_end_) return;
  const uint64_t begin = std::exchange(dirty_begin_, 0);
  const uint64_t end = std::exchange(dirty_end_, 0);
  if (msync(base_ + begin, end - begin, MS_SYNC) != 0) {
    const int error = errno;
    if (error_.ok()) {
      error_ = absl::ErrnoToStatus(
          error, absl::StrCat(name_, ": msync of bytes [", begin, ", ", end, ")"));
    }
  }
}

}  // namespace powercut::posix
