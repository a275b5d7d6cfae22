// Unit tests of the write-back cache engine in SSD mode, on simulated devices.
#include "engine/writecache/writecache.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/io/io_batch.h"
#include "gtest/gtest.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::writecache {
namespace {

using io::kFua;
using io::kNoFlags;

constexpr uint64_t kOriginSectors = 2048;  // 1 MiB
constexpr uint64_t kBlock = 8;             // sectors per 4 KiB block

// Records every write and flush a device sees, then forwards it. Optionally fails
// writes or flushes, and tracks how many writes are in flight.
class Recorder : public io::BlockDeviceWrapper {
 public:
  explicit Recorder(io::BlockDevice& target) : BlockDeviceWrapper(target) {}
  void SubmitWrite(uint64_t sector, std::span<const std::byte> data, uint32_t flags,
                   io::IoCallback done) override {
    Log(absl::StrCat("W", sector, "+", data.size() / 512, (flags & kFua) ? " fua" : "",
                     sector == watch ? absl::StrCat(" magic=", data[0] != std::byte{0}) : ""));
    if (fail_writes) return done(absl::DataLossError("injected write error"));
    max_writes_in_flight = std::max(max_writes_in_flight, ++writes_in_flight);
    BlockDeviceWrapper::SubmitWrite(sector, data, flags, [this, done = std::move(done)](absl::Status s) mutable {
      --writes_in_flight;
      done(std::move(s));
    });
  }
  void SubmitFlush(io::IoCallback done) override {
    Log("F");
    if (fail_flushes) return done(absl::DataLossError("injected flush error"));
    BlockDeviceWrapper::SubmitFlush(std::move(done));
  }
  void Log(std::string entry) {
    if (shared != nullptr) shared->push_back(absl::StrCat(name(), " ", entry));
    log.push_back(std::move(entry));
  }
  std::vector<std::string> log;
  std::vector<std::string>* shared = nullptr;  // both devices' events, in order
  uint64_t watch = ~0ull;  // writes starting here also log whether byte 0 is set
  bool fail_flushes = false;
  bool fail_writes = false;
  int writes_in_flight = 0;
  int max_writes_in_flight = 0;
};

std::vector<std::byte> Pattern(uint64_t sectors, uint8_t tag) {
  std::vector<std::byte> data(sectors * 512);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte(static_cast<uint8_t>(tag + i / 512));
  return data;
}

struct Rig {
  // A cache of `cache_blocks` 4 KiB blocks (plus one metadata block) after
  // `start_sector` sectors of the cache device.
  explicit Rig(std::string options = "", uint64_t cache_blocks = 16, uint64_t start_sector = 0,
               uint64_t seed = 1, std::optional<sim::DiskImage> cache_image = std::nullopt,
               std::optional<sim::DiskImage> origin_image = std::nullopt)
      : world(seed) {
    sim::SimSsdOptions o;
    o.name = "origin";
    o.sectors = kOriginSectors;
    origin = *sim::SimSsd::Create(world, o, std::move(origin_image));
    sim::SimSsdOptions c;
    c.name = "ssd";
    c.sectors = start_sector + (cache_blocks + 1) * kBlock;
    cache = *sim::SimSsd::Create(world, c, std::move(cache_image));
    cache_recorder = std::make_unique<Recorder>(*cache);
    origin_recorder = std::make_unique<Recorder>(*origin);
    cache_recorder->shared = &events;
    origin_recorder->shared = &events;
    std::string table = absl::StrCat("s origin ssd 4096 ", options.empty() ? "0" : options);
    if (start_sector != 0) {
      // Prepend start_sector to the optional arguments.
      std::vector<std::string> words = absl::StrSplit(options.empty() ? "0" : options, ' ');
      const int count = std::stoi(words[0]) + 2;
      words.erase(words.begin());
      table = absl::StrCat("s origin ssd 4096 ", count, " start_sector ", start_sector);
      for (const std::string& w : words) absl::StrAppend(&table, " ", w);
    }
    absl::StatusOr<Params> params = ParseTable(table);
    EXPECT_TRUE(params.ok()) << params.status();
    absl::StatusOr<std::unique_ptr<WriteCache>> made =
        WriteCache::Create(world.scheduler(), *origin_recorder, *cache_recorder, *params);
    EXPECT_TRUE(made.ok()) << made.status();
    if (made.ok()) wc = std::move(*made);
  }
  ~Rig() {
    world.Halt();
    wc.reset();
  }
  runtime::Scheduler& sched() { return world.scheduler(); }

  // Runs `body` in a fiber (after Start() unless told otherwise) until it returns.
  void Run(const std::function<void()>& body, bool start = true) {
    sched().Spawn("test", [&, start] {
      if (start) {
        absl::Status started = wc->Start();
        ASSERT_TRUE(started.ok()) << started;
      }
      body();
    });
    absl::Status run = world.Run(runtime::Seconds(3600));
    ASSERT_TRUE(run.ok()) << run;
  }

