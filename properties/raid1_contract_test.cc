// Properties of the RAID1 stack (engine/raid1 over SimSsd members):
//   - the block-device contract through the array, at random crashes, for random
//     workloads, mirror counts, chunk sizes and SSD caches;
//   - I1 (docs/invariants.md) on raw crash images of the members: wherever a member's durable
//     bitmap says a chunk is clean, every member holds the same durable data for it;
//   - I8 (second half): after recovery and resync, the mirrors are identical;
//   - a clean stop: every acknowledged write durable, no resync at the next assembly.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <iostream>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/mutant/mutant.h"
#include "engine/raid1/raid1.h"
#include "bindings/raid1/raid1_binding.h"
#include "properties/scenario_property_for_test.h"
#include "harness/workload_gen.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::verifier {
namespace {

constexpr uint64_t kLogicalSectors = 1024;

WorkloadShape Shape() {
  WorkloadShape shape;
  shape.device_sectors = kLogicalSectors;
  shape.clients = 3;
  shape.max_ops = 40;
  return shape;
}

RC_GTEST_PROP(Raid1Contract, NoAcknowledgedFlushedWriteIsLostAtARandomCrash, ()) {
  Scenario scenario;
  scenario.engine = "raid1";
  scenario.params = {{"mirrors", *rc::gen::inRange<uint64_t>(2, 5)},
                     {"logical_sectors", kLogicalSectors},
                     {"chunk_sectors", *rc::gen::element<uint64_t>(8, 64, 256)}};
  scenario.workload = *GenWorkload(Shape());
  scenario.seed = *rc::gen::arbitrary<uint64_t>();
  scenario.ssd.volatile_cache = *rc::gen::arbitrary<bool>();
  CheckScenarioProperty(scenario);
}

std::vector<std::byte> Read(const sim::DiskImage& image, uint64_t sector, uint64_t sectors) {
  std::vector<std::byte> out(sectors * io::kSectorSize);
  image.Read(sector, out);
  return out;
}

struct I1Tally {
  uint64_t images = 0;
  uint64_t clean_written_chunks = 0;  // clean on disk, holding data: the daemon's clears
  uint64_t dirty_chunks = 0;
};

// I1 on one crash image set. Returns the first violation, if any.
std::optional<std::string> CheckI1(const raid1::Raid1Geometry& g, const CrashImages& images,
                                   I1Tally& tally) {
  const raid1::BitmapGeometry& b = g.bitmap;
  for (size_t m = 0; m < images.disks.size(); ++m) {
    const std::vector<std::byte> bitmap =
        Read(images.disks[m], g.bitmap_sector, g.bitmap_area_sectors);
    absl::StatusOr<raid1::BitmapSuper> sb = raid1::DecodeBitmapSuper(bitmap);
    if (!sb.ok()) return absl::StrCat("member ", m, ": bitmap superblock: ", sb.status().message());
    if (sb->stale()) continue;  // I1 holds for bitmaps that are not stale
    for (uint64_t chunk = 0; chunk < b.chunks; ++chunk) {
      if (raid1::TestChunkBit(b, bitmap, chunk)) {
        ++tally.dirty_chunks;
        continue;
      }
      const uint64_t first = g.data_offset + b.FirstSectorOfChunk(chunk);
      const std::vector<std::byte> reference =
          Read(images.disks[0], first, b.SectorsInChunk(chunk));
      for (size_t other = 1; other < images.disks.size(); ++other) {
        if (Read(images.disks[other], first, b.SectorsInChunk(chunk)) != reference) {
          return absl::StrCat("member ", m, "'s durable bitmap says chunk ", chunk,
                              " is clean, but members 0 and ", other, " differ in it");
        }
      }
      if (reference != std::vector<std::byte>(reference.size())) ++tally.clean_written_chunks;
    }
  }
  ++tally.images;
  return std::nullopt;
}

// Random writes (some FUA), flushes, discards and idle gaps of up to 1.5 daemon
// periods, so the daemon clears bits while writes come and go.
void Drive(sim::World& world, io::BlockDevice& array, uint64_t seed, int client) {
  sim::Prng prng = world.ForkPrng(absl::StrCat("driver", client));
  runtime::Scheduler& scheduler = world.scheduler();
  const int ops = 10 + static_cast<int>(prng.Uniform(30));
  for (int i = 0; i < ops; ++i) {
    const uint64_t sectors = 1 + prng.Uniform(24);
    const uint64_t sector = prng.Uniform(kLogicalSectors - sectors + 1);
    switch (prng.Uniform(8)) {
      case 0:
        ASSERT_TRUE(io::FlushSync(scheduler, array).ok());
        break;
      case 1:
        scheduler.SleepFor(runtime::Milliseconds(static_cast<int64_t>(prng.Uniform(1500))));
        break;
      case 2:
        ASSERT_TRUE(io::DiscardSync(scheduler, array, sector, sectors).ok());
        break;
      default: {
        std::vector<std::byte> data(
            sectors * io::kSectorSize,
            std::byte(static_cast<uint8_t>(seed * 31 + i * 7 + client + 1)));
        const uint32_t flags = prng.Uniform(4) == 0 ? io::kFua : io::kNoFlags;
        ASSERT_TRUE(io::WriteSync(scheduler, array, sector, data, flags).ok());
      }
    }
  }
}

Raid1StackOptions OptionsFor(uint64_t seed) {
  Raid1StackOptions options;
  options.mirrors = 2 + static_cast<uint32_t>(seed % 2);
  options.logical_sectors = kLogicalSectors;
  options.chunk_sectors = seed % 3 == 0 ? 8 : 64;
  options.daemon_sleep_s = 1;
  options.ssd.volatile_cache = seed % 5 != 0;
  return options;
}

// Runs two driving clients on a fresh array, cuts the power at a seeded step and
// returns four crash images.
std::vector<CrashImages> RunAndCrash(uint64_t seed, const Raid1StackOptions& options) {
  std::vector<CrashImages> crashes;
  sim::World world(seed);
  SimulatedDevices devices(world, /*recover_from=*/nullptr);
  std::unique_ptr<Stack> stack = *Raid1StackFactory(options)(world, devices);
  world.scheduler().Spawn("main", [&] {
    ASSERT_TRUE(stack->Start().ok());
    std::vector<runtime::Fiber> clients;
    for (int c = 0; c < 2; ++c) {
      clients.push_back(world.scheduler().Spawn(
          absl::StrCat("client", c), [&, c] { Drive(world, stack->logical(), seed, c); }));
    }
    for (const runtime::Fiber& f : clients) world.scheduler().Join(f);
  });
  world.CrashAfterSteps(world.ForkPrng("crash").Uniform(3000));
  const absl::Status run = world.Run(runtime::Seconds(3600));
  EXPECT_TRUE(run.ok() || run.code() == absl::StatusCode::kCancelled) << run;
  sim::Prng prng = world.ForkPrng("images");
  for (int i = 0; i < 4; ++i) crashes.push_back(devices.SampleCrash(prng));
  world.Halt();
  return crashes;
}

// SimSsd members holding `images` (all durable), in `world`.
std::vector<std::unique_ptr<sim::SimSsd>> MembersFrom(sim::World& world, const CrashImages& images,
                                                      const Raid1StackOptions& options,
                                                      const raid1::Raid1Geometry& g) {
  std::vector<std::unique_ptr<sim::SimSsd>> ssds;
  for (size_t m = 0; m < images.disks.size(); ++m) {
    sim::SimSsdOptions ssd = options.ssd;
    ssd.name = absl::StrCat("ssd", m);
    ssd.sectors = g.member_sectors;
    ssds.push_back(*sim::SimSsd::Create(world, ssd, images.disks[m]));
  }
  return ssds;
}

std::vector<io::BlockDevice*> Devices(const std::vector<std::unique_ptr<sim::SimSsd>>& ssds) {
  std::vector<io::BlockDevice*> devices;
  for (const auto& ssd : ssds) devices.push_back(ssd.get());
  return devices;
}

TEST(Raid1Invariants, ACleanBitOnAnyMemberMeansEveryMirrorHoldsTheSameDurableData) {  // I1, I8
  I1Tally tally;
  uint64_t recovered = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const Raid1StackOptions options = OptionsFor(seed);
    const raid1::Raid1Geometry g = *Raid1StackGeometry(options);
    const std::vector<CrashImages> crashes = RunAndCrash(seed, options);
    for (const CrashImages& images : crashes) {
      std::optional<std::string> violation = CheckI1(g, images, tally);
      ASSERT_FALSE(violation.has_value()) << "seed " << seed << ": " << *violation;
    }

    // I8: assemble the first image (resync) and compare the mirrors.
    sim::World after(seed ^ 0x5a5a);
    std::vector<std::unique_ptr<sim::SimSsd>> ssds = MembersFrom(after, crashes[0], options, g);
    auto array =
        *raid1::Raid1Array::Open(after.scheduler(), Devices(ssds), Raid1ArrayOptions(options));
    after.scheduler().Spawn("recovery", [&] { ASSERT_TRUE(array->Assemble().ok()); });
    ASSERT_TRUE(after.Run(runtime::Seconds(60)).ok());
    for (size_t m = 1; m < ssds.size(); ++m) {
      ASSERT_EQ(Read(ssds[m]->visible(), g.data_offset, g.array_sectors),
                Read(ssds[0]->visible(), g.data_offset, g.array_sectors))
          << "seed " << seed << ": members 0 and " << m << " differ after resync";
    }
    ++recovered;
    after.Halt();
  }
  EXPECT_EQ(tally.images, 1200u * 1);
  EXPECT_EQ(recovered, 300u);
  // The test means something only if the daemon cleared bits over written data and
  // crashes caught chunks dirty.
  EXPECT_GT(tally.clean_written_chunks, 1000u);
  EXPECT_GT(tally.dirty_chunks, 1000u);
  std::cout << "I1: " << tally.images << " images, " << tally.clean_written_chunks
            << " clean written chunks, " << tally.dirty_chunks << " dirty chunks\n";
}

