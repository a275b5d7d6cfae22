#include "sim/disk_image.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/render_for_test.h"

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

std::vector<std::byte> Counting(size_t sectors, uint8_t first) {
  std::vector<std::byte> bytes;
  for (size_t i = 0; i < sectors; ++i) {
    bytes.insert(bytes.end(), io::kSectorSize, std::byte{static_cast<uint8_t>(first + i)});
  }
  return bytes;
}

std::string Render(const DiskImage& image, uint64_t n) { return RenderSectors(image, n, 'a'); }

TEST(DiskImage, AWriteIsOneExtentAndOverwritesSplitIt) {
  DiskImage image(16);
  image.PutExtent(2, 8, CopySectors(Counting(8, 0)));  // a..h at 2..9
  EXPECT_EQ(image.extents(), 1u);
  EXPECT_EQ(Render(image, 12), "..abcdefgh..");
  image.PutExtent(4, 2, CopySectors(Counting(2, 20)));  // inside: splits in three
  EXPECT_EQ(Render(image, 12), "..abuvefgh..");
  EXPECT_EQ(image.extents(), 3u);
  image.PutExtent(0, 3, CopySectors(Counting(3, 10)));  // over the head
  image.PutExtent(9, 3, CopySectors(Counting(3, 14)));  // over the tail
  EXPECT_EQ(Render(image, 12), "klmbuvefgopq");
  image.Erase(3, 5);
  EXPECT_EQ(Render(image, 12), "klm.....gopq");
  EXPECT_EQ(image.stored_sectors(), 7u);
  image.PutExtent(0, 12, CopySectors(Counting(12, 0)));  // over everything
  EXPECT_EQ(Render(image, 12), "abcdefghijkl");
  EXPECT_EQ(image.extents(), 1u);
  EXPECT_EQ(image.stored_sectors(), 12u);
}

TEST(DiskImage, ReadSpansExtentsAndGaps) {
  DiskImage image(16);
  image.PutExtent(1, 2, CopySectors(Counting(2, 1)));
  image.PutExtent(5, 3, CopySectors(Counting(3, 5)));
  std::vector<std::byte> out(10 * io::kSectorSize, std::byte{0xff});
  image.Read(2, out);
  std::vector<std::byte> expected = Counting(10, 2);
  for (size_t s : {1, 2, 6, 7, 8, 9}) {
    std::fill_n(expected.begin() + static_cast<ptrdiff_t>(s * io::kSectorSize), io::kSectorSize,
                std::byte{0});
  }
  EXPECT_EQ(out, expected);
}

TEST(DiskImage, ForEachRunVisitsExtentsAndGapsInOrderClippedToTheRange) {
  DiskImage image(16);
  image.PutExtent(1, 2, CopySectors(Counting(2, 1)));  // b c at 1..2
  image.PutExtent(3, 2, CopySectors(Counting(2, 3)));  // d e at 3..4, its own extent
  image.PutExtent(8, 3, CopySectors(Counting(3, 8)));  // i j k at 8..10
  std::string runs;
  image.ForEachRun(2, 8, [&](uint64_t first, uint64_t count, const SectorBytes* data) {
    runs += std::to_string(first) + "+" + std::to_string(count) + ":";
    for (uint64_t i = 0; i < count; ++i) {
      runs += data == nullptr ? '.' : static_cast<char>('a' + std::to_integer<int>(data[i][0]));
    }
    runs += ' ';
  });
  EXPECT_EQ(runs, "2+1:c 3+2:de 5+3:... 8+2:ij ");
}

TEST(DiskImage, ForEachRunOverAnEmptyRangeOrImage) {
  DiskImage image(16);
  std::string runs;
  auto record = [&](uint64_t first, uint64_t count, const SectorBytes* data) {
    runs += std::to_string(first) + "+" + std::to_string(count) + (data ? "d " : "z ");
  };
  image.ForEachRun(3, 4, record);
  EXPECT_EQ(runs, "3+4z ");
  image.PutExtent(0, 2, CopySectors(Counting(2, 0)));
  runs.clear();
  image.ForEachRun(1, 0, record);
  EXPECT_EQ(runs, "");
  image.ForEachRun(0, 1, record);
  EXPECT_EQ(runs, "0+1d ");
}

TEST(DiskImage, PutRunKeepsContiguousSectorsAsOneExtentAndSkipsNull) {
  DiskImage image(16);
  std::vector<SectorRef> run = SplitIntoSectors(Counting(4, 0));
  image.PutRun(0, run);
  EXPECT_EQ(image.extents(), 1u);
  std::vector<SectorRef> mixed = SplitIntoSectors(Counting(4, 10));
  mixed[1] = nullptr;
  mixed[2] = ZeroSector();
  image.PutRun(0, mixed);
  EXPECT_EQ(Render(image, 5), "kb.n.");
}