  absl::Status Write(uint64_t sector, const std::vector<std::byte>& data, uint32_t flags = kNoFlags) {
    return io::WriteSync(sched(), *wc, sector, data, flags);
  }
  std::vector<std::byte> Read(uint64_t sector, uint64_t sectors) {
    std::vector<std::byte> out(sectors * 512);
    EXPECT_TRUE(io::ReadSync(sched(), *wc, sector, out).ok());
    return out;
  }
  absl::Status Flush() { return io::FlushSync(sched(), *wc); }

  // Parsed durable metadata of the cache device.
  ParsedMetadata DurableMetadata(uint64_t start_sector = 0) const {
    std::vector<std::byte> bytes(wc->geometry().metadata_bytes);
    cache->durable().Read(start_sector, bytes);
    absl::StatusOr<ParsedMetadata> parsed = ParseMetadata(bytes);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : ParsedMetadata{};
  }
  std::vector<std::byte> DurableCacheBlock(uint64_t index) const {
    std::vector<std::byte> out(4096);
    cache->durable().Read(wc->CacheSector(index), out);
    return out;
  }
  std::vector<std::byte> DurableOrigin(uint64_t sector, uint64_t sectors) const {
    std::vector<std::byte> out(sectors * 512);
    origin->durable().Read(sector, out);
    return out;
  }
  std::vector<std::string> Status() const { return absl::StrSplit(wc->StatusLine(), ' '); }

  sim::World world;
  std::vector<std::string> events;  // both devices, in submission order
  std::unique_ptr<sim::SimSsd> origin;
  std::unique_ptr<sim::SimSsd> cache;
  std::unique_ptr<Recorder> cache_recorder;
  std::unique_ptr<Recorder> origin_recorder;
  std::unique_ptr<WriteCache> wc;
};

// Committed entries of `m` for `sector`.
int CommittedFor(const ParsedMetadata& m, uint64_t sector) {
  int n = 0;
  for (const MemoryEntry& e : m.entries) n += m.IsCommitted(e) && e.original_sector == sector;
  return n;
}

// ---- Start and format ---------------------------------------------------------------

TEST(WriteCacheStart, ABlankCacheIsFormattedMagicLastAfterAFlush) {
  Rig rig("", 16, /*start_sector=*/24);
  rig.cache_recorder->watch = 24;
  rig.Run([&] {
    const std::vector<std::string>& log = rig.cache_recorder->log;
    // Read of the first block, then: the whole metadata area without the magic, flush,
    // the magic's region, flush.
    ASSERT_GE(log.size(), 4u);
    EXPECT_EQ(log[0], "W24+8 magic=0");
    EXPECT_EQ(log[1], "F");
    EXPECT_EQ(log[2], "W24+8 magic=1");
    EXPECT_EQ(log[3], "F");
  });
  const ParsedMetadata m = rig.DurableMetadata(24);
  EXPECT_EQ(m.superblock.n_blocks, 16u);
  EXPECT_EQ(m.superblock.seq_count, 0u);
  EXPECT_EQ(rig.wc->geometry().n_blocks, 16u);
  EXPECT_EQ(rig.wc->CacheSector(0), 24u + 8u);
  EXPECT_EQ(rig.wc->free_blocks(), 16u);
}

TEST(WriteCacheStart, APowerCutWhileFormattingLeavesAnEmptyCacheOrOneStartRefuses) {
  // Cut the power at every step of formatting, then start from each of a few crash
  // images: the cache is either empty and valid, or (magic still zero, version set)
  // refused as the kernel refuses it, never accepted half-initialized.
  int refused = 0, empty = 0;
  for (uint64_t step = 1;; ++step) {
    sim::World world(step);
    auto origin = *sim::SimSsd::Create(world, {.name = "o", .sectors = kOriginSectors});
    auto cache = *sim::SimSsd::Create(world, {.name = "c", .sectors = 24 + 17 * kBlock});
    const Params params = *ParseTable("s o c 4096 2 start_sector 24");
    auto wc = *WriteCache::Create(world.scheduler(), *origin, *cache, params);
    bool started = false;
    world.scheduler().Spawn("start", [&] { started = wc->Start().ok(); });
    world.CrashAfterSteps(step);
    const absl::Status run = world.Run();
    if (run.ok()) {
      ASSERT_TRUE(started);
      break;  // formatting finished before the cut
    }
    const sim::SsdCrashState state = cache->CrashState();
    sim::Prng prng(step);
    std::vector<sim::DiskImage> images;
    for (int i = 0; i < 6; ++i) images.push_back(state.Sample(prng));
    world.Halt();
    for (const sim::DiskImage& image : images) {
      sim::World after(step + 1000);
      auto o2 = *sim::SimSsd::Create(after, {.name = "o", .sectors = kOriginSectors});
      auto c2 = *sim::SimSsd::Create(after, {.name = "c", .sectors = 24 + 17 * kBlock}, image);
      auto wc2 = *WriteCache::Create(after.scheduler(), *o2, *c2, params);
      after.scheduler().Spawn("restart", [&] {
        const absl::Status s = wc2->Start();
        if (s.ok()) {
          ++empty;
          EXPECT_EQ(wc2->free_blocks(), 16u);
          EXPECT_EQ(wc2->seq_count(), 0u);
        } else {
          ++refused;
          EXPECT_NE(s.message().find("Invalid magic"), std::string_view::npos) << s;
        }
      });
      ASSERT_TRUE(after.Run().ok());
      after.Halt();
    }
    ASSERT_LT(step, 1000u);
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(empty, 0);
}

TEST(WriteCacheStart, AForeignOrMismatchedSuperblockFailsStart) {
  Rig blank;
  blank.Run([] {});
  const sim::DiskImage formatted = blank.cache->durable();
  {
    // A different block size in the table.
    sim::World world(1);
    auto origin = *sim::SimSsd::Create(world, {.name = "o", .sectors = kOriginSectors});
    auto cache = *sim::SimSsd::Create(world, {.name = "c", .sectors = 17 * kBlock}, formatted);
    auto wc = *WriteCache::Create(world.scheduler(), *origin, *cache, *ParseTable("s o c 512 0"));
    world.scheduler().Spawn("t", [&] {
      absl::Status s = wc->Start();
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(s.message().find("Block size does not match superblock"), std::string_view::npos) << s;
    });
    ASSERT_TRUE(world.Run().ok());
    world.Halt();
  }
  {
    // Not a writecache superblock at all.
    sim::DiskImage foreign(17 * kBlock);
    foreign.Put(0, sim::SplitIntoSectors(Pattern(1, 0x5a))[0]);
    sim::World world(1);
    auto origin = *sim::SimSsd::Create(world, {.name = "o", .sectors = kOriginSectors});
    auto cache = *sim::SimSsd::Create(world, {.name = "c", .sectors = 17 * kBlock}, foreign);
    auto wc = *WriteCache::Create(world.scheduler(), *origin, *cache, *ParseTable("s o c 4096 0"));
    world.scheduler().Spawn("t", [&] {
      absl::Status s = wc->Start();
      EXPECT_NE(s.message().find("Invalid magic"), std::string_view::npos) << s;
    });
    ASSERT_TRUE(world.Run().ok());
    world.Halt();
  }
}

TEST(WriteCacheStart, CreateRejectsParametersThatDoNotFitTheDevices) {
  sim::World world(1);
  auto origin = *sim::SimSsd::Create(world, {.name = "o", .sectors = kOriginSectors});
  auto cache = *sim::SimSsd::Create(world, {.name = "c", .sectors = 64});
  auto beyond = WriteCache::Create(world.scheduler(), *origin, *cache,
                                   *ParseTable("s o c 4096 2 start_sector 64"));
  EXPECT_EQ(beyond.status().code(), absl::StatusCode::kInvalidArgument);
  auto tiny = WriteCache::Create(world.scheduler(), *origin, *cache,
                                 *ParseTable("s o c 4096 2 start_sector 60"));
  EXPECT_NE(tiny.status().message().find("Invalid device size"), std::string_view::npos)
      << tiny.status();
  auto pmem = WriteCache::Create(world.scheduler(), *origin, *cache, *ParseTable("p o c 4096"));
  EXPECT_EQ(pmem.status().code(), absl::StatusCode::kInvalidArgument);
}

// ---- Writes, reads, flush --------------------------------------------------------

TEST(WriteCacheWrite, AWriteIsServedFromTheCacheAndTheOriginIsUntouched) {
  Rig rig;
  const auto data = Pattern(8, 1);
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(64, data).ok());
    EXPECT_EQ(rig.Read(64, 8), data);
    EXPECT_EQ(rig.Read(72, 8), std::vector<std::byte>(4096));
  });
  EXPECT_EQ(rig.origin->visible().stored_sectors(), 0u);
  EXPECT_EQ(rig.wc->free_blocks(), 15u);
  const std::vector<std::string> s = rig.Status();
  ASSERT_EQ(s.size(), 14u);
  EXPECT_EQ(s[0], "0");   // error
  EXPECT_EQ(s[1], "16");  // n_blocks
  EXPECT_EQ(s[2], "15");  // free
  EXPECT_EQ(s[6], "1");   // writes
  EXPECT_EQ(s[10], "1");  // writes_allocate
  EXPECT_EQ(s[4], "2");   // reads
  EXPECT_EQ(s[5], "1");   // read_hits
}

