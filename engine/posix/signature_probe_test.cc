// ProbeSignatures and RefuseForeignSignatures on image files in a fresh temporary
// directory, each carrying signatures built here field by field from the formats'
// definitions (an ext4 superblock, a DOS MBR, an md v1.2 superblock), plus one made by
// mkfs.ext4 when it is installed: libblkid reports each with its type, usage and the
// offset of its magic, and the refusal names what is foreign.
#include "engine/posix/signature_probe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "engine/io/little_endian.h"
#include "gmock/gmock.h"
#include "engine/posix/temp_dir_for_test.h"
#include "gtest/gtest.h"

namespace powercut::posix {

// For gtest's failure messages (found by argument-dependent lookup, so not in the
// anonymous namespace).
void PrintTo(const Signature& signature, std::ostream* out) {
  *out << "{" << signature.type << ", " << signature.usage << ", " << signature.offset_bytes << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t kImageBytes = 4 << 20;  // above libblkid's 1440 KiB "floppy" limit,
                                           // under which it skips RAID probers


// Overlays `bytes` at `offset` of `image`.
void Place(std::vector<std::byte>& image, uint64_t offset, const std::vector<std::byte>& bytes) {
  std::copy(bytes.begin(), bytes.end(), image.begin() + static_cast<ptrdiff_t>(offset));
}

// The first 1024 bytes of an ext4 superblock (it starts 1024 bytes into the volume):
// magic 0xEF53 at 0x38 (so byte 1080 of the volume), and an incompatible feature ext3
// lacks (extents), which is what tells libblkid's ext4 prober the volume is not ext2/3.
std::vector<std::byte> Ext4Superblock() {
  std::vector<std::byte> sb(1024);
  io::StoreLe<uint32_t>(sb, 0x00, 2048);        // s_inodes_count
  io::StoreLe<uint32_t>(sb, 0x04, 1024);        // s_blocks_count_lo
  io::StoreLe<uint32_t>(sb, 0x18, 2);           // s_log_block_size: 4 KiB blocks
  io::StoreLe<uint32_t>(sb, 0x20, 32768);       // s_blocks_per_group
  io::StoreLe<uint32_t>(sb, 0x28, 2048);        // s_inodes_per_group
  io::StoreLe<uint16_t>(sb, 0x38, 0xEF53);      // s_magic
  io::StoreLe<uint32_t>(sb, 0x4C, 1);           // s_rev_level: dynamic
  io::StoreLe<uint16_t>(sb, 0x58, 256);         // s_inode_size
  io::StoreLe<uint32_t>(sb, 0x60, 0x2 | 0x40);  // s_feature_incompat: filetype, extents
  return sb;
}

// Sector 0 of a disk with a DOS (MBR) partition table: one Linux partition (type 0x83)
// over sectors [2048, 8192), and the 0x55 0xAA boot signature at byte 510.
std::vector<std::byte> DosMbr() {
  std::vector<std::byte> mbr(512);
  const size_t entry = 446;
  mbr[entry + 0] = std::byte{0x00};  // not bootable
  mbr[entry + 4] = std::byte{0x83};  // Linux
  io::StoreLe<uint32_t>(mbr, entry + 8, 2048);
  io::StoreLe<uint32_t>(mbr, entry + 12, 8192 - 2048);
  mbr[510] = std::byte{0x55};
  mbr[511] = std::byte{0xAA};
  return mbr;
}

// An md v1.2 superblock (struct mdp_superblock_1, include/uapi/linux/raid/md_p.h) of
// member 0 of a two-member RAID1, to be placed 4 KiB into the member, with md's
// checksum.
std::vector<std::byte> Md12Superblock() {
  constexpr uint32_t kMaxDev = 2;
  std::vector<std::byte> sb(512);
  io::StoreLe<uint32_t>(sb, 0, 0xA92B4EFC);  // magic
  io::StoreLe<uint32_t>(sb, 4, 1);           // major_version
  for (size_t i = 0; i < 16; ++i) sb[16 + i] = std::byte(static_cast<uint8_t>(0xA0 + i));
  const std::string name = "powercut:md0";
  for (size_t i = 0; i < name.size(); ++i) sb[32 + i] = std::byte(name[i]);
  io::StoreLe<uint32_t>(sb, 72, 1);            // level
  io::StoreLe<uint64_t>(sb, 80, 6144);         // size (sectors)
  io::StoreLe<uint32_t>(sb, 92, 2);            // raid_disks
  io::StoreLe<uint64_t>(sb, 128, 2048);        // data_offset
  io::StoreLe<uint64_t>(sb, 136, 6144);        // data_size
  io::StoreLe<uint64_t>(sb, 144, 8);           // super_offset: sector 8 = 4 KiB
  io::StoreLe<uint32_t>(sb, 160, 0);           // dev_number
  io::StoreLe<uint64_t>(sb, 200, 1);           // events
  io::StoreLe<uint64_t>(sb, 208, UINT64_MAX);  // resync_offset: in sync
  io::StoreLe<uint32_t>(sb, 220, kMaxDev);     // max_dev
  io::StoreLe<uint16_t>(sb, 256, 0);           // dev_roles[0]
  io::StoreLe<uint16_t>(sb, 258, 1);           // dev_roles[1]
  // sb_csum: the little-endian 32-bit words of the first 256 + 2 * max_dev bytes (the
  // checksum itself as zero) summed in 64 bits, folded once.
  uint64_t sum = 0;
  for (size_t at = 0; at < 256 + 2 * kMaxDev; at += 4) sum += io::LoadLe<uint32_t>(sb, at);
  io::StoreLe<uint32_t>(sb, 216, static_cast<uint32_t>((sum & 0xFFFFFFFF) + (sum >> 32)));
  return sb;
}

void WriteImage(const std::string& path, const std::vector<std::byte>& image) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, image.data(), image.size()), static_cast<ssize_t>(image.size()));
  close(fd);
}

