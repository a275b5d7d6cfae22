// FaultyBlockDevice and Validate(FaultPlan): each fault does exactly what the plan says
// and nothing else, an empty plan is invisible, random faults replay per seed, and
// impossible plans are rejected.
#include "faults/faulty_block_device.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/runtime/sync.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/sim_ssd.h"

namespace powercut::faults {
namespace {

using ::testing::HasSubstr;
using io::kFua;
using io::kNoFlags;
using io::kPreflush;

constexpr uint64_t kDeviceSectors = 64;

std::vector<std::byte> Filled(size_t sectors, uint8_t value) {
  return std::vector<std::byte>(sectors * io::kSectorSize, std::byte{value});
}

uint8_t FirstByte(const sim::DiskImage& image, uint64_t sector) {
  const sim::SectorBytes* bytes = image.Get(sector);
  return bytes == nullptr ? 0 : static_cast<uint8_t>((*bytes)[0]);
}

// A SimSsd with a FaultyBlockDevice over it; collects the trace's fault lines.
struct Fixture {
  explicit Fixture(FaultPlan plan, uint64_t seed = 1) : world(seed) {
    sim::SimSsdOptions options;
    options.name = "ssd0";
    options.sectors = kDeviceSectors;
    ssd = *sim::SimSsd::Create(world, options);
    faulty = *FaultyBlockDevice::Create(world, *ssd, std::move(plan));
    world.trace().set_observer([this](const sim::TraceEvent& event) {
      std::string line = sim::Trace::Format(event);
      if (line.find(" fault.") != std::string::npos) fault_lines.push_back(std::move(line));
    });
  }
  runtime::Scheduler& sched() { return world.scheduler(); }
  // Runs `body` in a fiber to completion.
  void Run(std::function<void()> body) {
    sched().Spawn("client", std::move(body));
    ASSERT_TRUE(world.Run().ok());
  }
  absl::Status Write(uint64_t sector, uint64_t sectors, uint8_t value, uint32_t flags = kNoFlags) {
    return io::WriteSync(sched(), *faulty, sector, Filled(sectors, value), flags);
  }
  absl::Status Read(uint64_t sector, uint64_t sectors, std::vector<std::byte>* out = nullptr) {
    std::vector<std::byte> buffer(sectors * io::kSectorSize);
    absl::Status status = io::ReadSync(sched(), *faulty, sector, buffer);
    if (out != nullptr) *out = std::move(buffer);
    return status;
  }
  absl::Status Flush() { return io::FlushSync(sched(), *faulty); }