TEST(WriteCacheRead, DataRangesAreTheOriginsAndEveryCachedBlock) {
  Rig rig;
  using Ranges = std::vector<io::SectorRange>;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(64, Pattern(16, 1)).ok());  // two cached blocks
    ASSERT_TRUE(
        io::WriteSync(rig.sched(), *rig.origin, 1000, Pattern(4, 2), io::kNoFlags).ok());
    ASSERT_TRUE(io::WriteSync(rig.sched(), *rig.origin, 68, Pattern(8, 3), io::kNoFlags).ok());
    EXPECT_EQ(rig.wc->DataRanges(0, kOriginSectors), (Ranges{{64, 16}, {1000, 4}}));
    // Cut inside a cached block, and a window with nothing in it.
    EXPECT_EQ(rig.wc->DataRanges(70, 940), (Ranges{{70, 10}, {1000, 4}}));
    EXPECT_EQ(rig.wc->DataRanges(80, 900), Ranges{});
  });
}

TEST(WriteCacheWrite, AFlushCommitsDataEntriesAndSuperblockDurably) {
  Rig rig;
  const auto data = Pattern(8, 7);
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(128, data).ok());
    ParsedMetadata before = rig.DurableMetadata();
    EXPECT_EQ(before.superblock.seq_count, 0u);
    EXPECT_EQ(CommittedFor(before, 128), 0);
    ASSERT_TRUE(rig.Flush().ok());
  });
  const ParsedMetadata after = rig.DurableMetadata();
  EXPECT_EQ(after.superblock.seq_count, 1u);
  ASSERT_EQ(CommittedFor(after, 128), 1);
  EXPECT_EQ(rig.DurableCacheBlock(0), data);
  EXPECT_EQ(rig.wc->seq_count(), 1u);
  // The commit wrote the metadata, flushed, then the superblock with FUA; the flush was
  // also forwarded to the origin.
  const std::vector<std::string>& log = rig.cache_recorder->log;
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log[log.size() - 3], "W0+8");
  EXPECT_EQ(log[log.size() - 2], "F");
  EXPECT_EQ(log[log.size() - 1], "W0+8 fua");
  EXPECT_EQ(rig.origin_recorder->log, (std::vector<std::string>{"F"}));
}