TEST(Raid1Invariants, APowerCutDuringResyncLeavesTheRestForTheNextAssembly) {  // I13, I1, I8
  I1Tally tally;
  uint64_t interrupted = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const Raid1StackOptions options = OptionsFor(seed);
    const raid1::Raid1Geometry g = *Raid1StackGeometry(options);
    const CrashImages first = RunAndCrash(seed, options)[0];

    // Assemble (resync) and cut the power again somewhere inside it.
    CrashImages second;
    {
      sim::World world(seed ^ 0x1313);
      std::vector<std::unique_ptr<sim::SimSsd>> ssds = MembersFrom(world, first, options, g);
      auto array =
          *raid1::Raid1Array::Open(world.scheduler(), Devices(ssds), Raid1ArrayOptions(options));
      bool finished = false;
      world.scheduler().Spawn("recovery", [&] {
        ASSERT_TRUE(array->Assemble().ok());
        finished = true;
      });
      world.CrashAfterSteps(world.ForkPrng("crash").Uniform(80));
      const absl::Status run = world.Run(runtime::Seconds(60));
      ASSERT_TRUE(run.ok() || run.code() == absl::StatusCode::kCancelled) << run;
      interrupted += finished ? 0 : 1;
      sim::Prng prng = world.ForkPrng("images");
      for (const auto& ssd : ssds) second.disks.push_back(ssd->CrashState().Sample(prng));
      world.Halt();
    }
    std::optional<std::string> violation = CheckI1(g, second, tally);
    ASSERT_FALSE(violation.has_value()) << "seed " << seed << ": " << *violation;

    // The next assembly finishes the job: the mirrors are identical.
    sim::World world(seed ^ 0x2727);
    std::vector<std::unique_ptr<sim::SimSsd>> ssds = MembersFrom(world, second, options, g);
    auto array =
        *raid1::Raid1Array::Open(world.scheduler(), Devices(ssds), Raid1ArrayOptions(options));
    world.scheduler().Spawn("recovery", [&] { ASSERT_TRUE(array->Assemble().ok()); });
    ASSERT_TRUE(world.Run(runtime::Seconds(60)).ok());
    for (size_t m = 1; m < ssds.size(); ++m) {
      ASSERT_EQ(Read(ssds[m]->visible(), g.data_offset, g.array_sectors),
                Read(ssds[0]->visible(), g.data_offset, g.array_sectors))
          << "seed " << seed << ": members 0 and " << m << " differ after the second resync";
    }
    world.Halt();
  }
  EXPECT_GT(interrupted, 50u);
  std::cout << "resync interrupted in " << interrupted << " of 200 seeds\n";
}