  sim::World world;
  std::unique_ptr<sim::SimSsd> ssd;
  std::unique_ptr<FaultyBlockDevice> faulty;
  std::vector<std::string> fault_lines;
};

// --- A seeded concurrent script, for pass-through and determinism checks ------------

struct ScriptResult {
  std::vector<absl::StatusCode> statuses;  // per client, in op order
  std::vector<std::vector<std::byte>> reads;
  uint64_t trace_hash = 0;
  uint64_t visible_hash = 0;
  uint64_t durable_hash = 0;
};

// Three clients, 30 mixed operations each, drawn from `script_seed`; run in `world`
// against `device`, which sits (possibly wrapped) over `ssd`.
ScriptResult RunScript(sim::World& world, io::BlockDevice& device, const sim::SimSsd& ssd,
                       uint64_t script_seed) {
  constexpr int kClients = 3;
  std::vector<std::vector<absl::StatusCode>> statuses(kClients);
  std::vector<std::vector<std::vector<std::byte>>> reads(kClients);
  for (int client = 0; client < kClients; ++client) {
    world.scheduler().Spawn("client", [&, client] {
      sim::Prng prng = sim::Prng(script_seed).Fork("client" + std::to_string(client));
      for (int i = 0; i < 30; ++i) {
        const uint64_t sectors = prng.Range(1, 4);
        const uint64_t sector = prng.Uniform(kDeviceSectors - sectors + 1);
        const uint64_t kind = prng.Uniform(10);
        absl::Status status;
        if (kind < 5) {
          const uint32_t flags = prng.Chance(1, 5) ? kFua : (prng.Chance(1, 8) ? kPreflush : kNoFlags);
          status = io::WriteSync(world.scheduler(), device, sector,
                                 Filled(sectors, static_cast<uint8_t>(client * 40 + i + 1)), flags);
        } else if (kind < 7) {
          std::vector<std::byte> buffer(sectors * io::kSectorSize);
          status = io::ReadSync(world.scheduler(), device, sector, buffer);
          reads[client].push_back(std::move(buffer));
        } else if (kind < 9) {
          status = io::FlushSync(world.scheduler(), device);
        } else {
          status = io::DiscardSync(world.scheduler(), device, sector, sectors);
        }
        statuses[client].push_back(status.code());
      }
    });
  }
  EXPECT_TRUE(world.Run().ok());
  ScriptResult result;
  for (int client = 0; client < kClients; ++client) {
    result.statuses.insert(result.statuses.end(), statuses[client].begin(), statuses[client].end());
    for (auto& read : reads[client]) result.reads.push_back(std::move(read));
  }
  result.trace_hash = world.trace().hash();
  result.visible_hash = ssd.visible().Hash();
  result.durable_hash = ssd.durable().Hash();
  return result;
}

struct ScriptRun {
  ScriptResult result;
  FaultCounts counts;
};

ScriptRun RunScriptWithPlan(const FaultPlan& plan, uint64_t world_seed, uint64_t script_seed) {
  sim::World world(world_seed);
  sim::SimSsdOptions options;
  options.name = "ssd0";
  options.sectors = kDeviceSectors;
  auto ssd = *sim::SimSsd::Create(world, options);
  FaultyBlockDevice faulty(world, *ssd, plan);
  ScriptRun run{RunScript(world, faulty, *ssd, script_seed), faulty.counts()};
  world.Halt();
  return run;
}

// --- Pass-through -------------------------------------------------------------------

TEST(FaultyBlockDevice, EmptyPlanIsATransparentPassThrough) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    sim::World bare_world(seed);
    sim::SimSsdOptions options;
    options.name = "ssd0";
    options.sectors = kDeviceSectors;
    auto bare_ssd = *sim::SimSsd::Create(bare_world, options);
    const ScriptResult bare = RunScript(bare_world, *bare_ssd, *bare_ssd, seed);

    const ScriptRun wrapped = RunScriptWithPlan(FaultPlan{}, seed, seed);
    EXPECT_EQ(wrapped.result.statuses, bare.statuses);
    EXPECT_EQ(wrapped.result.reads, bare.reads);
    EXPECT_EQ(wrapped.result.visible_hash, bare.visible_hash);
    EXPECT_EQ(wrapped.result.durable_hash, bare.durable_hash);
    // Not one extra event or PRNG draw: the whole run is the same run.
    EXPECT_EQ(wrapped.result.trace_hash, bare.trace_hash);
    EXPECT_EQ(wrapped.counts, FaultCounts{});
  }
}

TEST(FaultyBlockDevice, MalformedRequestsAreRejectedInlineAndNeverFaulted) {
  FaultPlan plan;
  plan.io_error_ppm = kPpm;  // every well-formed IO would fail
  Fixture f(plan);
  auto data = Filled(2, 1);
  std::vector<std::byte> odd(100);
  std::vector<absl::StatusCode> codes;
  f.faulty->SubmitWrite(kDeviceSectors - 1, data, kNoFlags,
                        [&](absl::Status s) { codes.push_back(s.code()); });
  f.faulty->SubmitRead(0, odd, [&](absl::Status s) { codes.push_back(s.code()); });
  f.faulty->SubmitDiscard(3, 0, [&](absl::Status s) { codes.push_back(s.code()); });
  EXPECT_EQ(codes, (std::vector<absl::StatusCode>{absl::StatusCode::kOutOfRange,
                                                  absl::StatusCode::kInvalidArgument,
                                                  absl::StatusCode::kInvalidArgument}));
  EXPECT_EQ(f.faulty->counts(), FaultCounts{});
  EXPECT_EQ(f.faulty->ios_submitted(), 3u);  // they still take an ordinal
  EXPECT_EQ(f.faulty->writes_submitted(), 0u);
}

