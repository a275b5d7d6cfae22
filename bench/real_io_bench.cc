// The engines over real files (engine/posix), against fio on the same file with the
// same pattern: 4 KiB random writes, io_uring, O_DIRECT, 32 in flight.
//
//   RealIo/LinearAgainstFio/RandomWrite4K   LinearMap over a FileBlockDevice (32 writer
//                                       fibers) and fio (a child, its JSON read back) on
//                                       the same file, paired: fio_iops, linear_iops,
//                                       linear_over_fio
//   RealIo/WriteCache/RandomWrite4K     dm-writecache (SSD mode) over two files: writes
//                                       that fit in the cache, no writeback (watermarks 100)
//   RealIo/WriteCache/ReadHit4K         reads of blocks the cache holds
//   RealIo/WriteCache/Writeback         bytes written back to the origin per second
//                                       (the "flush" message on a full cache)
// items_per_second is IOPS (bytes_per_second for writeback). Target: linear_over_fio
// >= 0.9. The files live in $POWERCUT_BENCH_DIR (default: a temporary folder under
// /var/tmp, which is on disk where /tmp may be tmpfs) and are preallocated, so neither
// side pays for block allocation. A machine without io_uring or fio skips with the
// reason.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/io/io_batch.h"
#include "engine/linear/linear_map.h"
#include "engine/posix/file_block_device.h"
#include "engine/posix/uring_reactor.h"
#include "engine/runtime/scheduler.h"
#include "engine/writecache/writecache.h"
#include "nlohmann/json.hpp"
#include "sim/prng.h"

namespace powercut {
namespace {

constexpr uint64_t kFileBytes = uint64_t{1} << 30;
constexpr int kDepth = 32;
constexpr uint64_t kIosPerIteration = 50000;
constexpr uint32_t kBlock = 4096;

// One request's buffer, aligned for O_DIRECT as fio's are (no bounce copy).
struct alignas(4096) Block {
  std::byte bytes[kBlock];
  std::span<std::byte> span() { return bytes; }
};

std::vector<Block> Buffers(std::byte fill) {
  std::vector<Block> buffers(kDepth);
  for (Block& block : buffers) std::fill(std::begin(block.bytes), std::end(block.bytes), fill);
  return buffers;
}

// The benchmark's folder and its preallocated files, made once per process.
class BenchFiles {
 public:
  static BenchFiles& Get() {
    static BenchFiles files;
    return files;
  }
  // A file of `bytes`, preallocated (fallocate), made on first use.
  const std::string& File(const std::string& name, uint64_t bytes) {
    auto [it, added] = paths_.try_emplace(name, (dir_ / name).string());
    if (added) {
      const int fd = open(it->second.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || posix_fallocate(fd, 0, static_cast<off_t>(bytes)) != 0) {
        std::perror(it->second.c_str());
        std::exit(1);
      }
      close(fd);
    }
    return it->second;
  }
  ~BenchFiles() { std::filesystem::remove_all(dir_); }

 private:
  BenchFiles() {
    const char* dir = std::getenv("POWERCUT_BENCH_DIR");
    std::string pattern = std::string(dir != nullptr ? dir : "/var/tmp") + "/powercut-bench.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror(pattern.c_str());
      std::exit(1);
    }
    dir_ = pattern;
  }
  std::filesystem::path dir_;
  std::map<std::string, std::string> paths_;
};

// A reactor and a scheduler, or the reason there are none.
struct RealRuntime {
  std::unique_ptr<posix::UringReactor> reactor;
  std::unique_ptr<runtime::Scheduler> scheduler;
};

bool MakeRuntime(benchmark::State& state, RealRuntime& runtime) {
  absl::StatusOr<std::unique_ptr<posix::UringReactor>> reactor = posix::UringReactor::Create();
  if (!reactor.ok()) {
    state.SkipWithError(std::string(reactor.status().message()).c_str());
    return false;
  }
  runtime.reactor = *std::move(reactor);
  runtime.scheduler = std::make_unique<runtime::Scheduler>(*runtime.reactor);
  return true;
}

std::unique_ptr<posix::FileBlockDevice> OpenFile(RealRuntime& runtime, const std::string& path) {
  auto file = posix::FileBlockDevice::Open(*runtime.reactor, path, {});
  if (!file.ok()) {
    std::fprintf(stderr, "%s\n", std::string(file.status().message()).c_str());
    std::exit(1);
  }
  return *std::move(file);
}

// kDepth fibers issue `ios` requests between them, each one from `issue` (which blocks
// until its request completes); returns the wall-clock seconds it took.
double RunDepth(runtime::Scheduler& scheduler, uint64_t ios,
                const std::function<absl::Status(int fiber, sim::Prng& prng)>& issue) {
  uint64_t left = ios;
  absl::Status failed;
  for (int f = 0; f < kDepth; ++f) {
    scheduler.Spawn("io", [&, f] {
      sim::Prng prng(static_cast<uint64_t>(f) + 1);
      while (left > 0 && failed.ok()) {
        --left;
        absl::Status status = issue(f, prng);
        if (!status.ok()) failed = status;
      }
    });
  }
  const auto start = std::chrono::steady_clock::now();
  absl::Status run = scheduler.Run();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!run.ok() || !failed.ok()) {
    std::fprintf(stderr, "run: %s / %s\n", run.ToString().c_str(), failed.ToString().c_str());
    std::exit(1);
  }
  return seconds;
}