std::vector<Signature> ProbeOrDie(const std::string& path, uint64_t offset_bytes = 0,
                                  uint64_t size_bytes = 0) {
  absl::StatusOr<std::vector<Signature>> found = ProbeSignatures(path, offset_bytes, size_bytes);
  EXPECT_TRUE(found.ok()) << found.status();
  return found.ok() ? *found : std::vector<Signature>{};
}

TEST(SignatureProbe, AllZeroFileHasNoSignature) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("zero.img");
  WriteImage(path, std::vector<std::byte>(kImageBytes));
  absl::StatusOr<std::vector<Signature>> found = ProbeSignatures(path);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->empty());
}

TEST(SignatureProbe, Ext4SuperblockIsAFilesystemAtByte1080) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("ext4.img");
  std::vector<std::byte> image(kImageBytes);
  Place(image, 1024, Ext4Superblock());
  WriteImage(path, image);
  EXPECT_THAT(ProbeOrDie(path), ElementsAre(Signature{"ext4", "filesystem", 1080}));
}

TEST(SignatureProbe, Ext4MadeByMkfsIsAFilesystemAtByte1080) {
  const char* mkfs = nullptr;
  for (const char* candidate : {"/sbin/mkfs.ext4", "/usr/sbin/mkfs.ext4"}) {
    if (access(candidate, X_OK) == 0) {
      mkfs = candidate;
      break;
    }
  }
  if (mkfs == nullptr) GTEST_SKIP() << "mkfs.ext4 is not installed (e2fsprogs)";
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("mkfs.img");
  WriteImage(path, std::vector<std::byte>(8 << 20));
  const std::string command = std::string(mkfs) + " -q -F '" + path + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  EXPECT_THAT(ProbeOrDie(path), ElementsAre(Signature{"ext4", "filesystem", 1080}));
}

TEST(SignatureProbe, DosMbrIsAPartitionTableAtByte510) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("dos.img");
  std::vector<std::byte> image(kImageBytes);
  Place(image, 0, DosMbr());
  WriteImage(path, image);
  EXPECT_THAT(ProbeOrDie(path), ElementsAre(Signature{"dos", "partition table", 510}));
}

TEST(SignatureProbe, Md12SuperblockIsALinuxRaidMemberAtByte4096) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("member.img");
  std::vector<std::byte> image(kImageBytes);
  Place(image, 4096, Md12Superblock());
  WriteImage(path, image);
  EXPECT_THAT(ProbeOrDie(path), ElementsAre(Signature{"linux_raid_member", "raid", 4096}));
}

TEST(SignatureProbe, EverySignatureIsReportedWhereSeveralCoexist) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("both.img");
  std::vector<std::byte> image(kImageBytes);
  Place(image, 0, DosMbr());
  Place(image, 1024, Ext4Superblock());
  WriteImage(path, image);
  EXPECT_THAT(ProbeOrDie(path), ElementsAre(Signature{"dos", "partition table", 510},
                                            Signature{"ext4", "filesystem", 1080}));
}