TEST(DiskImage, HashAndContentDoNotDependOnHowExtentsAreCut) {
  DiskImage whole(8), pieces(8);
  const std::vector<std::byte> bytes = Counting(6, 1);
  whole.PutExtent(1, 6, CopySectors(bytes));
  for (uint64_t s = 0; s < 6; ++s) {
    pieces.Put(1 + s, CopySectors(std::span(bytes).subspan(s * io::kSectorSize, io::kSectorSize)));
  }
  EXPECT_TRUE(whole.SameContent(pieces));
  EXPECT_EQ(whole.Hash(), pieces.Hash());
}

TEST(DiskImage, CopiesKeepTheirBytesWhileOtherCopiesAreFreedAndTheirMemoryReused) {
  std::vector<SectorRef> kept;
  for (int round = 0; round < 3; ++round) {
    for (size_t sectors : {1, 8, 9, 128, 200}) {
      SectorRef dropped = CopySectors(Counting(sectors, 50));
      kept.push_back(CopySectors(Counting(sectors, static_cast<uint8_t>(round * 7 + sectors))));
    }
  }
  size_t i = 0;
  for (int round = 0; round < 3; ++round) {
    for (size_t sectors : {1, 8, 9, 128, 200}) {
      const SectorRef& copy = kept[i++];
      for (size_t s = 0; s < sectors; ++s) {
        EXPECT_EQ(copy.get()[s][0], std::byte{static_cast<uint8_t>(round * 7 + sectors + s)});
      }
    }
  }
}

TEST(DiskImage, StoredRangesMergeAdjacentExtentsAndCostTheExtentsNotTheRange) {
  const uint64_t huge = uint64_t{1} << 40;
  DiskImage image(huge);
  image.PutExtent(4, 2, CopySectors(Counting(2, 1)));
  image.PutExtent(6, 3, CopySectors(Counting(3, 5)));
  image.PutExtent(huge - 2, 2, CopySectors(Counting(2, 9)));
  using Ranges = std::vector<io::SectorRange>;
  EXPECT_EQ(image.StoredRanges(0, huge), (Ranges{{4, 5}, {huge - 2, 2}}));
  EXPECT_EQ(image.StoredRanges(5, 2), (Ranges{{5, 2}}));
  EXPECT_EQ(image.StoredRanges(9, huge - 11), Ranges{});
}

TEST(DiskImage, SameContentOverARangeComparesOnlyThatRange) {
  const uint64_t huge = uint64_t{1} << 40;
  DiskImage a(huge), b(huge);
  a.PutExtent(10, 4, CopySectors(Counting(4, 1)));
  b.PutExtent(10, 4, CopySectors(Counting(4, 1)));
  b.PutExtent(huge - 1, 1, CopySectors(Counting(1, 3)));
  EXPECT_TRUE(a.SameContent(b, 0, huge - 1));
  EXPECT_FALSE(a.SameContent(b, 0, huge));
  EXPECT_FALSE(b.SameContent(a, huge - 1, 1));
  // A stored zero sector reads like one never written.
  a.Put(100, ZeroSector());
  a.PutExtent(200, 1, CopySectors(Filled(1, 0)));
  EXPECT_TRUE(a.SameContent(b, 0, 1000));
  // One byte off in the middle of an extent.
  std::vector<std::byte> off = Counting(4, 1);
  off[2 * io::kSectorSize + 17] ^= std::byte{1};
  a.PutExtent(10, 4, CopySectors(off));
  EXPECT_FALSE(a.SameContent(b, 0, 1000));
  EXPECT_TRUE(a.SameContent(b, 0, 12));
  EXPECT_FALSE(b.SameContent(a, 12, 1));
  EXPECT_EQ(a.FirstDifference(b, 0, huge), 12u);
  EXPECT_EQ(b.FirstDifference(a, 13, huge - 13), huge - 1);
  EXPECT_EQ(b.FirstDifference(a, 13, huge - 14), std::nullopt);
}

TEST(DiskImage, PutBeyondTheEndThrows) {
  DiskImage image(4);
  EXPECT_THROW(image.Put(4, ZeroSector()), std::out_of_range);
  EXPECT_THROW(image.PutExtent(2, 3, CopySectors(Counting(3, 0))), std::out_of_range);
  EXPECT_THROW(image.Erase(5, 1), std::out_of_range);
}

}  // namespace
}  // namespace powercut::sim
