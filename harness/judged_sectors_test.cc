#include "harness/judged_sectors.h"

#include "gtest/gtest.h"

namespace powercut::verifier {
namespace {

using Ranges = std::vector<io::SectorRange>;

bool Covers(const Ranges& ranges, uint64_t sector) {
  for (const io::SectorRange& r : ranges) {
    if (sector >= r.first && sector < r.end()) return true;
  }
  return false;
}

TEST(JudgedSectors, CoverTouchedAndDataRangesTheirNeighboursTheEndsAndTheThirtyTwoBitLine) {
  const uint64_t device = uint64_t{1} << 40;
  sim::Prng prng(1);
  const Ranges judged =
      JudgedSectors({{100, 8}, {device - 8, 8}}, {{5000, 3}}, device, /*block_sectors=*/1, prng);
  for (uint64_t sector : {uint64_t{0}, uint64_t{99}, uint64_t{100}, uint64_t{107}, uint64_t{108},
                          uint64_t{5000}, uint64_t{5002}, (uint64_t{1} << 32) - 1,
                          uint64_t{1} << 32, device - 9, device - 1}) {
    EXPECT_TRUE(Covers(judged, sector)) << sector;
  }
  EXPECT_FALSE(Covers(judged, 5003));
  // The uniform sample adds at most kUniformSamples sectors.
  EXPECT_LE(io::CountSectors(judged), 8 + 8 + 3 + 4 + 3 + kUniformSamples);
}

TEST(JudgedSectors, TheSampleFollowsTheSeed) {
  sim::Prng a(7), b(7), c(8);
  EXPECT_EQ(JudgedSectors({}, {}, 1 << 20, 1, a), JudgedSectors({}, {}, 1 << 20, 1, b));
  EXPECT_NE(JudgedSectors({}, {}, 1 << 20, 1, a), JudgedSectors({}, {}, 1 << 20, 1, c));
}

TEST(JudgedSectors, WidenToWholeBlocksAndLeaveOutAPartialBlockAtTheEnd) {
  sim::Prng prng(3);
  const Ranges judged = JudgedSectors({{10, 1}}, {}, /*device_sectors=*/4101, 8, prng);
  for (const io::SectorRange& r : judged) {
    EXPECT_EQ(r.first % 8, 0u);
    EXPECT_EQ(r.count % 8, 0u);
    EXPECT_LE(r.end(), 4096u);
  }
  EXPECT_TRUE(Covers(judged, 8));
  EXPECT_TRUE(Covers(judged, 4095));  // the last whole block stands for the end
}

TEST(JudgedSectors, AnEmptyDeviceHasNothingToJudge) {
  sim::Prng prng(1);
  EXPECT_EQ(JudgedSectors({}, {}, 0, 1, prng), Ranges{});
}

}  // namespace
}  // namespace powercut::verifier
