// MappedPersistentMemory over files in a fresh temporary directory: what is stored,
// flushed and fenced is in the file and seen by a later mapping; bad paths and sizes are
// refused with statuses; bad accesses throw. Whether MAP_SYNC is used depends on the file
// system under $TMPDIR (a DAX mount gives it; tmpfs and ordinary disks do not).
#include "engine/posix/mapped_pmem.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "engine/posix/temp_dir_for_test.h"
#include "gtest/gtest.h"

namespace powercut::posix {
namespace {

using ::testing::HasSubstr;


std::vector<std::byte> Pattern(size_t size, uint8_t seed) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = std::byte(static_cast<uint8_t>(seed + i * 7));
  return bytes;
}

// A file of `size` zero bytes, or of `contents` when given.
void MakeFile(const std::string& path, uint64_t size, const std::vector<std::byte>& contents = {}) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  if (!contents.empty()) {
    ASSERT_EQ(pwrite(fd, contents.data(), contents.size(), 0),
              static_cast<ssize_t>(contents.size()));
  }
  close(fd);
}

// The file's bytes [offset, offset + length), read with pread (not through a mapping).
std::vector<std::byte> ReadFile(const std::string& path, uint64_t offset, size_t length) {
  std::vector<std::byte> bytes(length);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path;
  EXPECT_EQ(pread(fd, bytes.data(), length, static_cast<off_t>(offset)),
            static_cast<ssize_t>(length));
  close(fd);
  return bytes;
}

MappedPmemOptions ReadOnly() {
  MappedPmemOptions options;
  options.read_only = true;
  return options;
}

std::unique_ptr<MappedPersistentMemory> OpenOrDie(const std::string& path,
                                                  MappedPmemOptions options = {}) {
  absl::StatusOr<std::unique_ptr<MappedPersistentMemory>> pmem =
      MappedPersistentMemory::Open(path, std::move(options));
  EXPECT_TRUE(pmem.ok()) << pmem.status();
  return pmem.ok() ? std::move(*pmem) : nullptr;
}

TEST(MappedPersistentMemory, StoreFlushFenceIsInTheFileAndSeenByTheNextMapping) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem.img");
  MakeFile(path, 16384);
  // Crosses a line and a page boundary, starts and ends mid-line.
  const std::vector<std::byte> data = Pattern(300, 1);
  const uint64_t offset = 4096 - 100;
  {
    std::unique_ptr<MappedPersistentMemory> pmem = OpenOrDie(path);
    ASSERT_NE(pmem, nullptr);
    EXPECT_EQ(pmem->size(), 16384u);
    pmem->Store(offset, data);
    pmem->Flush(offset, data.size());
    pmem->Fence();
    EXPECT_TRUE(pmem->error().ok()) << pmem->error();
    EXPECT_EQ(ReadFile(path, offset, data.size()), data);
  }
  EXPECT_EQ(ReadFile(path, offset, data.size()), data);
  EXPECT_EQ(ReadFile(path, 0, offset), std::vector<std::byte>(offset));

  std::unique_ptr<MappedPersistentMemory> reopened = OpenOrDie(path);
  ASSERT_NE(reopened, nullptr);
  std::vector<std::byte> loaded(data.size());
  reopened->Load(offset, loaded);
  EXPECT_EQ(loaded, data);
}

TEST(MappedPersistentMemory, ACopyOnWriteMappingNeverChangesTheFile) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem.img");
  MakeFile(path, 8192);
  auto pmem = MappedPersistentMemory::Open(path, {.copy_on_write = true});
  ASSERT_TRUE(pmem.ok()) << pmem.status();
  const std::vector<std::byte> data = Pattern(128, 3);
  (*pmem)->Store(64, data);
  (*pmem)->Flush(64, data.size());
  (*pmem)->Fence();
  EXPECT_TRUE((*pmem)->error().ok());
  std::vector<std::byte> loaded(data.size());
  (*pmem)->Load(64, loaded);
  EXPECT_EQ(loaded, data);
  EXPECT_EQ(ReadFile(path, 0, 8192), std::vector<std::byte>(8192));
}