// A clean stop (Raid1Array::Stop) while clients write, internal or external bitmap:
// every write acknowledged before it is durable on every member, the members are marked
// clean and agree, and the next assembly (from the members' images after a power cut)
// resyncs nothing and returns every acknowledged write.
void CleanStopProperty();

RC_GTEST_PROP(Raid1Stop, ACleanStopThenAssemblyResyncsNothingAndKeepsEveryAcknowledgedWrite, ()) {
  CleanStopProperty();
}

// The property catches a stop that does not wait for the writes in flight.
TEST(Raid1Stop, KillsTheMutantThatStopsWithoutDraining) {
  const mutant::ScopedMutant active(mutant::Id::kRaid1StopNoDrain);
  rc::detail::TestParams params;
  params.seed = 20261123;
  params.maxSuccess = 100;
  params.disableShrinking = true;
  const rc::detail::TestResult result =
      rc::detail::checkTestable(&CleanStopProperty, rc::detail::TestMetadata{}, params);
  rc::detail::FailureResult failure;
  ASSERT_TRUE(result.match(failure)) << "the clean-stop property did not catch the mutant";
  std::cout << "raid1_stop_no_drain: killed by the clean-stop property at case "
            << failure.numSuccess + 1 << ": " << failure.description << "\n";
}