// fio's IOPS for kIosPerIteration writes, or 0 with the reason in `error`.
double FioIops(const std::string& path, std::string& error) {
  const std::string command =
      "fio --name=randwrite --filename=" + path +
      " --rw=randwrite --bs=4k --ioengine=io_uring --direct=1 --iodepth=" +
      std::to_string(kDepth) + " --size=" + std::to_string(kFileBytes) +
      " --io_size=" + std::to_string(kIosPerIteration * kBlock) +
      " --randrepeat=1 --norandommap --output-format=json";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, got);
  if (pclose(pipe) != 0) {
    error = "fio failed: " + command;
    return 0;
  }
  return nlohmann::json::parse(output)["jobs"][0]["write"]["iops"].get<double>();
}

// Paired runs on the same file, fio then powercut then powercut then fio in every
// iteration, so the disk's drift (large on a shared virtual disk) weighs on both sides
// alike. Counters: fio_iops, linear_iops and linear_over_fio (their ratio); the
// iteration time is the linear target's.
void LinearAgainstFio(benchmark::State& state) {
  if (std::system("command -v fio >/dev/null 2>&1") != 0) {
    state.SkipWithError("fio is not installed (Debian package fio)");
    return;
  }
  RealRuntime runtime;
  if (!MakeRuntime(state, runtime)) return;
  const std::string& path = BenchFiles::Get().File("linear.img", kFileBytes);
  auto file = OpenFile(runtime, path);
  auto linear = linear::LinearMap::Create(*file, 0, file->sector_count());
  std::vector<Block> buffers = Buffers(std::byte{7});
  const uint64_t blocks = kFileBytes / kBlock;
  auto run_linear = [&] {
    return RunDepth(*runtime.scheduler, kIosPerIteration, [&](int f, sim::Prng& prng) {
      return io::WriteSync(*runtime.scheduler, **linear, prng.Uniform(blocks) * (kBlock / 512),
                           buffers[f].span(), io::kNoFlags);
    });
  };
  double fio_iops = 0;
  double linear_seconds = 0;
  for (auto _ : state) {
    std::string error;
    double fio = FioIops(path, error);
    const double first = run_linear();
    const double second = run_linear();
    fio += FioIops(path, error);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
    state.SetIterationTime((first + second) / 2);
    fio_iops += fio / 2;
    linear_seconds += first + second;
  }
  const double iterations = static_cast<double>(state.iterations());
  const double linear_iops = 2 * iterations * kIosPerIteration / linear_seconds;
  state.counters["fio_iops"] = fio_iops / iterations;
  state.counters["linear_iops"] = linear_iops;
  state.counters["linear_over_fio"] = linear_iops / (fio_iops / iterations);
}
BENCHMARK(LinearAgainstFio)->Name("RealIo/LinearAgainstFio/RandomWrite4K")->UseManualTime()->Unit(benchmark::kMillisecond);

// A started cache over real files: 256 MiB origin, a cache of 16384 blocks (64 MiB),
// watermarks at 100 so nothing is written back until asked.
struct RealWriteCache {
  RealRuntime runtime;
  std::unique_ptr<posix::FileBlockDevice> origin;
  std::unique_ptr<posix::FileBlockDevice> cache;
  std::unique_ptr<writecache::WriteCache> engine;
  static constexpr uint64_t kBlocks = 16384;