TEST(SignatureProbe, RangeIsProbedAsAWholeDeviceWithOffsetsFromTheFileStart) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("window.img");
  constexpr uint64_t kWindow = 1 << 20;
  std::vector<std::byte> image(kImageBytes);
  Place(image, kWindow + 1024, Ext4Superblock());
  WriteImage(path, image);
  EXPECT_THAT(ProbeOrDie(path, kWindow, 2 << 20),
              ElementsAre(Signature{"ext4", "filesystem", kWindow + 1080}));
  EXPECT_THAT(ProbeOrDie(path, kWindow),
              ElementsAre(Signature{"ext4", "filesystem", kWindow + 1080}));
  // From the start of the file the superblock is not where ext4 puts one.
  EXPECT_THAT(ProbeOrDie(path), ElementsAre());
}

TEST(SignatureProbe, MissingPathIsNotFound) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("absent.img");
  absl::StatusOr<std::vector<Signature>> found = ProbeSignatures(path);
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(found.status().message(), path + ": no such file");
}

TEST(SignatureProbe, DirectoryIsInvalidArgument) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("subdir");
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
  absl::StatusOr<std::vector<Signature>> found = ProbeSignatures(path);
  EXPECT_EQ(found.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(found.status().message(), HasSubstr(path));
}

TEST(SignatureProbe, RangePastTheEndIsAnErrorNotACrash) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("small.img");
  WriteImage(path, std::vector<std::byte>(kImageBytes));
  absl::StatusOr<std::vector<Signature>> found = ProbeSignatures(path, kImageBytes * 2, 4096);
  EXPECT_FALSE(found.ok());
  EXPECT_THAT(found.status().message(), HasSubstr(path));
}

TEST(SignatureProbe, RefusesAForeignSignatureNamingItsTypeUsageAndOffset) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("disk.img");
  std::vector<std::byte> image(kImageBytes);
  Place(image, 1024, Ext4Superblock());
  WriteImage(path, image);
  const absl::Status refused = RefuseForeignSignatures(path, {"linux_raid_member"}, false);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            path +
                " carries the signature of ext4 (filesystem, at byte 1080); refusing to write "
                "over it (--force overrides)");
}

TEST(SignatureProbe, ForceOverridesTheRefusal) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("disk.img");
  std::vector<std::byte> image(kImageBytes);
  Place(image, 1024, Ext4Superblock());
  WriteImage(path, image);
  EXPECT_TRUE(RefuseForeignSignatures(path, {}, true).ok());
}

TEST(SignatureProbe, OwnTypesAndBlankDevicesAreNotRefused) {
  TempDir dir("signature_probe_test");
  const std::string member = dir.File("member.img");
  std::vector<std::byte> image(kImageBytes);
  Place(image, 4096, Md12Superblock());
  WriteImage(member, image);
  const absl::Status own = RefuseForeignSignatures(member, {"linux_raid_member"}, false);
  EXPECT_TRUE(own.ok()) << own;
  const std::string blank = dir.File("blank.img");
  WriteImage(blank, std::vector<std::byte>(kImageBytes));
  const absl::Status nothing = RefuseForeignSignatures(blank, {}, false);
  EXPECT_TRUE(nothing.ok()) << nothing;
}

TEST(SignatureProbe, RefusalNamesEveryForeignSignatureAndNoOwnOne) {
  TempDir dir("signature_probe_test");
  const std::string path = dir.File("disk.img");
  std::vector<std::byte> image(kImageBytes);
  Place(image, 0, DosMbr());
  Place(image, 1024, Ext4Superblock());
  WriteImage(path, image);
  const absl::Status both = RefuseForeignSignatures(path, {}, false);
  EXPECT_THAT(both.message(),
              HasSubstr("carries the signature of dos (partition table, at byte 510) and ext4 "
                        "(filesystem, at byte 1080); refusing to write over it"));
  const absl::Status one = RefuseForeignSignatures(path, {"dos"}, false);
  EXPECT_THAT(one.message(), HasSubstr("carries the signature of ext4 ("));
  EXPECT_THAT(one.message(), ::testing::Not(HasSubstr("partition table")));
}

TEST(SignatureProbe, ProbeErrorsPassThroughTheRefusal) {
  TempDir dir("signature_probe_test");
  const absl::Status missing = RefuseForeignSignatures(dir.File("absent.img"), {}, false);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace powercut::posix
