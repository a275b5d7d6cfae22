#include "engine/io/little_endian.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "gtest/gtest.h"

namespace powercut::io {
namespace {

std::vector<std::byte> Bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(LittleEndianTest, StoresAKnownValueLeastSignificantByteFirst) {
  std::vector<std::byte> bytes(15, std::byte{0xee});
  StoreLe<uint64_t>(bytes, 0, 0x0123456789abcdefULL);
  StoreLe<uint32_t>(bytes, 8, 0xa1b2c3d4u);
  StoreLe<uint16_t>(bytes, 12, 0xbeefu);
  StoreLe<uint8_t>(bytes, 14, 0x7fu);
  EXPECT_EQ(bytes, Bytes({0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,  //
                          0xd4, 0xc3, 0xb2, 0xa1,                          //
                          0xef, 0xbe,                                      //
                          0x7f}));
}

TEST(LittleEndianTest, LoadsAKnownValueLeastSignificantByteFirst) {
  const std::vector<std::byte> bytes =
      Bytes({0x21, 0x93, 0x48, 0x23, 0x01, 0x00, 0x00, 0x00, 0xff, 0x80});
  EXPECT_EQ(LoadLe<uint32_t>(bytes, 0), 0x23489321u);  // writecache's magic
  EXPECT_EQ(LoadLe<uint64_t>(bytes, 0), 0x0000000123489321ULL);
  EXPECT_EQ(LoadLe<uint16_t>(bytes, 8), 0x80ffu);
  EXPECT_EQ(LoadLe<uint8_t>(bytes, 9), 0x80u);
}

TEST(LittleEndianTest, RoundTripsEveryWidthAtEveryUnalignedOffset) {
  for (size_t offset = 0; offset < 8; ++offset) {
    std::array<std::byte, 24> bytes{};
    StoreLe<uint64_t>(bytes, offset, 0xfedcba9876543210ULL);
    EXPECT_EQ(LoadLe<uint64_t>(bytes, offset), 0xfedcba9876543210ULL) << offset;
    EXPECT_EQ(bytes[offset], std::byte{0x10}) << offset;
    EXPECT_EQ(bytes[offset + 7], std::byte{0xfe}) << offset;
    StoreLe<uint32_t>(bytes, offset + 9, 0xdeadbeefu);
    EXPECT_EQ(LoadLe<uint32_t>(bytes, offset + 9), 0xdeadbeefu) << offset;
    StoreLe<uint16_t>(bytes, offset + 13, 0xcafeu);
    EXPECT_EQ(LoadLe<uint16_t>(bytes, offset + 13), 0xcafeu) << offset;
    // Neighbours are untouched.
    EXPECT_EQ(LoadLe<uint64_t>(bytes, offset), 0xfedcba9876543210ULL) << offset;
    EXPECT_EQ(bytes[offset + 8], std::byte{0}) << offset;
    EXPECT_EQ(bytes[offset + 15], std::byte{0}) << offset;
  }
}

TEST(LittleEndianTest, RoundTripsExtremes) {
  std::array<std::byte, 8> bytes{};
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}, uint64_t{1} << 63}) {
    StoreLe<uint64_t>(bytes, 0, v);
    EXPECT_EQ(LoadLe<uint64_t>(bytes, 0), v);
  }
  StoreLe<uint32_t>(bytes, 4, ~uint32_t{0});
  EXPECT_EQ(LoadLe<uint32_t>(bytes, 4), ~uint32_t{0});
  EXPECT_EQ(LoadLe<uint32_t>(bytes, 0), 0u);  // the low half of 1 << 63
}

}  // namespace
}  // namespace powercut::io
