#include "sim/disk_image.h"

#include <vector>

#include "gtest/gtest.h"

namespace powercut::sim {
namespace {

std::vector<std::byte> Filled(size_t sectors, uint8_t value) {
  return std::vector<std::byte>(sectors * io::kSectorSize, std::byte{value});
}

TEST(DiskImage, UnwrittenSectorsReadAsZero) {
  DiskImage image(8);
  std::vector<std::byte> out = Filled(2, 0xff);
  image.Read(3, out);
  EXPECT_EQ(out, Filled(2, 0));
  EXPECT_EQ(image.Get(3), nullptr);
}

TEST(DiskImage, PutSharesDataAndReadsBack) {
  DiskImage image(8);
  std::vector<SectorRef> sectors = SplitIntoSectors(Filled(2, 7));
  image.Put(4, sectors[0]);
  image.Put(5, sectors[1]);
  DiskImage copy = image;
  EXPECT_EQ(copy.Get(4), image.Get(4));  // shared, not copied
  std::vector<std::byte> out(2 * io::kSectorSize);
  copy.Read(4, out);
  EXPECT_EQ(out, Filled(2, 7));
}

TEST(DiskImage, HashAndEqualityIgnoreExplicitZeroes) {
  DiskImage a(8), b(8);
  a.Put(1, SplitIntoSectors(Filled(1, 0))[0]);
  EXPECT_TRUE(a.SameContent(b));
  EXPECT_EQ(a.Hash(), b.Hash());
  b.Put(2, SplitIntoSectors(Filled(1, 1))[0]);
  EXPECT_FALSE(a.SameContent(b));
  EXPECT_NE(a.Hash(), b.Hash());
  b.Put(2, ZeroSector());
  EXPECT_EQ(b.stored_sectors(), 0u);
}

TEST(DiskImage, PutBeyondTheEndThrows) {
  DiskImage image(4);
  EXPECT_THROW(image.Put(4, ZeroSector()), std::out_of_range);
}

}  // namespace
}  // namespace powercut::sim
