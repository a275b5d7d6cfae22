#include "harness/sector_stamp.h"

#include <algorithm>
#include <vector>

#include "engine/io/block_device.h"
#include "gtest/gtest.h"

namespace powercut::verifier {
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

TEST(SectorStamp, ASectorTornBetweenTwoWritesAtAnyEightByteBoundaryIsGarbage) {
  std::vector<std::byte> a(io::kSectorSize), b(io::kSectorSize);
  StampWrite(7, 3, a);
  StampWrite(8, 3, b);
  // (A cut after the magic alone, the same in both, leaves one whole stamp.)
  for (size_t cut = 16; cut < io::kSectorSize; cut += 8) {
    std::vector<std::byte> torn = a;
    std::copy(b.begin() + static_cast<ptrdiff_t>(cut), b.end(), torn.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_EQ(DecodeSector(torn, 3).kind, SectorKind::kGarbage) << "new from byte " << cut;
    torn = b;
    std::copy(a.begin() + static_cast<ptrdiff_t>(cut), a.end(), torn.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_EQ(DecodeSector(torn, 3).kind, SectorKind::kGarbage) << "old from byte " << cut;
  }
  // One word of another write anywhere in the sector.
  for (size_t word = 0; word < io::kSectorSize / 8; ++word) {
    std::vector<std::byte> mixed = a;
    std::copy_n(b.begin() + static_cast<ptrdiff_t>(8 * word), 8, mixed.begin() + static_cast<ptrdiff_t>(8 * word));
    if (mixed == a) continue;  // the magic: the same in both
    EXPECT_EQ(DecodeSector(mixed, 3).kind, SectorKind::kGarbage) << "word " << word;
  }
}

TEST(SectorStamp, DifferentWritesHaveDifferentBytes) {
  std::vector<std::byte> a(io::kSectorSize), b(io::kSectorSize);
  StampWrite(1, 0, a);
  StampWrite(2, 0, b);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace powercut::verifier