// --- IO errors ----------------------------------------------------------------------

TEST(FaultyBlockDevice, ListedOrdinalFailsExactlyThatIo) {
  FaultPlan plan;
  plan.io_error_ordinals = {2};
  Fixture f(plan);
  f.Run([&] {
    EXPECT_TRUE(f.Write(0, 1, 1).ok());  // IO 1
    absl::Status second = f.Read(0, 1);  // IO 2
    EXPECT_EQ(second.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(second.message(), HasSubstr("IO #2"));
    EXPECT_TRUE(f.Write(1, 1, 2).ok());  // IO 3
    EXPECT_TRUE(f.Flush().ok());         // IO 4
    EXPECT_TRUE(f.Read(0, 2).ok());      // IO 5
  });
  EXPECT_EQ(f.faulty->counts(), (FaultCounts{.io_errors = 1}));
  ASSERT_EQ(f.fault_lines.size(), 1u);
  EXPECT_THAT(f.fault_lines[0], HasSubstr("fault.ioerror #2 sec 0+1 read"));
}

TEST(FaultyBlockDevice, ADisarmedWrapperPassesEverythingThroughAndCountsFromItsArming) {
  FaultPlan plan;
  plan.io_error_ordinals = {1};
  plan.io_error_ppm = kPpm / 2;
  plan.io_error_ops = kFaultRead;
  Fixture f(plan);
  f.faulty->set_armed(false);
  f.Run([&] {
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(f.Read(0, 1).ok());
    EXPECT_TRUE(f.Write(0, 1, 1).ok());
    EXPECT_TRUE(f.Flush().ok());
  });
  EXPECT_EQ(f.faulty->counts(), FaultCounts{});
  EXPECT_EQ(f.faulty->ios_submitted(), 0u);
  EXPECT_TRUE(f.fault_lines.empty());
  f.faulty->set_armed(true);
  f.Run([&] { EXPECT_EQ(f.Write(1, 1, 2).code(), absl::StatusCode::kDataLoss); });  // IO 1
  EXPECT_EQ(f.faulty->counts().io_errors, 1u);
}

TEST(FaultyBlockDevice, FailedWriteEitherNeverReachedTheDeviceOrLanded) {
  // Which one is drawn per failure from the seed; both must occur, and the device
  // contents must match what was counted and traced.
  int landed = 0, dropped = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    FaultPlan plan;
    plan.io_error_ordinals = {1};
    Fixture f(plan, seed);
    f.Run([&] { EXPECT_EQ(f.Write(5, 2, 0xaa).code(), absl::StatusCode::kDataLoss); });
    const bool on_device = FirstByte(f.ssd->visible(), 5) == 0xaa;
    EXPECT_EQ(FirstByte(f.ssd->visible(), 6), on_device ? 0xaa : 0);
    EXPECT_EQ(f.faulty->counts(),
              (FaultCounts{.io_errors = 1, .io_errors_landed = on_device ? 1u : 0u}));
    ASSERT_EQ(f.fault_lines.size(), 1u);
    EXPECT_THAT(f.fault_lines[0], HasSubstr(on_device ? "write landed" : "write dropped"));
    (on_device ? landed : dropped)++;
  }
  EXPECT_GT(landed, 0);
  EXPECT_GT(dropped, 0);
}

