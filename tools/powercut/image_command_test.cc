// format and recover on real files: round trips through the engines over io_uring, the
// guarantee that recover leaves its images alone, and the refusals (exit 2).
#include "tools/powercut/image_command.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/posix/file_block_device.h"
#include "engine/posix/uring_reactor.h"
#include "engine/raid1/raid1.h"
#include "engine/runtime/scheduler.h"
#include "engine/writecache/writecache.h"
#include "engine/posix/temp_dir_for_test.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tools/powercut/image_files.h"
#include "tools/powercut/inspect_command.h"

namespace powercut::tools {
namespace {

namespace fs = std::filesystem;

// Whether `text` is `count` copies of `fill` (compared without printing megabytes).
bool AllOf(std::string_view text, size_t count, char fill) {
  return text.size() == count && text.find_first_not_of(fill) == std::string_view::npos;
}

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

class ImageCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!posix::UringReactor::Create().ok()) GTEST_SKIP() << "io_uring is unavailable here";
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  int Format(ImageCommandOptions options) {
    out_.str("");
    err_.str("");
    return RunFormatCommand(options, out_, err_);
  }
  int Recover(ImageCommandOptions options) {
    out_.str("");
    err_.str("");
    return RunRecoverCommand(options, out_, err_);
  }

  // Writes `blocks` 4 KiB blocks of byte `fill` at sector 8*i through the engine `make`
  // builds over the given files, flushes, then cuts the power (the fibers are dropped
  // without a clean stop).
  template <typename Make>
  void WriteThenCut(const std::vector<std::string>& paths, int blocks, char fill, Make make) {
    auto reactor = posix::UringReactor::Create();
    ASSERT_TRUE(reactor.ok());
    std::vector<std::unique_ptr<posix::FileBlockDevice>> files;
    for (const std::string& path : paths) {
      auto file = posix::FileBlockDevice::Open(**reactor, path, {});
      ASSERT_TRUE(file.ok()) << file.status();
      files.push_back(*std::move(file));
    }
    runtime::Scheduler scheduler(**reactor);
    std::unique_ptr<io::BlockDevice> engine;
    absl::Status result;
    scheduler.Spawn("writer", [&] {
      absl::StatusOr<std::unique_ptr<io::BlockDevice>> made = make(scheduler, files);
      if (!made.ok()) {
        result = made.status();
        return;
      }
      engine = *std::move(made);
      std::vector<std::byte> block(4096, std::byte(fill));
      for (int i = 0; i < blocks && result.ok(); ++i) {
        result = io::WriteSync(scheduler, *engine, 8 * static_cast<uint64_t>(i), block, io::kNoFlags);
      }
      if (result.ok()) result = io::FlushSync(scheduler, *engine);
    });
    ASSERT_TRUE(scheduler.Run().ok());
    ASSERT_TRUE(result.ok()) << result;
    scheduler.AbandonAll();
  }

  posix::TempDir temp_{"image_command_test"};
  const fs::path& dir_ = temp_.path();
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ImageCommandTest, AWriteCacheFormattedByPowercutRecoversWhatWasFlushed) {
  const std::vector<std::string> table = {"s", Path("origin.img"), Path("cache.img"), "4096", "0"};
  ASSERT_EQ(Format({.engine = "writecache", .words = table, .origin_size = "8M",
                    .cache_size = "1M"}),
            0)
      << err_.str();
  EXPECT_NE(out_.str().find("kernel table: 0 16384 writecache s "), std::string::npos) << out_.str();

  WriteThenCut({Path("origin.img"), Path("cache.img")}, 10, 'w',
               [&](runtime::Scheduler& scheduler, auto& files)
                   -> absl::StatusOr<std::unique_ptr<io::BlockDevice>> {
                 auto params = writecache::ParseTable("s origin cache 4096 0");
                 auto cache = writecache::WriteCache::Create(scheduler, *files[0], *files[1], *params);
                 if (!cache.ok()) return cache.status();
                 if (absl::Status started = (*cache)->Start(); !started.ok()) return started;
                 return std::unique_ptr<io::BlockDevice>(*std::move(cache));
               });
  const std::string origin_before = Contents(Path("origin.img"));
  const std::string cache_before = Contents(Path("cache.img"));

  // Recovery only: the images stay exactly as they were; the dump has the data.
  ASSERT_EQ(Recover({.engine = "writecache", .words = table, .dump = Path("logical.img"),
                     .json = true}),
            0)
      << err_.str();
  const nlohmann::json report = nlohmann::json::parse(out_.str());
  EXPECT_EQ(report["found"]["committed"], 10);
  EXPECT_EQ(report["found"]["cached_blocks"], 10);
  EXPECT_TRUE(Contents(Path("origin.img")) == origin_before);
  EXPECT_TRUE(Contents(Path("cache.img")) == cache_before);
  const std::string logical = Contents(Path("logical.img"));
  ASSERT_EQ(logical.size(), 8u << 20);
  EXPECT_TRUE(AllOf(logical.substr(0, 10 * 4096), 10 * 4096, 'w'));
  EXPECT_EQ(logical[10 * 4096], '\0');
  EXPECT_TRUE(AllOf(origin_before.substr(0, 4096), 4096, '\0'));  // still only cached

  // Writeback on copies: the copied origin holds the data, the originals are unchanged.
  ASSERT_EQ(Recover({.engine = "writecache", .words = table, .finish = true,
                     .out_dir = Path("copies")}),
            0)
      << err_.str();
  EXPECT_TRUE(AllOf(Contents(Path("copies/origin.img")).substr(0, 10 * 4096), 10 * 4096, 'w'));
  EXPECT_TRUE(Contents(Path("origin.img")) == origin_before);
  EXPECT_TRUE(Contents(Path("cache.img")) == cache_before);
}

