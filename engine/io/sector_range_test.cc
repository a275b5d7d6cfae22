#include "engine/io/sector_range.h"

#include "gtest/gtest.h"

namespace powercut::io {
namespace {

using Ranges = std::vector<SectorRange>;

TEST(UniteTest, SortsMergesOverlappingAndAdjacentAndDropsEmpty) {
  EXPECT_EQ(Unite({{10, 5}, {0, 2}, {2, 3}, {12, 10}, {40, 0}, {30, 1}}),
            (Ranges{{0, 5}, {10, 12}, {30, 1}}));
  EXPECT_EQ(Unite({}), Ranges{});
  EXPECT_EQ(Unite({{5, 10}, {6, 2}}), (Ranges{{5, 10}}));
}

TEST(UniteTest, ReachesTheTopOfTheSectorSpace) {
  const uint64_t top = uint64_t{1} << 40;
  EXPECT_EQ(Unite({{top - 8, 8}, {top - 16, 8}}), (Ranges{{top - 16, 16}}));
}

TEST(ClipTest, CutsToTheWindowAndShifts) {
  const Ranges ranges = {{0, 5}, {10, 12}, {30, 1}};
  EXPECT_EQ(Clip(ranges, 3, 10), (Ranges{{3, 2}, {10, 3}}));
  EXPECT_EQ(Clip(ranges, 22, 8), Ranges{});
  EXPECT_EQ(Clip(ranges, 0, 100, 7), (Ranges{{7, 5}, {17, 12}, {37, 1}}));
  // A negative shift: from device sectors back to logical ones.
  EXPECT_EQ(Clip(ranges, 10, 30, ~uint64_t{10} + 1), (Ranges{{0, 12}, {20, 1}}));
}

TEST(CountSectorsTest, Sums) { EXPECT_EQ(CountSectors({{0, 5}, {10, 12}}), 17u); }

}  // namespace
}  // namespace powercut::io
