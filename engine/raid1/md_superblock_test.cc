// The md v1.2 superblock: layout, checksum, validation.
#include "engine/raid1/md_superblock.h"

#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace powercut::raid1 {
namespace {

using ::testing::HasSubstr;

std::vector<std::byte> FromHex(const std::string& hex) {
  std::vector<std::byte> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// Worked out independently of this code (testdata/make_golden.py): Python struct over
// the field list of struct mdp_superblock_1 (md_p.h) and calc_sb_1_csum; Debian's
// mdadm 4.2 `--examine` reports this superblock's "Checksum : 8b07ba2 - correct".
const std::string kGoldenHex =
    "fc4e2ba901000000010000000000000000112233445566778899aabbccddeeff"
    "706f7765726375743a6d64300000000000000000000000000000000000000000"
    "00f1536500000000010000000000000000002000000000000000000002000000"
    "0800000000000000000000000000000000000000000000000000000000000000"
    "0008000000000000000820000000000008000000000000000000000000000000"
    "0100000000000000000102030405060708090a0b0c0d0e0f0100080018000000"
    "7bf15365000000002a00000000000000ffffffffffffffffa27bb00803000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "00000100feff" +
    std::string(2 * (512 - 262), '0');

MdSuperblock GoldenSuperblock() {
  MdSuperblock sb;
  sb.feature_map = kMdFeatureBitmapOffset;
  sb.set_uuid = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  sb.set_name_from("powercut:md0");
  sb.ctime = 1700000000;
  sb.level = 1;
  sb.size = 2097152;
  sb.raid_disks = 2;
  sb.bitmap_offset = 8;
  sb.data_offset = 2048;
  sb.data_size = 2099200;
  sb.super_offset = 8;
  sb.dev_number = 1;
  sb.device_uuid = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  sb.devflags = kMdDevFlagWriteMostly;
  sb.bblog_size = 8;
  sb.bblog_offset = 24;
  sb.utime = 1700000123;
  sb.events = 42;
  sb.resync_offset = kMdResyncDone;
  sb.dev_roles = {0, 1, kMdRoleFaulty};
  return sb;
}

TEST(MdSuperblock, EncodesToTheKernelLayoutWithMdChecksum) {
  const std::vector<std::byte> golden = FromHex(kGoldenHex);
  ASSERT_EQ(golden.size(), 512u);
  EXPECT_EQ(EncodeMdSuperblock(GoldenSuperblock()), golden);
  EXPECT_EQ(MdSuperblockChecksum(golden), 0x08b07ba2u);
}

TEST(MdSuperblock, DecodesTheKernelLayout) {
  absl::StatusOr<MdSuperblock> sb = DecodeMdSuperblock(FromHex(kGoldenHex), 2048 + 2099200);
  ASSERT_TRUE(sb.ok()) << sb.status();
  EXPECT_EQ(*sb, GoldenSuperblock());
  EXPECT_EQ(sb->name(), "powercut:md0");
  EXPECT_EQ(sb->role(), 1);
  EXPECT_TRUE(sb->clean());
  EXPECT_TRUE(sb->has_internal_bitmap());
  EXPECT_TRUE(sb->write_mostly());
  EXPECT_EQ(sb->bitmap_start_sector(), 16);
}

TEST(MdSuperblock, ChecksumAddsATrailingHalfWordForAnOddMaxDevAndFoldsOnce) {
  MdSuperblock sb = GoldenSuperblock();
  std::vector<std::byte> even = EncodeMdSuperblock(sb);
  sb.dev_roles.push_back(0x1234);  // four slots: whole words only
  std::vector<std::byte> four = EncodeMdSuperblock(sb);
  // Worked out with the same Python transcription as the golden bytes: the sum is
  // 0x71ae47b9c, folded once to 0x1ae47ba3.
  EXPECT_EQ(MdSuperblockChecksum(four), 0x1ae47ba3u);
  EXPECT_TRUE(DecodeMdSuperblock(four).ok());
  EXPECT_TRUE(DecodeMdSuperblock(even).ok());
}

TEST(MdSuperblock, RoundTripsMdadmDefaultsAndEveryField) {
  MdSuperblock sb = GoldenSuperblock();
  sb.dev_roles.assign(kMdDefaultMaxDev, kMdRoleSpare);
  sb.dev_roles[0] = 0;
  sb.dev_roles[1] = 1;
  sb.feature_map = kMdFeatureBitmapOffset | kMdFeatureRecoveryOffset;
  sb.recovery_offset = 4096;
  sb.resync_offset = 777;
  sb.events = ~uint64_t{0} - 1;
  sb.level = -1;
  sb.cnt_corrected_read = 3;
  sb.reshape_position = 5;
  sb.new_offset = 0xfffffff0;
  const std::vector<std::byte> bytes = EncodeMdSuperblock(sb);
  EXPECT_EQ(bytes.size(), 512u);  // 256 + 2 * 128
  absl::StatusOr<MdSuperblock> back = DecodeMdSuperblock(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, sb);
  EXPECT_FALSE(back->clean());
}

TEST(MdSuperblock, SizeIsRoundedToTheLogicalBlock) {
  EXPECT_EQ(MdSuperblockBytes(0), 512u);
  EXPECT_EQ(MdSuperblockBytes(128), 512u);
  EXPECT_EQ(MdSuperblockBytes(129), 1024u);
  EXPECT_EQ(MdSuperblockBytes(128, 4096), 4096u);
  EXPECT_EQ(MdSuperblockBytes(kMdMaxDevs, 4096), 4096u);
}

TEST(MdSuperblock, MemberWithoutARoleSlotIsASpare) {
  MdSuperblock sb = GoldenSuperblock();
  sb.dev_number = 7;
  EXPECT_EQ(sb.role(), kMdRoleSpare);
}

// Each rule of the kernel's super_1_load (and the layout checks powercut adds) rejects
// a superblock whose one field is wrong, with a message naming that field.
struct Case {
  std::string name;
  void (*corrupt)(MdSuperblock&);
  std::string field;
};

class MdSuperblockRejects : public ::testing::TestWithParam<Case> {};

TEST_P(MdSuperblockRejects, CorruptFieldWithAnErrorNamingIt) {
  MdSuperblock sb = GoldenSuperblock();
  GetParam().corrupt(sb);
  // Encoded with a correct checksum, so the field rule itself must catch it.
  absl::StatusOr<MdSuperblock> decoded = DecodeMdSuperblock(EncodeMdSuperblock(sb), 2101248);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded.status().message(), HasSubstr(GetParam().field + ":"));
  EXPECT_FALSE(ValidateMdSuperblock(sb, 2101248).ok());
}

INSTANTIATE_TEST_SUITE_P(
    EachField, MdSuperblockRejects,
    ::testing::Values(
        Case{"SuperOffsetOfVersion10", [](MdSuperblock& s) { s.super_offset = 0; }, "super_offset"},
        Case{"UnknownFeature", [](MdSuperblock& s) { s.feature_map |= 1u << 20; }, "feature_map"},
        Case{"TinyDataSize",
             [](MdSuperblock& s) {
               s.data_size = 9;
               s.size = 9;
             },
             "data_size"},
        Case{"DataOverlapsSuperblock", [](MdSuperblock& s) { s.data_offset = 8; }, "data_offset"},
        Case{"UsedSizeBeyondDataSize", [](MdSuperblock& s) { s.size = s.data_size + 1; }, "size"},
        Case{"DataPastTheMember", [](MdSuperblock& s) { s.data_size += 1; }, "data_size"},
        Case{"DataOffsetPastTheMember", [](MdSuperblock& s) { s.data_offset = 1u << 30; },
             "data_size"},
        Case{"BitmapInsideSuperblock", [](MdSuperblock& s) { s.bitmap_offset = 0; },
             "bitmap_offset"},
        Case{"BitmapBeforeSuperblock", [](MdSuperblock& s) { s.bitmap_offset = -8; },
             "bitmap_offset"},
        Case{"BitmapInData", [](MdSuperblock& s) { s.bitmap_offset = 2040; }, "bitmap_offset"},
        Case{"TooManyRoles",
             [](MdSuperblock& s) { s.dev_roles.assign(kMdMaxDevs + 1, kMdRoleSpare); }, "max_dev"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

void Put32(std::vector<std::byte>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<std::byte>(v >> (8 * i));
}

// Fixes up sb_csum after a raw byte edit, so a later rule is what rejects it.
void Reseal(std::vector<std::byte>& b) {
  Put32(b, 216, 0);
  Put32(b, 216, MdSuperblockChecksum(b));
}

TEST(MdSuperblockRejects, BadMagicVersionPaddingAndChecksum) {
  const std::vector<std::byte> good = EncodeMdSuperblock(GoldenSuperblock());
  auto expect_field = [](std::vector<std::byte> b, const std::string& field) {
    absl::StatusOr<MdSuperblock> sb = DecodeMdSuperblock(b);
    ASSERT_FALSE(sb.ok()) << field;
    EXPECT_THAT(sb.status().message(), HasSubstr(field + ":"));
  };
  std::vector<std::byte> b = good;
  Put32(b, 0, 0x6d746962);
  expect_field(b, "magic");
  b = good;
  Put32(b, 4, 0);
  Reseal(b);
  expect_field(b, "major_version");
  b = good;
  b[40] = std::byte{'X'};  // inside set_name: only the checksum notices
  expect_field(b, "sb_csum");
  b = good;
  Put32(b, 12, 1);
  Reseal(b);
  expect_field(b, "pad0");
  b = good;
  b[250] = std::byte{1};
  Reseal(b);
  expect_field(b, "pad3");
  b = good;
  Put32(b, 220, kMdMaxDevs + 1);
  expect_field(b, "max_dev");
  b = good;
  Put32(b, 220, 200);  // 656 bytes of roles needed, 512 given
  expect_field(b, "max_dev");
  b = good;
  b.resize(100);
  EXPECT_THAT(DecodeMdSuperblock(b).status().message(), HasSubstr("truncated"));
}

// Fuzz smoke test: arbitrary bytes and corrupted superblocks (resealed or not) never
// crash the decoder, and what it accepts re-encodes to the bytes it came from.
TEST(MdSuperblock, DecoderSurvivesArbitraryBytes) {
  std::mt19937_64 rng(20261123);
  const std::vector<std::byte> good = EncodeMdSuperblock(GoldenSuperblock());
  int accepted = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::vector<std::byte> b = good;
    switch (iteration % 4) {
      case 0:
        b.resize(rng() % 1200);
        for (auto& x : b) x = static_cast<std::byte>(rng());
        break;
      case 1:
        b[rng() % b.size()] = static_cast<std::byte>(rng());
        break;
      default:
        for (int f = 0; f < 3; ++f) b[rng() % 262] = static_cast<std::byte>(rng());
        Reseal(b);
        break;
    }
    std::optional<uint64_t> member_sectors;
    if (rng() % 2 == 0) member_sectors = rng() % (uint64_t{1} << 23);
    absl::StatusOr<MdSuperblock> sb = DecodeMdSuperblock(b, member_sectors);
    if (!sb.ok()) continue;
    ++accepted;
    const std::vector<std::byte> again = EncodeMdSuperblock(*sb);
    const size_t used = 256 + 2 * sb->dev_roles.size();
    EXPECT_TRUE(std::equal(again.begin(), again.begin() + used, b.begin()));
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace powercut::raid1