TEST_F(ImageCommandTest, ARaid1FormattedByPowercutResyncsWhatThePowerCutLeftDirty) {
  const std::vector<std::string> members = {Path("m0.img"), Path("m1.img")};
  ASSERT_EQ(Format({.engine = "raid1", .words = members, .member_size = "8M"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("mdadm --assemble"), std::string::npos);
  // mdadm reads the members it would assemble (the kernel itself is not on this machine).
  if (std::system("command -v mdadm >/dev/null 2>&1") == 0) {
    const std::string examine = "mdadm --examine " + members[0] + " >" + Path("examine.txt") + " 2>&1";
    EXPECT_EQ(std::system(examine.c_str()), 0) << Contents(Path("examine.txt"));
    EXPECT_NE(Contents(Path("examine.txt")).find("Raid Level : raid1"), std::string::npos);
    // An internal bitmap needs a loop device for -X; an external bitmap file does not.
    ASSERT_EQ(Format({.engine = "raid1", .words = {Path("e0.img"), Path("e1.img")},
                      .member_size = "8M", .bitmap = Path("bitmap.img")}),
              0)
        << err_.str();
    const std::string bitmap = "mdadm -X " + Path("bitmap.img") + " >" + Path("bitmap.txt") + " 2>&1";
    EXPECT_EQ(std::system(bitmap.c_str()), 0) << Contents(Path("bitmap.txt"));
    EXPECT_NE(Contents(Path("bitmap.txt")).find("Chunksize : 64 KB"), std::string::npos)
        << Contents(Path("bitmap.txt"));
  }
  ASSERT_EQ(Recover({.engine = "raid1", .words = members, .json = true}), 0) << err_.str();
  EXPECT_EQ(nlohmann::json::parse(out_.str())["resynced_chunks"], 0);

  WriteThenCut(members, 4, 'r',
               [&](runtime::Scheduler& scheduler, auto& files)
                   -> absl::StatusOr<std::unique_ptr<io::BlockDevice>> {
                 // format's defaults, and the uuid it drew.
                 raid1::Raid1Options options;
                 options.uuid = ReadMdSuperblock({.image = members[0]})->set_uuid;
                 auto array = raid1::Raid1Array::Open(scheduler, {files[0].get(), files[1].get()},
                                                      options);
                 if (!array.ok()) return array.status();
                 if (absl::Status assembled = (*array)->Assemble(); !assembled.ok()) {
                   return assembled;
                 }
                 return std::unique_ptr<io::BlockDevice>(*std::move(array));
               });
  // Members listed in another order are put back in md's order.
  ASSERT_EQ(Recover({.engine = "raid1", .words = {members[1], members[0]}, .dump = Path("logical.img"),
                     .json = true, .finish = true, .out_dir = Path("copies")}),
            0)
      << err_.str();
  const nlohmann::json report = nlohmann::json::parse(out_.str());
  EXPECT_GT(report["resynced_chunks"], 0) << report.dump();
  EXPECT_TRUE(AllOf(Contents(Path("logical.img")).substr(0, 4 * 4096), 4 * 4096, 'r'));
  // The copies were stopped clean: nothing left to resync.
  ASSERT_EQ(Recover({.engine = "raid1", .words = {Path("copies/m0.img"), Path("copies/m1.img")},
                     .json = true}),
            0)
      << err_.str();
  EXPECT_EQ(nlohmann::json::parse(out_.str())["resynced_chunks"], 0);
}

// mdadm writes a bitmap file of its superblock and bits alone (256 bytes and a bit per
// chunk); the kernel uses it at that size, and so does recover, in every access mode.
TEST_F(ImageCommandTest, ABitmapFileOfMdadmsSizeIsReadWithZerosAfterItsEnd) {
  const std::vector<std::string> members = {Path("m0.img"), Path("m1.img")};
  ASSERT_EQ(Format({.engine = "raid1", .words = members, .member_size = "8M",
                    .bitmap = Path("bitmap.file")}),
            0)
      << err_.str();
  // 8 MiB members in 64 KiB chunks: 128 bits, 16 bytes after the 256-byte superblock.
  fs::resize_file(Path("bitmap.file"), 256 + 16);
  ASSERT_EQ(Recover({.engine = "raid1", .words = members, .bitmap = Path("bitmap.file"),
                     .json = true}),
            0)
      << err_.str();
  EXPECT_EQ(fs::file_size(Path("bitmap.file")), 272u);  // under the overlay: untouched
  ASSERT_EQ(Recover({.engine = "raid1", .words = members, .bitmap = Path("bitmap.file"),
                     .json = true, .out_dir = Path("copies")}),
            0)
      << err_.str();
  EXPECT_EQ(fs::file_size(Path("bitmap.file")), 272u);
  EXPECT_EQ(fs::file_size(Path("copies/bitmap.file")), 4096u);
  ASSERT_EQ(Recover({.engine = "raid1", .words = members, .bitmap = Path("bitmap.file"),
                     .json = true, .in_place = true}),
            0)
      << err_.str();
  EXPECT_EQ(fs::file_size(Path("bitmap.file")), 4096u);
  EXPECT_NE(nlohmann::json::parse(out_.str())["notes"].get<std::string>().find("grew from 272 to 4096"),
            std::string::npos)
      << out_.str();
}

// Installs a seccomp filter in this process (as a container runtime does). x86_64
// syscall numbers (the only machines CI runs on).
template <size_t N>
bool InstallFilter(struct sock_filter (&filter)[N]) {
  struct sock_fprog program = {static_cast<unsigned short>(N), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// io_uring_setup fails with EPERM.
bool BlockIoUring() {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  return InstallFilter(filter);
}

// openat with O_DIRECT fails with EINVAL, as on a file system without direct IO.
bool RefuseODirect() {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_DIRECT, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EINVAL & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  return InstallFilter(filter);
}

struct ChildResult {
  int code = -1;
  std::string text;  // standard output, then standard error
};

// Runs `format` in a child process after `restrict` (a seccomp filter) took effect.
ChildResult FormatInChild(const ImageCommandOptions& options, bool (*restrict)()) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return {};
  const pid_t child = fork();
  if (child < 0) return {};
  if (child == 0) {
    close(pipe_fds[0]);
    if (!restrict()) _exit(100);
    std::ostringstream out, err;
    const int code = RunFormatCommand(options, out, err);
    const std::string text = out.str() + err.str();
    if (write(pipe_fds[1], text.data(), text.size()) < 0) _exit(101);
    _exit(code);
  }
  close(pipe_fds[1]);
  ChildResult result;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;) result.text.append(buffer, n);
  close(pipe_fds[0]);
  int status = 0;
  if (waitpid(child, &status, 0) == child && WIFEXITED(status)) result.code = WEXITSTATUS(status);
  return result;
}

TEST_F(ImageCommandTest, IoUringBlockedBySeccompIsExitTwoWithTheReasonAndNothingWritten) {
  const std::vector<std::string> table = {"s", Path("origin.img"), Path("cache.img"), "4096", "0"};
  const ChildResult result = FormatInChild(
      {.engine = "writecache", .words = table, .origin_size = "8M", .cache_size = "1M"}, BlockIoUring);
  ASSERT_NE(result.code, 100) << "this kernel refused the seccomp filter";
  EXPECT_EQ(result.code, 2) << result.text;
  EXPECT_NE(result.text.find("io_uring is unavailable"), std::string::npos) << result.text;
  EXPECT_NE(result.text.find("seccomp"), std::string::npos) << result.text;
  EXPECT_FALSE(fs::exists(Path("cache.img"))) << result.text;
  EXPECT_FALSE(fs::exists(Path("origin.img"))) << result.text;
}

TEST_F(ImageCommandTest, AFileSystemThatRefusesODirectNeedsBufferedWhichTheOutputNames) {
  const std::vector<std::string> table = {"s", Path("origin.img"), Path("cache.img"), "4096", "0"};
  ImageCommandOptions options{.engine = "writecache", .words = table, .origin_size = "8M",
                              .cache_size = "1M"};
  const ChildResult refused = FormatInChild(options, RefuseODirect);
  ASSERT_NE(refused.code, 100) << "this kernel refused the seccomp filter";
  EXPECT_EQ(refused.code, 2) << refused.text;
  EXPECT_NE(refused.text.find("refuses O_DIRECT (direct IO); --buffered"), std::string::npos)
      << refused.text;
  options.buffered = true;
  const ChildResult buffered = FormatInChild(options, RefuseODirect);
  EXPECT_EQ(buffered.code, 0) << buffered.text;
  EXPECT_NE(buffered.text.find("note: buffered IO for " + Path("origin.img") + ", " + Path("cache.img")),
            std::string::npos)
      << buffered.text;
  // Without the filter the same images open with direct IO, and nothing says otherwise.
  options.force = true;
  ASSERT_EQ(Format(options), 0) << err_.str();
  EXPECT_EQ(out_.str().find("buffered"), std::string::npos) << out_.str();
}

TEST_F(ImageCommandTest, RefusesToFormatOverAFileSystemWithoutForce) {
  if (!fs::exists("/usr/sbin/mkfs.ext4") && !fs::exists("/sbin/mkfs.ext4")) {
    GTEST_SKIP() << "mkfs.ext4 (e2fsprogs) is not installed";
  }
  const std::string cache = Path("cache.img");
  ASSERT_TRUE(CreateImageIfMissing(cache, 4 << 20).ok());
  ASSERT_EQ(std::system(("mkfs.ext4 -q -F " + cache + " >/dev/null 2>&1").c_str()), 0);
  const std::string before = Contents(cache);
  const std::vector<std::string> table = {"s", Path("origin.img"), cache, "4096", "0"};
  EXPECT_EQ(Format({.engine = "writecache", .words = table, .origin_size = "8M"}), 2);
  EXPECT_NE(err_.str().find("ext4"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("--force"), std::string::npos) << err_.str();
  EXPECT_TRUE(Contents(cache) == before);
  EXPECT_EQ(Format({.engine = "writecache", .words = table, .force = true}), 0) << err_.str();
}

TEST_F(ImageCommandTest, BadImagesAndArgumentsExitTwoWithTheReason) {
  const std::vector<std::string> table = {"s", Path("origin.img"), Path("cache.img"), "4096", "0"};
  // Missing files, no size to make them.
  EXPECT_EQ(Format({.engine = "writecache", .words = table}), 2);
  EXPECT_NE(err_.str().find("no such file"), std::string::npos) << err_.str();
  // A size that is not whole sectors.
  EXPECT_EQ(Format({.engine = "writecache", .words = table, .origin_size = "1000",
                    .cache_size = "1M"}),
            2);
  EXPECT_NE(err_.str().find("multiple of 512"), std::string::npos) << err_.str();
  EXPECT_EQ(Format({.engine = "writecache", .words = table, .origin_size = "12Q"}), 2);
  EXPECT_NE(err_.str().find("bad size"), std::string::npos) << err_.str();
  // A cache too small for one block.
  fs::remove(Path("origin.img"));
  EXPECT_EQ(Format({.engine = "writecache", .words = table, .origin_size = "1M",
                    .cache_size = "4K"}),
            2);
  // A table the kernel would refuse.
  EXPECT_EQ(Format({.engine = "writecache", .words = {"s", Path("origin.img"), Path("cache.img"),
                                                      "1000", "0"}}),
            2);
  // recover: a cache never formatted; members that are not md members.
  EXPECT_EQ(Recover({.engine = "writecache", .words = table}), 2);
  EXPECT_NE(err_.str().find("not a valid writecache"), std::string::npos) << err_.str();
  ASSERT_TRUE(CreateImageIfMissing(Path("a.img"), 1 << 20).ok());
  ASSERT_TRUE(CreateImageIfMissing(Path("b.img"), 1 << 20).ok());
  EXPECT_EQ(Recover({.engine = "raid1", .words = {Path("a.img"), Path("b.img")}}), 2);
  EXPECT_NE(err_.str().find("not a valid md"), std::string::npos) << err_.str();
  // --writeback must say where its result goes.
  EXPECT_EQ(Recover({.engine = "writecache", .words = table, .finish = true}), 2);
  EXPECT_NE(err_.str().find("--out"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace powercut::tools