TEST(WriteCacheWrite, AFlushWithNothingNewIsJustForwarded) {
  Rig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Flush().ok());
    ASSERT_TRUE(rig.Flush().ok());
  });
  EXPECT_EQ(rig.wc->seq_count(), 0u);
  EXPECT_EQ(rig.origin_recorder->log.size(), 2u);
}

TEST(WriteCacheWrite, UncommittedBlocksAreOverwrittenInPlace) {
  Rig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Write(0, Pattern(8, 2)).ok());
    EXPECT_EQ(rig.Read(0, 8), Pattern(8, 2));
  });
  EXPECT_EQ(rig.wc->free_blocks(), 15u);
  EXPECT_EQ(rig.wc->stats().write_hits_uncommitted, 1u);
}

TEST(WriteCacheWrite, CommittedBlocksAreOverwrittenInPlaceAndTheNextFlushMakesThemDurable) {
  Rig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    ASSERT_TRUE(rig.Write(0, Pattern(8, 2)).ok());
    EXPECT_EQ(rig.DurableCacheBlock(0), Pattern(8, 1));  // in the SSD's volatile cache
    const size_t flushes_before = rig.cache_recorder->log.size();
    ASSERT_TRUE(rig.Flush().ok());
    // Nothing new to commit: only a flush of the SSD (E6), no metadata write.
    ASSERT_EQ(rig.cache_recorder->log.size(), flushes_before + 1);
    EXPECT_EQ(rig.cache_recorder->log.back(), "F");
  });
  EXPECT_EQ(rig.wc->free_blocks(), 15u);
  EXPECT_EQ(rig.wc->seq_count(), 1u);
  EXPECT_EQ(rig.wc->stats().write_hits_committed, 1u);
  EXPECT_EQ(rig.DurableCacheBlock(0), Pattern(8, 2));
}

TEST(WriteCacheWrite, FollowingFreeBlocksExtendAWriteIntoOneIo) {
  Rig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(256, Pattern(32, 3)).ok());
    EXPECT_EQ(rig.Read(256, 32), Pattern(32, 3));
  });
  // One data write of four blocks, at the first data block.
  int data_writes = 0;
  for (const std::string& entry : rig.cache_recorder->log) data_writes += entry == "W8+32";
  EXPECT_EQ(data_writes, 1);
  EXPECT_EQ(rig.wc->stats().writes, 4u);
  EXPECT_EQ(rig.wc->stats().writes_allocate, 4u);
  EXPECT_EQ(rig.wc->free_blocks(), 12u);
}

TEST(WriteCacheWrite, AFullCacheSendsUncachedBlocksAroundItTrimmedAtTheNextCachedBlock) {
  // 4 blocks, writeback never starts (watermarks 0, no pause needed).
  Rig rig("4 high_watermark 0 low_watermark 0", 4);
  rig.Run([&] {
    for (uint64_t b = 0; b < 4; ++b) ASSERT_TRUE(rig.Write(b * 2 * kBlock + 64, Pattern(8, 1)).ok());
    // Cached: 64, 80, 96, 112. A write of 72..96 goes around for 72 only, then 80 is
    // cached (in place), then 88 goes around.
    ASSERT_EQ(rig.wc->free_blocks(), 0u);
    ASSERT_TRUE(rig.Write(72, Pattern(24, 9)).ok());
    EXPECT_EQ(rig.Read(72, 24), Pattern(24, 9));
  });
  EXPECT_EQ(rig.wc->stats().writes_around, 2u);
  EXPECT_EQ(rig.wc->stats().write_hits_uncommitted, 1u);
  const std::vector<std::byte> written = Pattern(24, 9);
  std::vector<std::byte> around(8 * 512);
  rig.origin->visible().Read(72, around);
  EXPECT_EQ(around, std::vector<std::byte>(written.begin(), written.begin() + 4096));
  rig.origin->visible().Read(80, around);
  EXPECT_EQ(around, std::vector<std::byte>(4096));  // the cached block did not go around
}