TEST(FaultyBlockDevice, FailedFlushMayOrMayNotHaveFlushed) {
  int landed = 0, dropped = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    FaultPlan plan;
    plan.io_error_ordinals = {2};
    Fixture f(plan, seed);
    f.Run([&] {
      ASSERT_TRUE(f.Write(3, 1, 7).ok());
      EXPECT_EQ(f.Flush().code(), absl::StatusCode::kDataLoss);
    });
    const bool flushed = FirstByte(f.ssd->durable(), 3) == 7;
    EXPECT_EQ(f.faulty->counts().io_errors_landed, flushed ? 1u : 0u);
    (flushed ? landed : dropped)++;
  }
  EXPECT_GT(landed, 0);
  EXPECT_GT(dropped, 0);
}

TEST(FaultyBlockDevice, RandomErrorsFailOnlyTheChosenKindsOfIo) {
  FaultPlan plan;
  plan.io_error_ppm = kPpm;
  plan.io_error_ops = kFaultFlush | kFaultDiscard;
  Fixture f(plan);
  f.Run([&] {
    EXPECT_TRUE(f.Write(0, 4, 1).ok());
    EXPECT_TRUE(f.Write(4, 4, 2, kFua).ok());
    EXPECT_TRUE(f.Read(0, 8).ok());
    EXPECT_EQ(f.Flush().code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(io::DiscardSync(f.sched(), *f.faulty, 0, 2).code(), absl::StatusCode::kDataLoss);
  });
  EXPECT_EQ(f.faulty->counts().io_errors, 2u);
  EXPECT_EQ(f.faulty->counts().total(), 2u);
}

TEST(FaultyBlockDevice, RandomIoErrorsAreDeterministicPerSeed) {
  FaultPlan plan;
  plan.io_error_ppm = 250'000;
  const ScriptRun first = RunScriptWithPlan(plan, 7, 3);
  const ScriptRun again = RunScriptWithPlan(plan, 7, 3);
  EXPECT_EQ(again.result.statuses, first.result.statuses);
  EXPECT_EQ(again.result.reads, first.result.reads);
  EXPECT_EQ(again.result.trace_hash, first.result.trace_hash);
  EXPECT_EQ(again.result.durable_hash, first.result.durable_hash);
  EXPECT_EQ(again.counts, first.counts);
  // 90 IOs at 25%: some fail, most do not.
  EXPECT_GT(first.counts.io_errors, 5u);
  EXPECT_LT(first.counts.io_errors, 45u);
  // Another world seed (same script) draws other failures.
  bool differs = false;
  for (uint64_t seed = 8; seed <= 12 && !differs; ++seed) {
    differs = RunScriptWithPlan(plan, seed, 3).result.statuses != first.result.statuses;
  }
  EXPECT_TRUE(differs);
}

TEST(FaultyBlockDevice, InjectedErrorsCompleteAsynchronouslyAfterTheFaultLatency) {
  FaultPlan plan;
  plan.io_error_ordinals = {1, 2, 3, 4};
  plan.fault_latency = runtime::Microseconds(40);
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Fixture f(plan, seed);
    f.Run([&] {
      auto data = Filled(1, 1);
      std::vector<std::byte> buffer(io::kSectorSize);
      runtime::WaitGroup pending(f.sched(), "ios");
      std::vector<runtime::Nanos> completed;
      auto done = [&](absl::Status status) {
        EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
        completed.push_back(f.world.Now());
        pending.Done();
      };
      const runtime::Nanos start = f.world.Now();
      pending.Add(4);
      f.faulty->SubmitWrite(0, data, kNoFlags, done);
      f.faulty->SubmitRead(0, buffer, done);
      f.faulty->SubmitFlush(done);
      f.faulty->SubmitDiscard(0, 1, done);
      EXPECT_TRUE(completed.empty()) << "an injected error completed inside Submit*";
      pending.Wait();
      for (runtime::Nanos at : completed) EXPECT_GT(at, start);
      // Dropped IOs complete exactly fault_latency later; landed ones when the device does.
      const uint64_t dropped = f.faulty->counts().io_errors - f.faulty->counts().io_errors_landed;
      EXPECT_GE(static_cast<uint64_t>(
                    std::count(completed.begin(), completed.end(), start + plan.fault_latency)),
                dropped);
    });
  }
}