  bool Start(benchmark::State& state) {
    if (!MakeRuntime(state, runtime)) return false;
    const uint64_t cache_bytes = writecache::MetadataBytes(kBlocks, kBlock) + kBlocks * kBlock;
    origin = OpenFile(runtime, BenchFiles::Get().File("origin.img", 256 << 20));
    cache = OpenFile(runtime, BenchFiles::Get().File("cache.img", (cache_bytes + 4095) / 4096 * 4096));
    auto params = writecache::ParseTable("s origin cache 4096 4 high_watermark 100 low_watermark 99");
    auto made = writecache::WriteCache::Create(*runtime.scheduler, *origin, *cache, *params);
    if (!made.ok()) {
      state.SkipWithError(std::string(made.status().message()).c_str());
      return false;
    }
    engine = *std::move(made);
    absl::Status started;
    runtime.scheduler->Spawn("start", [&] {
      // A blank superblock: the cache formats itself.
      std::vector<std::byte> zeroes(kBlock);
      started = io::WriteSync(*runtime.scheduler, *cache, 0, zeroes, io::kFua);
      if (started.ok()) started = engine->Start();
    });
    if (absl::Status run = runtime.scheduler->Run(); !run.ok() || !started.ok()) {
      state.SkipWithError("the cache did not start");
      return false;
    }
    return true;
  }
  ~RealWriteCache() {
    if (runtime.scheduler != nullptr) runtime.scheduler->AbandonAll();
  }
};

void WriteCacheRandomWrite4K(benchmark::State& state) {
  RealWriteCache cache;
  if (!cache.Start(state)) return;
  std::vector<Block> buffers = Buffers(std::byte{9});
  // Overwrites within as many blocks as the cache holds: every write stays cached.
  const uint64_t blocks = RealWriteCache::kBlocks / 2;
  for (auto _ : state) {
    state.SetIterationTime(RunDepth(*cache.runtime.scheduler, kIosPerIteration,
                                    [&](int f, sim::Prng& prng) {
                                      return io::WriteSync(*cache.runtime.scheduler, *cache.engine,
                                                           prng.Uniform(blocks) * (kBlock / 512),
                                                           buffers[f].span(), io::kNoFlags);
                                    }));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kIosPerIteration));
}
BENCHMARK(WriteCacheRandomWrite4K)->Name("RealIo/WriteCache/RandomWrite4K")->UseManualTime()->Unit(benchmark::kMillisecond);

void WriteCacheReadHit4K(benchmark::State& state) {
  RealWriteCache cache;
  if (!cache.Start(state)) return;
  const uint64_t blocks = 4096;
  std::vector<Block> buffers = Buffers(std::byte{5});
  RunDepth(*cache.runtime.scheduler, blocks, [&, next = uint64_t{0}](int f, sim::Prng&) mutable {
    return io::WriteSync(*cache.runtime.scheduler, *cache.engine, (next++) * (kBlock / 512),
                         buffers[f].span(), io::kNoFlags);
  });
  for (auto _ : state) {
    state.SetIterationTime(RunDepth(*cache.runtime.scheduler, kIosPerIteration,
                                    [&](int f, sim::Prng& prng) {
                                      return io::ReadSync(*cache.runtime.scheduler, *cache.engine,
                                                          prng.Uniform(blocks) * (kBlock / 512),
                                                          buffers[f].span());
                                    }));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kIosPerIteration));
  if (cache.engine->stats().read_hits < cache.engine->stats().reads) {
    state.SkipWithError("reads missed the cache");
  }
}
BENCHMARK(WriteCacheReadHit4K)->Name("RealIo/WriteCache/ReadHit4K")->UseManualTime()->Unit(benchmark::kMillisecond);

void WriteCacheWriteback(benchmark::State& state) {
  constexpr uint64_t kFill = 8192;  // blocks written, then written back: 32 MiB
  for (auto _ : state) {
    state.PauseTiming();
    RealWriteCache cache;
    if (!cache.Start(state)) return;
    std::vector<Block> buffers = Buffers(std::byte{3});
    RunDepth(*cache.runtime.scheduler, kFill, [&, next = uint64_t{0}](int f, sim::Prng&) mutable {
      return io::WriteSync(*cache.runtime.scheduler, *cache.engine, (next++) * (kBlock / 512),
                           buffers[f].span(), io::kNoFlags);
    });
    state.ResumeTiming();
    absl::Status flushed;
    cache.runtime.scheduler->Spawn("flush", [&] { flushed = cache.engine->Message("flush"); });
    const auto start = std::chrono::steady_clock::now();
    if (!cache.runtime.scheduler->Run().ok() || !flushed.ok()) {
      state.SkipWithError("writeback failed");
      return;
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFill * kBlock));
}
BENCHMARK(WriteCacheWriteback)->Name("RealIo/WriteCache/Writeback")->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace powercut