TEST(WriteCacheWrite, UnalignedRequestsAreRejected) {
  Rig rig;
  rig.Run([&] {
    EXPECT_EQ(rig.Write(4, Pattern(8, 1)).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(rig.Write(8, Pattern(4, 1)).code(), absl::StatusCode::kInvalidArgument);
    std::vector<std::byte> out(512);
    EXPECT_EQ(io::ReadSync(rig.sched(), *rig.wc, 0, out).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(io::DiscardSync(rig.sched(), *rig.wc, 3, 8).code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(rig.Write(kOriginSectors, Pattern(8, 1)).code(), absl::StatusCode::kOutOfRange);
  });
  EXPECT_EQ(rig.wc->free_blocks(), 16u);
}

TEST(WriteCacheWrite, FuaDoesNotCommitInSsdMode) {
  Rig rig;
  rig.Run([&] { ASSERT_TRUE(rig.Write(0, Pattern(8, 5), kFua).ok()); });
  // The data block is durable, its entry is not: the kernel's SSD-mode behaviour.
  EXPECT_EQ(rig.DurableCacheBlock(0), Pattern(8, 5));
  EXPECT_EQ(CommittedFor(rig.DurableMetadata(), 0), 0);
}

// ---- Autocommit ----------------------------------------------------------------------

TEST(WriteCacheAutocommit, CommitsAfterAutocommitBlocksWithoutAFlush) {
  Rig rig("2 autocommit_blocks 3");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Write(8, Pattern(16, 1)).ok());  // the third block
    rig.sched().SleepFor(runtime::Milliseconds(50));  // the flush work runs
  });
  EXPECT_EQ(rig.wc->seq_count(), 1u);
  EXPECT_EQ(CommittedFor(rig.DurableMetadata(), 16), 1);
}

TEST(WriteCacheAutocommit, CommitsAutocommitTimeAfterAWrite) {
  Rig rig("2 autocommit_time 100");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    rig.sched().SleepFor(runtime::Milliseconds(50));
    EXPECT_EQ(rig.wc->seq_count(), 0u);
    rig.sched().SleepFor(runtime::Milliseconds(100));
    EXPECT_EQ(rig.wc->seq_count(), 1u);
  });
  EXPECT_EQ(CommittedFor(rig.DurableMetadata(), 0), 1);
}

// ---- Recovery --------------------------------------------------------------------------

TEST(WriteCacheRecovery, CommittedEntriesSurviveAndUncommittedOnesAreFreed) {
  sim::DiskImage cache_image;
  {
    Rig rig;
    rig.Run([&] {
      ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
      ASSERT_TRUE(rig.Flush().ok());
      ASSERT_TRUE(rig.Write(8, Pattern(8, 2)).ok());
      ASSERT_TRUE(rig.Write(0, Pattern(8, 3)).ok());  // overwrites in place, not flushed
    });
    cache_image = rig.cache->visible();  // everything landed, nothing more
    // Make the entry of sector 8 look durable-but-uncommitted: write it with seq 1.
    std::vector<std::byte> meta(4096);
    cache_image.Read(0, meta);
    StoreU64(meta, Geometry::EntryOffset(1), 8);
    StoreU64(meta, Geometry::EntryOffset(1) + 8, 1);
    auto sectors = sim::SplitIntoSectors(meta);
    for (uint64_t i = 0; i < 8; ++i) cache_image.Put(i, sectors[i]);
  }
  Rig rig("", 16, 0, 2, cache_image);
  rig.Run([&] {
    EXPECT_EQ(rig.Read(0, 8), Pattern(8, 3));  // the in-place overwrite had landed
    EXPECT_EQ(rig.Read(8, 8), std::vector<std::byte>(4096));  // uncommitted: origin
  });
  EXPECT_EQ(rig.wc->free_blocks(), 15u);
  // The uncommitted entry was rewritten as free, durably.
  const ParsedMetadata m = rig.DurableMetadata();
  EXPECT_EQ(m.entries[1].seq_count, kFreeSeq);
  EXPECT_EQ(CommittedFor(m, 0), 1);
}

// Builds a cache image whose entries are `entries` (index -> (sector, seq)) with
// superblock seq `seq`, data block i filled with Pattern(8, i).
sim::DiskImage CraftedCache(uint64_t seq, const std::vector<std::pair<uint64_t, uint64_t>>& entries) {
  const Geometry g = *ComputeGeometry(17 * 4096, 4096);
  std::vector<std::byte> meta = FormattedMetadata(g);
  StoreU32(meta, kMagicOffset, kMagic);
  StoreU64(meta, kSeqCountOffset, seq);
  for (size_t i = 0; i < entries.size(); ++i) {
    EncodeEntry(MemoryEntry{entries[i].first, entries[i].second},
                std::span<std::byte>(meta).subspan(Geometry::EntryOffset(i), 16));
  }
  sim::DiskImage image(17 * kBlock);
  auto sectors = sim::SplitIntoSectors(meta);
  for (uint64_t i = 0; i < sectors.size(); ++i) image.Put(i, sectors[i]);
  for (size_t i = 0; i < entries.size(); ++i) {
    auto data = sim::SplitIntoSectors(Pattern(8, static_cast<uint8_t>(16 * i)));
    for (uint64_t s = 0; s < 8; ++s) image.Put(g.DataSector(i) + s, data[s]);
  }
  return image;
}