TEST(MappedPersistentMemory, StoreFlushingIsInTheFileAfterFence) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem.img");
  MakeFile(path, 8192);
  const std::vector<std::byte> first = Pattern(8, 2);
  const std::vector<std::byte> second = Pattern(130, 3);
  {
    std::unique_ptr<MappedPersistentMemory> pmem = OpenOrDie(path);
    ASSERT_NE(pmem, nullptr);
    pmem->StoreFlushing(0, first);
    pmem->StoreFlushing(8000, second);
    pmem->Fence();
    // A fence with nothing flushed since the last one has nothing to do.
    pmem->Fence();
    EXPECT_TRUE(pmem->error().ok()) << pmem->error();
  }
  EXPECT_EQ(ReadFile(path, 0, first.size()), first);
  EXPECT_EQ(ReadFile(path, 8000, second.size()), second);

  std::unique_ptr<MappedPersistentMemory> reopened = OpenOrDie(path);
  ASSERT_NE(reopened, nullptr);
  std::vector<std::byte> loaded(second.size());
  reopened->Load(8000, loaded);
  EXPECT_EQ(loaded, second);
}

TEST(MappedPersistentMemory, AccessesOutsideTheMappingThrowOutOfRange) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem.img");
  MakeFile(path, 4096);
  std::unique_ptr<MappedPersistentMemory> pmem = OpenOrDie(path);
  ASSERT_NE(pmem, nullptr);
  std::vector<std::byte> buffer(16);
  EXPECT_THROW(pmem->Load(4096 - 8, buffer), std::out_of_range);
  EXPECT_THROW(pmem->Load(5000, std::span<std::byte>()), std::out_of_range);
  EXPECT_THROW(pmem->Store(4096, buffer), std::out_of_range);
  EXPECT_THROW(pmem->StoreFlushing(4090, buffer), std::out_of_range);
  EXPECT_THROW(pmem->Flush(4000, 97), std::out_of_range);
  // offset + length wraps around 2^64.
  EXPECT_THROW(pmem->Flush(8, UINT64_MAX), std::out_of_range);
  // Empty ranges up to the end and the last byte are inside.
  EXPECT_NO_THROW(pmem->Load(4096, std::span<std::byte>()));
  EXPECT_NO_THROW(pmem->Flush(4096, 0));
  EXPECT_NO_THROW(pmem->Store(4096 - 16, buffer));
}

TEST(MappedPersistentMemory, MissingPathIsNotFound) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("absent.img");
  absl::StatusOr<std::unique_ptr<MappedPersistentMemory>> pmem =
      MappedPersistentMemory::Open(path, {});
  EXPECT_EQ(pmem.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pmem.status().message(), path + ": no such file");
}

TEST(MappedPersistentMemory, ZeroSizeIsInvalidArgument) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("empty.img");
  MakeFile(path, 0);
  absl::StatusOr<std::unique_ptr<MappedPersistentMemory>> pmem =
      MappedPersistentMemory::Open(path, {});
  EXPECT_EQ(pmem.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pmem.status().message(), HasSubstr(path));
  EXPECT_THAT(pmem.status().message(), HasSubstr("multiple of 64"));
}

TEST(MappedPersistentMemory, SizeNotAMultipleOfTheLineIsInvalidArgument) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("odd.img");
  MakeFile(path, 4096 + 8);
  absl::StatusOr<std::unique_ptr<MappedPersistentMemory>> pmem =
      MappedPersistentMemory::Open(path, {});
  EXPECT_EQ(pmem.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pmem.status().message(), HasSubstr("4104 bytes"));
}

