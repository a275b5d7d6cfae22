#include "properties/sector_stamp.h"

#include <vector>

#include "engine/io/block_device.h"
#include "gtest/gtest.h"

namespace powercut::props {
namespace {

TEST(SectorStamp, EveryStampedSectorDecodesToItsWriteAndSector) {
  std::vector<std::byte> buffer(4 * io::kSectorSize);
  StampWrite(17, 100, buffer);
  for (uint64_t i = 0; i < 4; ++i) {
    DecodedSector d = DecodeSector(std::span(buffer).subspan(i * 512, 512), 100 + i);
    EXPECT_EQ(d.kind, SectorKind::kStamped);
    EXPECT_EQ(d.write_id, 17u);
    EXPECT_EQ(d.target_sector, 100 + i);
  }
}

TEST(SectorStamp, DataReadFromAnotherSectorIsForeign) {
  std::vector<std::byte> buffer(io::kSectorSize);
  StampWrite(3, 8, buffer);
  DecodedSector d = DecodeSector(buffer, 0);
  EXPECT_EQ(d.kind, SectorKind::kForeign);
  EXPECT_EQ(d.target_sector, 8u);
}

TEST(SectorStamp, AnyFlippedByteIsGarbageAndZeroesAreZero) {
  std::vector<std::byte> buffer(io::kSectorSize);
  EXPECT_EQ(DecodeSector(buffer, 0).kind, SectorKind::kZero);
  StampWrite(5, 0, buffer);
  for (size_t i : {0, 9, 17, 200, 511}) {
    std::vector<std::byte> copy = buffer;
    copy[i] ^= std::byte{1};
    EXPECT_EQ(DecodeSector(copy, 0).kind, SectorKind::kGarbage) << "byte " << i;
  }
}

TEST(SectorStamp, DifferentWritesHaveDifferentBytes) {
  std::vector<std::byte> a(io::kSectorSize), b(io::kSectorSize);
  StampWrite(1, 0, a);
  StampWrite(2, 0, b);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace powercut::props