// --- Latent sector errors -----------------------------------------------------------

TEST(FaultyBlockDevice, ReadCoveringALatentSectorFailsNamingIt) {
  FaultPlan plan;
  plan.latent_sectors = {10, 12};
  Fixture f(plan);
  f.Run([&] {
    absl::Status status = f.Read(8, 4);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(status.message(), HasSubstr("latent sector error at sector 10"));
    EXPECT_TRUE(f.Read(11, 1).ok());
    EXPECT_TRUE(f.Read(0, 10).ok());
    EXPECT_THAT(f.Read(12, 8).message(), HasSubstr("sector 12"));
    // Writes to a latent sector are accepted (that is how it is repaired).
    EXPECT_TRUE(f.Write(20, 1, 3).ok());
  });
  EXPECT_EQ(f.faulty->counts(), (FaultCounts{.latent_sector_errors = 2}));
  EXPECT_EQ(f.faulty->latent_sectors(), (absl::btree_set<uint64_t>{10, 12}));
  ASSERT_EQ(f.fault_lines.size(), 2u);
  EXPECT_THAT(f.fault_lines[0], HasSubstr("fault.lse"));
  EXPECT_THAT(f.fault_lines[0], HasSubstr("bad 10"));
}

TEST(FaultyBlockDevice, LatentSectorReadsFineAfterARewrite) {
  FaultPlan plan;
  plan.latent_sectors = {10, 11, 30};
  Fixture f(plan);
  f.Run([&] {
    ASSERT_FALSE(f.Read(10, 1).ok());
    ASSERT_TRUE(f.Write(9, 2, 0x5a).ok());  // covers 10, not 11
    std::vector<std::byte> back;
    EXPECT_TRUE(f.Read(10, 1, &back).ok());
    EXPECT_EQ(back, Filled(1, 0x5a));
    EXPECT_FALSE(f.Read(11, 1).ok());
    // A discard rewrites (unmaps) the sector too.
    EXPECT_TRUE(io::DiscardSync(f.sched(), *f.faulty, 11, 1).ok());
    EXPECT_TRUE(f.Read(8, 8).ok());
    EXPECT_FALSE(f.Read(30, 1).ok());
  });
  EXPECT_EQ(f.faulty->latent_sectors(), (absl::btree_set<uint64_t>{30}));
  EXPECT_EQ(f.faulty->counts(),
            (FaultCounts{.latent_sector_errors = 3, .latent_sectors_cleared = 2}));
}

TEST(FaultyBlockDevice, FailedWriteDoesNotHealALatentSector) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    FaultPlan plan;
    plan.latent_sectors = {10};
    plan.io_error_ordinals = {1};
    Fixture f(plan, seed);
    f.Run([&] {
      EXPECT_FALSE(f.Write(10, 1, 1).ok());
      EXPECT_EQ(f.Read(10, 1).code(), absl::StatusCode::kDataLoss);
    });
    EXPECT_EQ(f.faulty->latent_sectors().size(), 1u);
  }
}

// --- Misdirected writes -------------------------------------------------------------