TEST(WriteCacheRecovery, OfTwoCommittedDuplicatesTheHigherSeqWinsAndTheLoserIsFreedDurably) {
  // Entries 0 and 2 both map sector 40; entry 2 has the higher seq. Entry 1 is
  // uncommitted (seq == superblock seq).
  Rig rig("", 16, 0, 1, CraftedCache(5, {{40, 3}, {48, 5}, {40, 4}, {56, 2}}));
  rig.Run([&] {
    EXPECT_EQ(rig.Read(40, 8), Pattern(8, 32));
    EXPECT_EQ(rig.Read(56, 8), Pattern(8, 48));
    EXPECT_EQ(rig.Read(48, 8), std::vector<std::byte>(4096));
  });
  EXPECT_FALSE(rig.wc->has_error());
  EXPECT_EQ(rig.wc->free_blocks(), 14u);
  const ParsedMetadata m = rig.DurableMetadata();
  EXPECT_EQ(m.entries[0].seq_count, kFreeSeq);
  EXPECT_EQ(m.entries[1].seq_count, kFreeSeq);
  EXPECT_EQ(m.entries[2].seq_count, 4u);
  EXPECT_EQ(CommittedFor(m, 40), 1);
}

TEST(WriteCacheRecovery, EqualSeqDuplicatesSetTheStickyErrorAndTheLaterIndexWins) {
  Rig rig("", 16, 0, 1, CraftedCache(5, {{40, 3}, {40, 3}}));
  rig.Run([&] {
    EXPECT_EQ(rig.Read(40, 8), Pattern(8, 16));  // reads still work
    EXPECT_FALSE(rig.Write(0, Pattern(8, 1)).ok());
    EXPECT_FALSE(rig.Flush().ok());
    EXPECT_FALSE(io::DiscardSync(rig.sched(), *rig.wc, 0, 8).ok());
  });
  EXPECT_TRUE(rig.wc->has_error());
  EXPECT_EQ(rig.Status()[0], "1");
}

// ---- Errors ----------------------------------------------------------------------

TEST(WriteCacheErrors, AFailedCommitFlushIsStickyAndFailsLaterWritesButNotReads) {
  Rig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    rig.cache_recorder->fail_flushes = true;
    EXPECT_FALSE(rig.Flush().ok());
    rig.cache_recorder->fail_flushes = false;
    EXPECT_TRUE(rig.wc->has_error());
    EXPECT_FALSE(rig.Write(8, Pattern(8, 2)).ok());
    EXPECT_FALSE(rig.Flush().ok());
    EXPECT_EQ(rig.Read(0, 8), Pattern(8, 1));
    EXPECT_FALSE(rig.wc->Message("flush").ok());
  });
}

// ---- Discard ---------------------------------------------------------------------

TEST(WriteCacheDiscard, DiscardFreesCachedBlocksDurablyAndReachesTheOrigin) {
  Rig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(16, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    ASSERT_TRUE(io::DiscardSync(rig.sched(), *rig.wc, 0, 8).ok());
    EXPECT_EQ(rig.Read(0, 8), std::vector<std::byte>(4096));
    const std::vector<std::byte> written = Pattern(16, 1);
    EXPECT_EQ(rig.Read(8, 8), std::vector<std::byte>(written.begin() + 4096, written.end()));
  });
  EXPECT_EQ(rig.wc->free_blocks(), 15u);
  EXPECT_EQ(rig.wc->seq_count(), 1u);  // a discard does not commit
  EXPECT_EQ(CommittedFor(rig.DurableMetadata(), 0), 0);
  EXPECT_EQ(CommittedFor(rig.DurableMetadata(), 8), 1);
  EXPECT_EQ(rig.wc->stats().discards, 1u);
}

// ---- Writeback -------------------------------------------------------------------

TEST(WriteCacheWriteback, TheFlushMessageWritesEverythingBackDurably) {
  Rig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Write(80, Pattern(16, 2)).ok());
    ASSERT_TRUE(rig.wc->Message("flush").ok());
  });
  EXPECT_EQ(rig.wc->free_blocks(), 16u);
  EXPECT_EQ(rig.wc->writeback_blocks(), 0u);
  EXPECT_EQ(rig.DurableOrigin(0, 8), Pattern(8, 1));
  EXPECT_EQ(rig.DurableOrigin(80, 16), Pattern(16, 2));
  const ParsedMetadata m = rig.DurableMetadata();
  for (const MemoryEntry& e : m.entries) EXPECT_EQ(e.seq_count, kFreeSeq);
}

