#include "engine/posix/file_block_device.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/runtime/scheduler.h"
#include "engine/posix/temp_dir_for_test.h"
#include "gtest/gtest.h"

namespace powercut::posix {
namespace {

namespace fs = std::filesystem;

class FileBlockDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto reactor = UringReactor::Create();
    if (!reactor.ok()) GTEST_SKIP() << reactor.status();
    reactor_ = *std::move(reactor);
  }
  std::string MakeFile(const std::string& name, uint64_t bytes) {
    const std::string path = (dir_ / name).string();
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(ftruncate(fd, static_cast<off_t>(bytes)), 0);
    close(fd);
    return path;
  }

  std::vector<char> FileBytes(const std::string& path) {
    std::vector<char> bytes(fs::file_size(path));
    const int fd = open(path.c_str(), O_RDONLY);
    EXPECT_EQ(pread(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    close(fd);
    return bytes;
  }

  // Runs `body` in a fiber to the end.
  void RunFiber(runtime::Scheduler& scheduler, absl::AnyInvocable<void()> body) {
    scheduler.Spawn("test", std::move(body));
    ASSERT_TRUE(scheduler.Run().ok());
  }

  TempDir temp_{"file_block_device_test"};
  const fs::path& dir_ = temp_.path();
  std::unique_ptr<UringReactor> reactor_;
};

TEST_F(FileBlockDeviceTest, WritesReadsFlushesAndDiscardsAWindowOfAFile) {
  const std::string path = MakeFile("disk.img", 64 * 512);
  auto device = FileBlockDevice::Open(*reactor_, path, {.first_sector = 8, .sectors = 32});
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ((*device)->sector_count(), 32u);
  EXPECT_TRUE((*device)->direct());
  runtime::Scheduler scheduler(*reactor_);
  // An unaligned caller buffer (one byte in) goes through the bounce buffer.
  std::vector<std::byte> storage(3 * 512 + 1);
  std::span<std::byte> data(storage.data() + 1, 3 * 512);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7 + 1);
  std::vector<std::byte> back(3 * 512);
  RunFiber(scheduler, [&] {
    io::IoBatch batch(scheduler, "test");
    batch.Write(**device, 4, data, io::kFua);
    ASSERT_TRUE(batch.Wait().ok());
    batch.Flush(**device);
    ASSERT_TRUE(batch.Wait().ok());
    batch.Read(**device, 4, back);
    ASSERT_TRUE(batch.Wait().ok());
    EXPECT_TRUE(std::equal(back.begin(), back.end(), data.begin()));
    batch.Write(**device, 0, data, io::kPreflush);
    ASSERT_TRUE(batch.Wait().ok());
    batch.Discard(**device, 0, 2);
    ASSERT_TRUE(batch.Wait().ok());
  });
  const std::vector<char> file = FileBytes(path);
  // Window sector 4 is file sector 12; the preflushed write went to file sectors 8..10,
  // of which 8 and 9 were discarded (zeroes).
  EXPECT_EQ(file[12 * 512], char(1));
  for (size_t i = 8 * 512; i < 10 * 512; ++i) ASSERT_EQ(file[i], 0) << "byte " << i;
  EXPECT_EQ(file[10 * 512], char((2 * 512) * 7 + 1));
  for (size_t i = 11 * 512; i < 12 * 512; ++i) ASSERT_EQ(file[i], 0) << "byte " << i;
  for (size_t i = 0; i < 8 * 512; ++i) ASSERT_EQ(file[i], 0) << "outside the window: " << i;
  for (size_t i = 40 * 512; i < file.size(); ++i) ASSERT_EQ(file[i], 0) << "outside: " << i;
}

TEST_F(FileBlockDeviceTest, RequestsOutsideTheWindowFailWithoutTouchingTheFile) {
  const std::string path = MakeFile("disk.img", 16 * 512);
  auto device = FileBlockDevice::Open(*reactor_, path, {.first_sector = 0, .sectors = 8});
  ASSERT_TRUE(device.ok());
  runtime::Scheduler scheduler(*reactor_);
  std::vector<std::byte> data(2 * 512, std::byte{0x5a});
  RunFiber(scheduler, [&] {
    EXPECT_EQ(io::WriteSync(scheduler, **device, 7, data, io::kNoFlags).code(),
              absl::StatusCode::kOutOfRange);
  });
  for (char byte : FileBytes(path)) ASSERT_EQ(byte, 0);
}

TEST_F(FileBlockDeviceTest, DataRangesFollowTheFilesExtents) {
  const std::string path = MakeFile("sparse.img", 1 << 24);
  auto device = FileBlockDevice::Open(*reactor_, path, {});
  ASSERT_TRUE(device.ok());
  EXPECT_TRUE((*device)->DataRanges(0, (*device)->sector_count()).empty());
  runtime::Scheduler scheduler(*reactor_);
  std::vector<std::byte> data(4096, std::byte{1});
  RunFiber(scheduler, [&] {
    ASSERT_TRUE(io::WriteSync(scheduler, **device, 8192, data, io::kNoFlags).ok());
  });
  const std::vector<io::SectorRange> ranges = (*device)->DataRanges(0, (*device)->sector_count());
  ASSERT_FALSE(ranges.empty());
  EXPECT_LE(ranges.front().first, 8192u);
  EXPECT_GE(ranges.back().end(), 8200u);
  EXPECT_LT(ranges.back().end() - ranges.front().first, 4096u);  // not the whole file
}

TEST_F(FileBlockDeviceTest, RefusesWhatItCannotUseWithAClearReason) {
  auto missing = FileBlockDevice::Open(*reactor_, (dir_ / "nope.img").string(), {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no such file"), std::string::npos);

  auto directory = FileBlockDevice::Open(*reactor_, dir_.string(), {});
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);

  auto unaligned = FileBlockDevice::Open(*reactor_, MakeFile("odd.img", 1000), {});
  EXPECT_EQ(unaligned.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(unaligned.status().message().find("not a multiple of 512"), std::string::npos);

  auto small = FileBlockDevice::Open(*reactor_, MakeFile("small.img", 4096), {.min_sectors = 9});
  EXPECT_EQ(small.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(small.status().message().find("too small"), std::string::npos);

  auto past_end = FileBlockDevice::Open(*reactor_, MakeFile("w.img", 4096),
                                        {.first_sector = 4, .sectors = 8});
  EXPECT_EQ(past_end.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FileBlockDeviceTest, AReadOnlyDeviceRefusesWritesAndFlushes) {
  const std::string path = MakeFile("ro.img", 8 * 512);
  auto device = FileBlockDevice::Open(*reactor_, path, {.read_only = true});
  ASSERT_TRUE(device.ok());
  runtime::Scheduler scheduler(*reactor_);
  std::vector<std::byte> data(512, std::byte{1});
  RunFiber(scheduler, [&] {
    EXPECT_EQ(io::WriteSync(scheduler, **device, 0, data, io::kNoFlags).code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(io::FlushSync(scheduler, **device).code(), absl::StatusCode::kPermissionDenied);
    EXPECT_TRUE(io::ReadSync(scheduler, **device, 0, data).ok());
  });
}

TEST_F(FileBlockDeviceTest, AFileWithoutWritePermissionIsReportedReadOnly) {
  if (geteuid() == 0) GTEST_SKIP() << "root may write to any file; the check needs a user";
  const std::string path = MakeFile("locked.img", 8 * 512);
  ASSERT_EQ(chmod(path.c_str(), 0400), 0);
  auto device = FileBlockDevice::Open(*reactor_, path, {});
  EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(device.status().message().find("read-only"), std::string::npos);
}

}  // namespace
}  // namespace powercut::posix

namespace powercut::posix {
namespace {

// A loop device over an image file, detached on scope exit; empty when this machine
// cannot attach one (not root, no loop driver).
class LoopDevice {
 public:
  explicit LoopDevice(const std::string& image) {
    FILE* out = popen(("losetup --find --show " + image + " 2>/dev/null").c_str(), "r");
    if (out == nullptr) return;
    char line[256] = {};
    if (fgets(line, sizeof line, out) != nullptr) path_ = std::string(line, strcspn(line, "\n"));
    if (pclose(out) != 0) path_.clear();
  }
  ~LoopDevice() {
    if (!path_.empty()) (void)std::system(("losetup -d " + path_).c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_F(FileBlockDeviceTest, ABlockDeviceIsSizedByTheKernelAndDiscardedWithBlkdiscard) {
  const std::string image = MakeFile("loop.img", 8 << 20);
  LoopDevice loop(image);
  if (loop.path().empty()) GTEST_SKIP() << "cannot attach a loop device here (needs root)";
  auto device = FileBlockDevice::Open(*reactor_, loop.path(), {.name = "loop"});
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_TRUE((*device)->is_block_device());
  EXPECT_EQ((*device)->sector_count(), (8u << 20) / 512);
  EXPECT_EQ((*device)->DataRanges(0, 64), (std::vector<io::SectorRange>{{0, 64}}));
  runtime::Scheduler scheduler(*reactor_);
  std::vector<std::byte> data(4096, std::byte{0x42});
  std::vector<std::byte> back(4096);
  RunFiber(scheduler, [&] {
    ASSERT_TRUE(io::WriteSync(scheduler, **device, 8, data, io::kFua).ok());
    ASSERT_TRUE(io::FlushSync(scheduler, **device).ok());
    ASSERT_TRUE(io::ReadSync(scheduler, **device, 8, back).ok());
    EXPECT_EQ(back, data);
    EXPECT_TRUE(io::DiscardSync(scheduler, **device, 8, 8).ok());
  });
  EXPECT_EQ(FileBytes(image)[8 * 512 + 4096], 0);  // past the write: untouched
}

}  // namespace
}  // namespace powercut::posix