TEST(FaultyBlockDevice, MisdirectedWriteLandsAtTheOffsetAndReportsSuccess) {
  FaultPlan plan;
  plan.misdirected_writes = {2};
  plan.misdirect_offset = 16;
  Fixture f(plan);
  f.Run([&] {
    EXPECT_TRUE(f.Write(0, 1, 1).ok());  // write 1
    EXPECT_TRUE(f.Read(0, 1).ok());      // reads, flushes and discards are not writes
    EXPECT_TRUE(f.Flush().ok());
    EXPECT_TRUE(io::DiscardSync(f.sched(), *f.faulty, 40, 1).ok());
    EXPECT_TRUE(f.Write(4, 2, 2).ok());  // write 2: lands at 20
    EXPECT_TRUE(f.Write(8, 1, 3).ok());  // write 3
  });
  const sim::DiskImage& disk = f.ssd->visible();
  EXPECT_EQ(FirstByte(disk, 0), 1);
  EXPECT_EQ(FirstByte(disk, 4), 0);
  EXPECT_EQ(FirstByte(disk, 5), 0);
  EXPECT_EQ(FirstByte(disk, 20), 2);
  EXPECT_EQ(FirstByte(disk, 21), 2);
  EXPECT_EQ(FirstByte(disk, 8), 3);
  EXPECT_EQ(disk.stored_sectors(), 4u);
  EXPECT_EQ(f.faulty->counts(), (FaultCounts{.misdirected_writes = 1}));
  ASSERT_EQ(f.fault_lines.size(), 1u);
  EXPECT_THAT(f.fault_lines[0], HasSubstr("fault.misdirect #5 sec 4+2 to 20"));
}

TEST(FaultyBlockDevice, MisdirectedWriteIsClampedInsideTheDevice) {
  FaultPlan plan;
  plan.misdirected_writes = {1, 2, 3};
  plan.misdirect_offset = -20;
  Fixture f(plan);
  f.Run([&] {
    EXPECT_TRUE(f.Write(50, 2, 1).ok());  // -> 30
    EXPECT_TRUE(f.Write(3, 2, 2).ok());   // -> 0 (clamped)
    EXPECT_TRUE(f.Write(0, 1, 3).ok());   // clamped back onto itself: not a fault
  });
  EXPECT_EQ(FirstByte(f.ssd->visible(), 30), 1);
  EXPECT_EQ(FirstByte(f.ssd->visible(), 1), 2);
  EXPECT_EQ(FirstByte(f.ssd->visible(), 0), 3);
  EXPECT_EQ(FirstByte(f.ssd->visible(), 3), 0);
  EXPECT_EQ(f.faulty->counts(), (FaultCounts{.misdirected_writes = 2}));

  FaultPlan ahead;
  ahead.misdirected_writes = {1};
  ahead.misdirect_offset = 32;
  Fixture g(ahead);
  g.Run([&] { EXPECT_TRUE(g.Write(50, 4, 9).ok()); });  // -> 60, the last 4 sectors
  EXPECT_EQ(FirstByte(g.ssd->visible(), 60), 9);
  EXPECT_EQ(FirstByte(g.ssd->visible(), 63), 9);
  EXPECT_EQ(FirstByte(g.ssd->visible(), 50), 0);
}

// --- Broken durability --------------------------------------------------------------

TEST(FaultyBlockDevice, LyingFlushAcknowledgesWithoutMakingAnythingDurable) {
  FaultPlan plan;
  plan.lying_flush = true;
  Fixture f(plan);
  f.Run([&] {
    EXPECT_TRUE(f.Write(2, 1, 1).ok());
    EXPECT_TRUE(f.Flush().ok());
    EXPECT_TRUE(f.Write(3, 1, 2, kPreflush).ok());  // the PREFLUSH is swallowed too
    EXPECT_TRUE(f.Write(4, 1, 3, kFua).ok());       // FUA still works
  });
  EXPECT_EQ(FirstByte(f.ssd->durable(), 2), 0);
  EXPECT_EQ(FirstByte(f.ssd->durable(), 3), 0);
  EXPECT_EQ(FirstByte(f.ssd->durable(), 4), 3);
  EXPECT_EQ(FirstByte(f.ssd->visible(), 3), 2);
  EXPECT_EQ(f.ssd->unflushed_writes(), 2u);
  EXPECT_EQ(f.faulty->counts(), (FaultCounts{.lying_flushes = 2}));
  ASSERT_EQ(f.fault_lines.size(), 2u);
  EXPECT_THAT(f.fault_lines[0], HasSubstr("fault.lyingflush #2"));
}