TEST(WriteCacheWriteback, StartsAtTheHighWatermarkAndStopsAtTheLowOne) {
  // 16 blocks, high 50% -> writeback once 8 or fewer are free; low 25% -> it picks
  // blocks while free + under writeback <= 12. The blocks are not contiguous, so each
  // is a copy job of its own: 5 are picked (8 + 5 > 12).
  Rig rig("6 high_watermark 50 low_watermark 25 pause_writeback 0");
  rig.Run([&] {
    for (uint64_t b = 0; b < 7; ++b) ASSERT_TRUE(rig.Write(b * 2 * kBlock, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    rig.sched().SleepFor(runtime::Milliseconds(100));
    EXPECT_EQ(rig.wc->free_blocks(), 9u);  // above the high watermark: no writeback
    ASSERT_TRUE(rig.Write(14 * 2 * kBlock, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    rig.sched().SleepFor(runtime::Milliseconds(100));
  });
  EXPECT_EQ(rig.wc->free_blocks(), 13u);
  EXPECT_EQ(rig.wc->stats().writes_around, 0u);
}

// Index of the first event at or after `from` that starts with `prefix`.
size_t Find(const std::vector<std::string>& events, const std::string& prefix, size_t from = 0) {
  for (size_t i = from; i < events.size(); ++i) {
    if (events[i].rfind(prefix, 0) == 0) return i;
  }
  return events.size();
}

TEST(WriteCacheWriteback, CompletionFlushesTheOriginThenMakesTheFreeDurableBeforeReuse) {
  Rig rig("2 pause_writeback 0");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    rig.events.clear();
    ASSERT_TRUE(rig.wc->Message("flush").ok());
  });
  const std::vector<std::string>& e = rig.events;
  const size_t copy = Find(e, "origin W0+8");
  const size_t origin_flush = Find(e, "origin F", copy);
  const size_t free_write = Find(e, "ssd W0+8", origin_flush);  // the free (seq -1)
  const size_t free_flush = Find(e, "ssd F", free_write);
  ASSERT_LT(copy, e.size());
  EXPECT_LT(origin_flush, e.size()) << "W1: the origin is flushed before the entry is freed";
  EXPECT_LT(free_write, e.size());
  EXPECT_LT(free_flush, e.size()) << "W2: the free is durable before the lock is dropped";
  EXPECT_EQ(rig.DurableOrigin(0, 8), Pattern(8, 1));
  EXPECT_EQ(rig.DurableMetadata().entries[0].seq_count, kFreeSeq);
}

TEST(WriteCacheWriteback, WritebackJobsCapsTheBlocksInFlight) {
  Rig rig("4 writeback_jobs 1 pause_writeback 0");
  rig.Run([&] {
    // Blocks of sectors 0, 16, 32, ...: no two contiguous, so each is a job of its own.
    for (uint64_t b = 0; b < 6; ++b) ASSERT_TRUE(rig.Write(b * 2 * kBlock, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.wc->Message("flush").ok());
  });
  EXPECT_EQ(rig.origin_recorder->max_writes_in_flight, 1);
  EXPECT_EQ(rig.wc->free_blocks(), 16u);

  Rig unlimited("2 pause_writeback 0");
  unlimited.Run([&] {
    for (uint64_t b = 0; b < 6; ++b) ASSERT_TRUE(unlimited.Write(b * 2 * kBlock, Pattern(8, 1)).ok());
    ASSERT_TRUE(unlimited.wc->Message("flush").ok());
  });
  EXPECT_GT(unlimited.origin_recorder->max_writes_in_flight, 1);
}

TEST(WriteCacheWriteback, TheOldestBlockGoesFirst) {
  // 4 blocks, both watermarks 90%: writeback starts when no block is free and picks
  // blocks while free + under writeback <= 0: exactly one, the oldest.
  Rig rig("6 high_watermark 90 low_watermark 90 pause_writeback 0", 4);
  rig.Run([&] {
    for (uint64_t s : {uint64_t{96}, uint64_t{16}, uint64_t{64}}) {
      ASSERT_TRUE(rig.Write(s, Pattern(8, 1)).ok());
    }
    ASSERT_TRUE(rig.Flush().ok());
    rig.events.clear();
    ASSERT_TRUE(rig.Write(200, Pattern(8, 1)).ok());
    rig.sched().SleepFor(runtime::Milliseconds(50));
  });
  EXPECT_EQ(Find(rig.events, "origin W"), Find(rig.events, "origin W96+8"));
  EXPECT_LT(Find(rig.events, "origin W96+8"), rig.events.size());
}

TEST(WriteCacheWriteback, ContiguousBlocksAreCopiedAsOneJob) {
  Rig rig("2 pause_writeback 0");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(40, Pattern(24, 1)).ok());  // three blocks, three entries
    ASSERT_TRUE(rig.wc->Message("flush").ok());
  });
  EXPECT_LT(Find(rig.events, "origin W40+24"), rig.events.size());
  EXPECT_EQ(rig.DurableOrigin(40, 24), Pattern(24, 1));
}

TEST(WriteCacheWriteback, WritesAroundTheCachePauseWriteback) {
  // One block: the second write goes around; writeback waits 50 ms after it.
  Rig rig("4 pause_writeback 50 high_watermark 100", 1);
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    ASSERT_TRUE(rig.Write(64, Pattern(8, 2)).ok());  // around the full cache
    rig.sched().SleepFor(runtime::Milliseconds(30));
    EXPECT_EQ(rig.wc->free_blocks(), 0u);
    rig.sched().SleepFor(runtime::Milliseconds(40));
    EXPECT_EQ(rig.wc->free_blocks(), 1u);
  });
  EXPECT_EQ(rig.wc->stats().writes_around, 1u);
}

