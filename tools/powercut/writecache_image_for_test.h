// A cache-device image made by the write-back cache engine itself, for the inspect
// e2e tests: the engine formats a blank 64-block, 4 KiB-block cache at `start_sector`
// in front of a 1024-sector origin, then 10 blocks (sectors 0, 8, ..., 72) are written
// and flushed, and 2 more (80, 88) written and flushed. The result is the cache
// device's durable content: 12 committed entries, 52 free, seq_count 2.
#ifndef POWERCUT_TOOLS_POWERCUT_WRITECACHE_IMAGE_FOR_TEST_H_
#define POWERCUT_TOOLS_POWERCUT_WRITECACHE_IMAGE_FOR_TEST_H_

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/io/io_batch.h"
#include "engine/writecache/writecache.h"
#include "sim/sim_ssd.h"
#include "sim/world.h"

namespace powercut::tools {

inline std::string EngineWriteCacheImage(uint64_t start_sector) {
  constexpr uint64_t kBlocks = 64;
  constexpr uint32_t kBlockSize = 4096;
  const uint64_t cache_sectors =
      start_sector + (writecache::MetadataBytes(kBlocks, kBlockSize) + kBlocks * kBlockSize) / 512;
  sim::World world(/*seed=*/1);
  auto check = [](const absl::Status& status) {
    if (!status.ok()) throw std::runtime_error(status.ToString());
  };
  auto origin = sim::SimSsd::Create(world, {.name = "origin", .sectors = 1024});
  auto cache = sim::SimSsd::Create(world, {.name = "cache", .sectors = cache_sectors});
  check(origin.status());
  check(cache.status());
  auto params = writecache::ParseTable(absl::StrCat("s origin cache 4096 2 start_sector ", start_sector));
  check(params.status());
  auto engine = writecache::WriteCache::Create(world.scheduler(), **origin, **cache, *params);
  check(engine.status());
  writecache::WriteCache& wc = **engine;
  absl::Status outcome;
  world.scheduler().Spawn("writer", [&] {
    std::vector<std::byte> block(kBlockSize, std::byte{0x5a});
    outcome = wc.Start();
    for (uint64_t sector = 0; sector < 96 && outcome.ok(); sector += 8) {
      outcome = io::WriteSync(world.scheduler(), wc, sector, block, io::kNoFlags);
      if (outcome.ok() && (sector == 72 || sector == 88)) outcome = io::FlushSync(world.scheduler(), wc);
    }
  });
  check(world.Run());
  check(outcome);
  world.Halt();
  std::string bytes(cache_sectors * 512, '\0');
  (*cache)->durable().Read(0, std::as_writable_bytes(std::span<char>(bytes)));
  return bytes;
}

}  // namespace powercut::tools

#endif  // POWERCUT_TOOLS_POWERCUT_WRITECACHE_IMAGE_FOR_TEST_H_