TEST(FaultyBlockDevice, DroppedFuaLeavesTheWriteInTheVolatileCache) {
  FaultPlan plan;
  plan.fua_dropped = true;
  Fixture f(plan);
  f.Run([&] {
    EXPECT_TRUE(f.Write(6, 1, 1, kFua).ok());
    EXPECT_EQ(FirstByte(f.ssd->durable(), 6), 0);
    EXPECT_TRUE(f.Write(7, 1, 2).ok());
    EXPECT_TRUE(f.Flush().ok());  // flushes still work
  });
  EXPECT_EQ(FirstByte(f.ssd->durable(), 6), 1);
  EXPECT_EQ(FirstByte(f.ssd->durable(), 7), 2);
  EXPECT_EQ(f.faulty->counts(), (FaultCounts{.fua_dropped = 1}));
  ASSERT_EQ(f.fault_lines.size(), 1u);
  EXPECT_THAT(f.fault_lines[0], HasSubstr("fault.fuadropped #1 sec 6+1"));
}

// --- Validation ---------------------------------------------------------------------

TEST(FaultPlanValidate, AcceptsEmptyAndSensiblePlans) {
  EXPECT_TRUE(Validate(FaultPlan{}, 64).ok());
  FaultPlan plan;
  plan.io_error_ordinals = {1, 5};
  plan.io_error_ppm = kPpm;
  plan.io_error_ops = kFaultWrite;
  plan.latent_sectors = {0, 63};
  plan.misdirected_writes = {3};
  plan.misdirect_offset = -63;
  plan.lying_flush = true;
  plan.fua_dropped = true;
  plan.fault_latency = runtime::Nanos(0);
  EXPECT_TRUE(Validate(plan, 64).ok());
}

TEST(FaultPlanValidate, RejectsImpossiblePlansSayingWhy) {
  struct Case {
    std::function<void(FaultPlan&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](FaultPlan& p) { p.io_error_ppm = kPpm + 1; }, "exceeds"},
      {[](FaultPlan& p) { p.io_error_ppm = 5, p.io_error_ops = 0; }, "applies to no IO kind"},
      {[](FaultPlan& p) { p.io_error_ops = 1u << 7; }, "name no IO kind"},
      {[](FaultPlan& p) { p.io_error_ordinals = {0, 3}; }, "ordinal 0"},
      {[](FaultPlan& p) { p.latent_sectors = {3, 64}; }, "latent sector 64 is beyond"},
      {[](FaultPlan& p) { p.misdirected_writes = {2}; }, "non-zero misdirect_offset"},
      {[](FaultPlan& p) { p.misdirected_writes = {0}, p.misdirect_offset = 1; }, "write 0"},
      {[](FaultPlan& p) { p.misdirected_writes = {1}, p.misdirect_offset = -64; },
       "not smaller than the device"},
      {[](FaultPlan& p) { p.fault_latency = runtime::Nanos(-1); }, "negative"},
  };
  for (const Case& c : cases) {
    FaultPlan plan;
    c.edit(plan);
    absl::Status status = Validate(plan, 64);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
  EXPECT_THAT(Validate(FaultPlan{}, 0).message(), HasSubstr("zero sectors"));
}

TEST(FaultPlanValidate, CreateRefusesAPlanThatDoesNotFitTheDevice) {
  sim::World world(1);
  sim::SimSsdOptions options;
  options.sectors = 16;
  auto ssd = *sim::SimSsd::Create(world, options);
  FaultPlan plan;
  plan.latent_sectors = {16};
  auto faulty = FaultyBlockDevice::Create(world, *ssd, plan);
  EXPECT_EQ(faulty.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace powercut::faults