TEST(WriteCacheWriteback, MaxAgeWritesBackOldBlocksWithoutPressure) {
  Rig rig("4 max_age 20 pause_writeback 0");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    rig.sched().SleepFor(runtime::Milliseconds(5));
    EXPECT_EQ(rig.wc->free_blocks(), 15u);
    rig.sched().SleepFor(runtime::Milliseconds(40));
    EXPECT_EQ(rig.wc->free_blocks(), 16u);
  });
  EXPECT_EQ(rig.DurableOrigin(0, 8), Pattern(8, 1));
}

TEST(WriteCacheWriteback, TheCleanerSendsNewBlocksAroundAndEmptiesTheCache) {
  Rig rig("2 pause_writeback 0");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    ASSERT_TRUE(rig.wc->Message("cleaner").ok());
    ASSERT_TRUE(rig.Write(64, Pattern(8, 2)).ok());  // uncached: around the cache
    rig.sched().SleepFor(runtime::Milliseconds(50));
    EXPECT_EQ(rig.Read(0, 8), Pattern(8, 1));
  });
  EXPECT_EQ(rig.wc->stats().writes_around, 1u);
  EXPECT_EQ(rig.wc->free_blocks(), 16u);
  EXPECT_EQ(rig.DurableOrigin(0, 8), Pattern(8, 1));
}

TEST(WriteCacheWriteback, AFailedCopyIsStickyAndItsBlocksStayCached) {
  Rig rig("2 pause_writeback 0");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    rig.origin_recorder->fail_writes = true;
    EXPECT_FALSE(rig.wc->Message("flush").ok());
    rig.origin_recorder->fail_writes = false;
    EXPECT_EQ(rig.Read(0, 8), Pattern(8, 1));  // still served from the cache
  });
  EXPECT_TRUE(rig.wc->has_error());
  EXPECT_EQ(rig.wc->free_blocks(), 15u);
  EXPECT_EQ(rig.wc->writeback_blocks(), 0u);
}

TEST(WriteCacheWriteback, ABlockUnderWritebackGetsANewerDuplicateAndWinsAfterwards) {
  Rig rig("2 pause_writeback 0");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.Flush().ok());
    // Start the writeback of block 0 in the background, and write it while the copy
    // is in flight.
    runtime::Event flushed(rig.sched(), "flush message");
    rig.sched().Spawn("flusher", [&] {
      EXPECT_TRUE(rig.wc->Message("flush").ok());
      flushed.Set();
    });
    while (rig.wc->writeback_blocks() == 0) rig.sched().SleepFor(runtime::Microseconds(5));
    ASSERT_TRUE(rig.Write(0, Pattern(8, 2)).ok());
    EXPECT_EQ(rig.Read(0, 8), Pattern(8, 2));
    flushed.Wait();
    ASSERT_TRUE(rig.Flush().ok());
  });
  EXPECT_EQ(rig.wc->stats().write_hits_committed, 1u);
  EXPECT_EQ(rig.wc->stats().writes_allocate, 2u);
  const ParsedMetadata m = rig.DurableMetadata();
  EXPECT_EQ(CommittedFor(m, 0), 1);
}

// ---- Lifecycle -------------------------------------------------------------------

TEST(WriteCacheLifecycle, SuspendCommitsAndHoldsRequestsUntilResume) {
  Rig rig;
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.wc->Suspend().ok());
    EXPECT_EQ(CommittedFor(rig.DurableMetadata(), 0), 1);  // suspend commits
    bool written = false;
    rig.sched().Spawn("late writer", [&] {
      EXPECT_TRUE(rig.Write(8, Pattern(8, 2)).ok());
      written = true;
    });
    rig.sched().SleepFor(runtime::Milliseconds(10));
    EXPECT_FALSE(written);
    EXPECT_EQ(rig.wc->Message("flush").code(), absl::StatusCode::kFailedPrecondition);
    ASSERT_TRUE(rig.wc->Resume().ok());
    while (!written) rig.sched().SleepFor(runtime::Milliseconds(1));
    EXPECT_EQ(rig.Read(0, 8), Pattern(8, 1));
    EXPECT_EQ(rig.Read(8, 8), Pattern(8, 2));
  });
}

TEST(WriteCacheLifecycle, FlushOnSuspendWritesEverythingBack) {
  Rig rig("2 pause_writeback 0");
  rig.Run([&] {
    ASSERT_TRUE(rig.Write(0, Pattern(8, 1)).ok());
    ASSERT_TRUE(rig.wc->Message("flush_on_suspend").ok());
    ASSERT_TRUE(rig.wc->Suspend().ok());
    EXPECT_EQ(rig.wc->free_blocks(), 16u);
    ASSERT_TRUE(rig.wc->Resume().ok());
  });
  EXPECT_EQ(rig.DurableOrigin(0, 8), Pattern(8, 1));
}

TEST(WriteCacheMessages, UnknownMessagesAndArgumentsAreRejected) {
  Rig rig;
  rig.Run([&] {
    EXPECT_EQ(rig.wc->Message("frobnicate").code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(rig.wc->Message("flush now").code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(rig.wc->Message("clear_stats").ok());
    EXPECT_TRUE(rig.wc->Message("flush_on_suspend").ok());
  });
  EXPECT_EQ(rig.wc->TableLine(), "s origin ssd 4096 0");
}

}  // namespace
}  // namespace powercut::writecache
