#include "sim/ssd_crash_state.h"

#include <set>
#include <vector>

#include "absl/container/btree_set.h"
#include "engine/io/io_batch.h"
#include "gtest/gtest.h"
#include "sim/render_for_test.h"
#include "sim/sim_ssd.h"

namespace powercut::sim {
namespace {

SectorRef Sector(uint8_t value) {
  return SplitIntoSectors(std::vector<std::byte>(io::kSectorSize, std::byte{value}))[0];
}

PendingWrite Write(uint64_t id, uint64_t sector, std::vector<uint8_t> values, uint64_t submit,
                   uint64_t complete) {
  PendingWrite write;
  write.id = id;
  write.sector = sector;
  write.sectors = values.size();
  std::vector<std::byte> bytes;
  for (uint8_t v : values) bytes.insert(bytes.end(), io::kSectorSize, std::byte{v});
  write.data = CopySectors(bytes);
  write.submit_seq = submit;
  write.complete_seq = complete;
  return write;
}

std::string Render(const DiskImage& image, uint64_t n) { return RenderSectors(image, n, '0'); }

std::set<std::string> SampleMany(const SsdCrashState& state, uint64_t n) {
  std::set<std::string> seen;
  Prng prng(11);
  for (int i = 0; i < 2000; ++i) seen.insert(Render(state.Sample(prng), n));
  return seen;
}

TEST(SsdCrashState, DurableDataSurvivesEveryCrash) {
  DiskImage durable(4);
  durable.Put(0, Sector(1));
  SsdCrashState state(durable, {Write(1, 1, {2}, 1, 2)});
  for (const std::string& image : SampleMany(state, 4)) EXPECT_EQ(image[0], '1');
}

TEST(SsdCrashState, APendingWriteMaySurviveWholeTornOrNotAtAll) {
  SsdCrashState state(DiskImage(4), {Write(1, 0, {1, 1, 1}, 1, 2)});
  std::set<std::string> seen = SampleMany(state, 3);
  EXPECT_EQ(seen.size(), 8u);  // every per-sector combination
  EXPECT_TRUE(seen.count("..."));
  EXPECT_TRUE(seen.count("111"));
  EXPECT_TRUE(seen.count("1.1"));
  EXPECT_EQ(state.CountTorn(), 8u);
}

TEST(SsdCrashState, TheFatesOfPendingWritesDescribeTheDrawWithoutChangingIt) {
  const SsdCrashState state(DiskImage(4), {Write(1, 0, {1, 1, 1, 1}, 1, 2),
                                           Write(2, 2, {2, 2}, 3, kStillInFlight)});
  Prng plain(5), observed(5);
  bool saw_whole = false, saw_dropped = false, saw_torn = false;
  for (int i = 0; i < 200; ++i) {
    std::vector<PendingFate> fates;
    const DiskImage a = state.Sample(plain);
    const DiskImage b =
        state.Sample(observed, [&](const PendingFate& fate) { fates.push_back(fate); });
    EXPECT_EQ(Render(a, 4), Render(b, 4));
    ASSERT_EQ(fates.size(), 2u);
    EXPECT_EQ(fates[0].write->id, 1u);
    EXPECT_EQ(fates[1].write->id, 2u);
    for (const PendingFate& fate : fates) {
      EXPECT_EQ(fate.live_sectors, fate.write->sectors);
      EXPECT_LE(fate.kept_sectors, fate.live_sectors);
      if (!fate.torn) {
        EXPECT_TRUE(fate.kept_sectors == 0 || fate.kept_sectors == fate.live_sectors);
      } else {
        EXPECT_EQ(fate.torn_kept.size(), fate.kept_sectors);
        for (uint64_t sector : fate.torn_kept) {
          EXPECT_GE(sector, fate.write->sector);
          EXPECT_LT(sector, fate.write->sector + fate.write->sectors);
        }
      }
      saw_whole |= fate.kept_sectors == fate.live_sectors;
      saw_dropped |= fate.kept_sectors == 0;
      saw_torn |= fate.torn;
    }
    // Write 1 alone covers sectors 0 and 1: they show it exactly when it kept them all
    // (untorn) and hold zeroes when it was dropped.
    if (!fates[0].torn && fates[0].kept_sectors == 4) {
      EXPECT_EQ(Render(b, 4).substr(0, 2), "11");
    }
    if (fates[0].kept_sectors == 0) {
      EXPECT_EQ(Render(b, 4).substr(0, 2), "..");
    }
  }
  EXPECT_TRUE(saw_whole && saw_dropped && saw_torn);
}

TEST(SsdCrashState, OlderDataNeverLandsOnTopOfASupersedingWrite) {
  // Write 1 completed (seq 2) before write 2 was submitted (seq 3): never "1" on top
  // when 2 also survived; but either alone may survive.
  SsdCrashState sequential(DiskImage(1), {Write(1, 0, {1}, 1, 2), Write(2, 0, {2}, 3, 4)});
  EXPECT_EQ(SampleMany(sequential, 1), (std::set<std::string>{".", "1", "2"}));
}

TEST(SsdCrashState, ConcurrentWritesLandInEitherOrder) {
  // Overlapping in flight (2 submitted before 1 completed): both orders possible.
  SsdCrashState concurrent(DiskImage(1), {Write(1, 0, {1}, 1, 3), Write(2, 0, {2}, 2, 4)});
  absl::btree_set<std::string> seen;
  Prng prng(5);
  for (int i = 0; i < 2000; ++i) seen.insert(Render(concurrent.Sample(prng), 1));
  EXPECT_EQ(seen.size(), 3u);
}

TEST(SsdCrashState, EnumerationCountsEveryDistinctImage) {
  SsdCrashState state(DiskImage(3), {Write(1, 0, {1, 1}, 1, 2), Write(2, 1, {2, 2}, 3, kStillInFlight)});
  std::set<std::string> torn;
  auto count = state.EnumerateTorn(100, [&](const DiskImage& image) { torn.insert(Render(image, 3)); });
  ASSERT_TRUE(count.ok());
  // sector 0: . or 1; sector 1: ., 1 or 2; sector 2: . or 2.
  EXPECT_EQ(*count, 12u);
  EXPECT_EQ(torn.size(), 12u);

  std::set<std::string> whole;
  auto subsets = state.EnumerateWholeWrites([&](const DiskImage& image) { whole.insert(Render(image, 3)); });
  ASSERT_TRUE(subsets.ok());
  EXPECT_EQ(whole, (std::set<std::string>{"...", "11.", ".22", "122"}));
  EXPECT_EQ(*subsets, 4u);
}

TEST(SsdCrashState, EnumerationRefusesStateSpacesBeyondTheLimit) {
  std::vector<PendingWrite> writes;
  for (uint64_t i = 0; i < 21; ++i) writes.push_back(Write(i + 1, i, {1}, 2 * i + 1, 2 * i + 2));
  SsdCrashState state(DiskImage(32), writes);
  EXPECT_EQ(state.CountTorn(), uint64_t{1} << 21);
  EXPECT_EQ(state.EnumerateTorn(1000, [](const DiskImage&) {}).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(state.EnumerateWholeWrites([](const DiskImage&) {}).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(SsdCrashState, RetiredSectorsOfAPendingWriteNeverLand) {
  PendingWrite write = Write(1, 1, {1, 2, 3, 4}, 1, 2);
  write.Retire(2, 4);  // a later durable write replaced sectors 2 and 3
  EXPECT_TRUE(write.live(0));
  EXPECT_FALSE(write.live(1));
  DiskImage image(6);
  write.ApplyTo(image);
  EXPECT_EQ(Render(image, 6), ".1..4.");
  SsdCrashState state(DiskImage(6), {write});
  EXPECT_EQ(SampleMany(state, 6), (std::set<std::string>{"......", ".1....", "....4.", ".1..4."}));
}

TEST(SsdCrashState, SimSsdReportsUnflushedAndInFlightWritesButNotFlushedOnes) {
  World world(3);
  SimSsdOptions options;
  options.sectors = 16;
  auto ssd = *SimSsd::Create(world, options);
  std::vector<std::byte> one(io::kSectorSize, std::byte{1});
  std::vector<std::byte> two(io::kSectorSize, std::byte{2});
  std::vector<std::byte> three(io::kSectorSize, std::byte{3});
  world.scheduler().Spawn("client", [&] {
    ASSERT_TRUE(io::WriteSync(world.scheduler(), *ssd, 0, one, io::kNoFlags).ok());
    ASSERT_TRUE(io::FlushSync(world.scheduler(), *ssd).ok());
    ASSERT_TRUE(io::WriteSync(world.scheduler(), *ssd, 1, two, io::kNoFlags).ok());
    ssd->SubmitWrite(2, three, io::kNoFlags, [](absl::Status) {});
    world.Crash();
  });
  EXPECT_EQ(world.Run().code(), absl::StatusCode::kCancelled);
  SsdCrashState state = ssd->CrashState();
  ASSERT_EQ(state.pending().size(), 2u);
  EXPECT_NE(state.pending()[0].complete_seq, kStillInFlight);
  EXPECT_EQ(state.pending()[1].complete_seq, kStillInFlight);
  std::set<std::string> seen = SampleMany(state, 3);
  EXPECT_EQ(seen, (std::set<std::string>{"1..", "12.", "1.3", "123"}));
}

TEST(SsdCrashState, AFuaWriteRetiresOlderUnflushedDataForItsSectors) {
  World world(3);
  SimSsdOptions options;
  options.sectors = 4;
  auto ssd = *SimSsd::Create(world, options);
  std::vector<std::byte> old_data(io::kSectorSize, std::byte{1});
  std::vector<std::byte> new_data(io::kSectorSize, std::byte{2});
  world.scheduler().Spawn("client", [&] {
    ASSERT_TRUE(io::WriteSync(world.scheduler(), *ssd, 0, old_data, io::kNoFlags).ok());
    ASSERT_TRUE(io::WriteSync(world.scheduler(), *ssd, 0, new_data, io::kFua).ok());
  });
  ASSERT_TRUE(world.Run().ok());
  EXPECT_EQ(SampleMany(ssd->CrashState(), 1), (std::set<std::string>{"2"}));
}

}  // namespace
}  // namespace powercut::sim