TEST(MappedPersistentMemory, DirectoryIsInvalidArgument) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("subdir");
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
  absl::StatusOr<std::unique_ptr<MappedPersistentMemory>> pmem =
      MappedPersistentMemory::Open(path, {});
  EXPECT_EQ(pmem.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pmem.status().message(), HasSubstr("neither a regular file"));
}

TEST(MappedPersistentMemory, ReadOnlyMappingLoadsButStoresAndFlushesThrowLogicError) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem.img");
  const std::vector<std::byte> contents = Pattern(4096, 4);
  MakeFile(path, 4096, contents);
  std::unique_ptr<MappedPersistentMemory> pmem = OpenOrDie(path, ReadOnly());
  ASSERT_NE(pmem, nullptr);
  std::vector<std::byte> loaded(4096);
  pmem->Load(0, loaded);
  EXPECT_EQ(loaded, contents);
  const std::vector<std::byte> data(64, std::byte{0xFF});
  EXPECT_THROW(pmem->Store(0, data), std::logic_error);
  EXPECT_THROW(pmem->StoreFlushing(0, data), std::logic_error);
  EXPECT_THROW(pmem->Flush(0, 64), std::logic_error);
  pmem->Fence();
  EXPECT_TRUE(pmem->error().ok()) << pmem->error();
  pmem.reset();
  EXPECT_EQ(ReadFile(path, 0, 4096), contents);
}

TEST(MappedPersistentMemory, UnwritableFileIsFailedPreconditionUnlessReadOnly) {
  if (geteuid() == 0) GTEST_SKIP() << "root opens a mode 0400 file for writing anyway";
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem.img");
  MakeFile(path, 4096);
  ASSERT_EQ(chmod(path.c_str(), 0400), 0);
  absl::StatusOr<std::unique_ptr<MappedPersistentMemory>> pmem =
      MappedPersistentMemory::Open(path, {});
  EXPECT_EQ(pmem.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(pmem.status().message(), HasSubstr(path + ": read-only"));
  EXPECT_TRUE(MappedPersistentMemory::Open(path, ReadOnly()).ok());
}

TEST(MappedPersistentMemory, OpeningAndClosingWritesNothing) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem.img");
  const std::vector<std::byte> contents = Pattern(8192, 5);
  MakeFile(path, 8192, contents);
  struct stat before {};
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  {
    std::unique_ptr<MappedPersistentMemory> pmem = OpenOrDie(path);
    ASSERT_NE(pmem, nullptr);
    pmem->Fence();
  }
  struct stat after {};
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_EQ(ReadFile(path, 0, 8192), contents);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST(MappedPersistentMemory, FlushMethodNamesTheInstructionAndMsyncExactlyWithoutMapSync) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem.img");
  MakeFile(path, 4096);
  std::unique_ptr<MappedPersistentMemory> pmem = OpenOrDie(path);
  ASSERT_NE(pmem, nullptr);
  const std::string method(pmem->flush_method());
#if defined(__x86_64__)
  EXPECT_THAT(method, ::testing::AnyOf("clwb", "clflushopt", "clflush", "clwb+msync",
                                       "clflushopt+msync", "clflush+msync"));
  EXPECT_EQ(method.ends_with("+msync"), !pmem->map_sync()) << method;
#else
  EXPECT_EQ(method, "msync");
#endif
  RecordProperty("flush_method", method);
}

TEST(MappedPersistentMemory, NameDefaultsToTheBasename) {
  TempDir dir("mapped_pmem_test");
  const std::string path = dir.File("pmem0.img");
  MakeFile(path, 64);
  std::unique_ptr<MappedPersistentMemory> by_path = OpenOrDie(path);
  ASSERT_NE(by_path, nullptr);
  EXPECT_EQ(by_path->name(), "pmem0.img");
  std::unique_ptr<MappedPersistentMemory> named = OpenOrDie(path, {.name = "log"});
  ASSERT_NE(named, nullptr);
  EXPECT_EQ(named->name(), "log");
}

}  // namespace
}  // namespace powercut::posix