void CleanStopProperty() {
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  const bool external = *rc::gen::arbitrary<bool>();
  const uint32_t mirrors = *rc::gen::inRange<uint32_t>(2, 4);
  Raid1StackOptions stack;
  stack.mirrors = mirrors;
  stack.logical_sectors = kLogicalSectors;
  stack.chunk_sectors = *rc::gen::element<uint64_t>(8, 64);
  stack.external_bitmap = external;
  stack.ssd.volatile_cache = *rc::gen::arbitrary<bool>();
  if (*rc::gen::arbitrary<bool>()) {  // slow members: writes in flight through the stop
    stack.ssd.write_latency = {runtime::Microseconds(50), runtime::Milliseconds(5)};
  }
  const raid1::Raid1Geometry g = *Raid1StackGeometry(stack);
  raid1::Raid1Options options = Raid1ArrayOptions(stack);

  sim::World world(seed);
  std::vector<std::unique_ptr<sim::SimSsd>> ssds;
  for (uint32_t m = 0; m < mirrors + (external ? 1 : 0); ++m) {
    sim::SimSsdOptions ssd = stack.ssd;
    ssd.name = absl::StrCat("ssd", m);
    ssd.sectors = m < mirrors ? g.member_sectors : g.bitmap_area_sectors;
    ssds.push_back(*sim::SimSsd::Create(world, ssd));
  }
  std::vector<io::BlockDevice*> members;
  for (uint32_t m = 0; m < mirrors; ++m) members.push_back(ssds[m].get());
  if (external) options.bitmap_file = ssds.back().get();
  auto array = *raid1::Raid1Array::Open(world.scheduler(), members, options);
  // Each client owns a quarter of the array; the newest acknowledged pattern per sector.
  std::vector<uint8_t> acked(kLogicalSectors, 0);
  bool stop_ok = false;
  world.scheduler().Spawn("main", [&] {
    RC_ASSERT(array->Create().ok());
    std::vector<runtime::Fiber> clients;
    for (int c = 0; c < 4; ++c) {
      clients.push_back(world.scheduler().Spawn(absl::StrCat("client", c), [&, c] {
        sim::Prng prng = world.ForkPrng(absl::StrCat("client", c));
        const uint64_t base = c * kLogicalSectors / 4;
        for (uint8_t i = 1; i < 60; ++i) {
          const uint64_t sectors = 1 + prng.Uniform(16);
          const uint64_t sector = base + prng.Uniform(kLogicalSectors / 4 - sectors + 1);
          const uint8_t pattern = static_cast<uint8_t>(c * 60 + i);
          std::vector<std::byte> data(sectors * io::kSectorSize, std::byte{pattern});
          if (!io::WriteSync(world.scheduler(), *array, sector, data, io::kNoFlags).ok()) return;
          std::fill_n(acked.begin() + static_cast<long>(sector), sectors, pattern);
        }
      }));
    }
    world.scheduler().SleepFor(runtime::Microseconds(
        static_cast<int64_t>(world.ForkPrng("stop").Uniform(3000))));
    stop_ok = array->Stop().ok();
    for (const runtime::Fiber& f : clients) world.scheduler().Join(f);
  });
  RC_ASSERT(world.Run(runtime::Seconds(600)).ok());
  RC_ASSERT(stop_ok);
  sim::Prng prng = world.ForkPrng("images");
  CrashImages images;
  for (const auto& ssd : ssds) images.disks.push_back(ssd->CrashState().Sample(prng));
  world.Halt();
  for (uint32_t m = 0; m < mirrors; ++m) {
    for (uint64_t sector = 0; sector < kLogicalSectors; ++sector) {
      RC_ASSERT(Read(images.disks[m], g.data_offset + sector, 1) ==
                std::vector<std::byte>(io::kSectorSize, std::byte{acked[sector]}));
    }
  }

  sim::World after(seed ^ 0x77);
  std::vector<std::unique_ptr<sim::SimSsd>> recovered;
  std::vector<io::BlockDevice*> devices;
  for (size_t m = 0; m < images.disks.size(); ++m) {
    sim::SimSsdOptions ssd = stack.ssd;
    ssd.name = absl::StrCat("ssd", m);
    ssd.sectors = images.disks[m].sector_count();
    recovered.push_back(*sim::SimSsd::Create(after, ssd, images.disks[m]));
    if (m < mirrors) devices.push_back(recovered.back().get());
  }
  if (external) options.bitmap_file = recovered.back().get();
  auto again = *raid1::Raid1Array::Open(after.scheduler(), devices, options);
  bool assembled = false;
  std::vector<std::byte> back(kLogicalSectors * io::kSectorSize);
  after.scheduler().Spawn("recovery", [&] {
    assembled = again->Assemble().ok() &&
                io::ReadSync(after.scheduler(), *again, 0, back).ok();
  });
  RC_ASSERT(after.Run(runtime::Seconds(60)).ok());
  after.Halt();
  RC_ASSERT(assembled);
  RC_ASSERT(again->resynced_chunks() == 0u);
  RC_ASSERT(again->recovered_chunks() == 0u);
  for (uint64_t sector = 0; sector < kLogicalSectors; ++sector) {
    RC_ASSERT(std::to_integer<uint8_t>(back[sector * io::kSectorSize]) == acked[sector]);
  }
}

}  // namespace
}  // namespace powercut::verifier
