// Table parameters of the write-back cache, with the kernel's defaults and validation.
//
// A table line is the kernel's:
//
//   s|p ORIGIN CACHE BLOCK_SIZE [N ARG...]
//
// where the N optional arguments are any of
//   start_sector S, high_watermark %, low_watermark %, writeback_jobs N,
//   autocommit_blocks N, autocommit_time MS, max_age MS, cleaner, fua, nofua (pmem),
//   metadata_only, pause_writeback MS (ssd).
// ORIGIN and CACHE are names only (the caller binds them to devices). A parameter not
// given keeps its kernel default and is not echoed by FormatTable(), like the kernel's
// table status.
//
//   absl::StatusOr<Params> params = ParseTable("s origin cache 4096 4 start_sector 8 cleaner");
//
// Bad parameters are rejected with InvalidArgument and the kernel's reason ("Invalid
// block size", "Invalid optional argument", ...) plus the offending token. Checks that
// need the devices (start_sector inside the cache, device block sizes) are made when
// the engine is created.
//
// Threading: value types and pure functions.
#ifndef POWERCUT_ENGINE_WRITECACHE_PARAMS_H_
#define POWERCUT_ENGINE_WRITECACHE_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace powercut::writecache {

enum class Mode { kSsd, kPmem };

// Kernel defaults.
inline constexpr uint32_t kDefaultHighWatermark = 50;
inline constexpr uint32_t kDefaultLowWatermark = 45;
inline constexpr uint32_t kDefaultWritebackJobs = 0;  // 0: unlimited
inline constexpr uint32_t kDefaultAutocommitBlocksSsd = 65536;
inline constexpr uint32_t kDefaultAutocommitBlocksPmem = 64;
inline constexpr uint32_t kDefaultAutocommitTimeMs = 1000;
inline constexpr uint32_t kDefaultPauseWritebackMs = 3000;  // SSD mode only
inline constexpr uint32_t kMaxAutocommitTimeMs = 3'600'000;
inline constexpr uint32_t kMaxMaxAgeMs = 86'400'000;
inline constexpr uint32_t kMaxPauseWritebackMs = 60'000;
inline constexpr uint32_t kMaxFeatureArgs = 18;

struct Params {
  Mode mode = Mode::kSsd;
  std::string origin_name = "origin";  // informational (table status)
  std::string cache_name = "cache";
  uint32_t block_size = 4096;
  // Optional parameters: unset means the kernel default.
  std::optional<uint64_t> start_sector;
  std::optional<uint32_t> high_watermark;  // percent of blocks in use that starts writeback
  std::optional<uint32_t> low_watermark;   // percent that stops it
  std::optional<uint32_t> writeback_jobs;
  std::optional<uint32_t> autocommit_blocks;
  std::optional<uint32_t> autocommit_time_ms;
  std::optional<uint32_t> max_age_ms;
  std::optional<uint32_t> pause_writeback_ms;
  std::optional<bool> fua;  // pmem only: writeback with FUA instead of a flush
  bool cleaner = false;
  bool metadata_only = false;

  // Effective values.
  uint64_t StartSector() const { return start_sector.value_or(0); }
  uint32_t HighWatermark() const { return high_watermark.value_or(kDefaultHighWatermark); }
  uint32_t LowWatermark() const { return low_watermark.value_or(kDefaultLowWatermark); }
  uint32_t WritebackJobs() const { return writeback_jobs.value_or(kDefaultWritebackJobs); }
  uint32_t AutocommitBlocks() const {
    return autocommit_blocks.value_or(mode == Mode::kSsd ? kDefaultAutocommitBlocksSsd
                                                         : kDefaultAutocommitBlocksPmem);
  }
  uint32_t AutocommitTimeMs() const { return autocommit_time_ms.value_or(kDefaultAutocommitTimeMs); }
  uint32_t PauseWritebackMs() const {
    return pause_writeback_ms.value_or(mode == Mode::kSsd ? kDefaultPauseWritebackMs : 0);
  }
  bool WritebackFua() const { return mode == Mode::kPmem && fua.value_or(true); }
};

// Parses a kernel table line (see above); InvalidArgument with the reason otherwise.
absl::StatusOr<Params> ParseTable(std::string_view table);

// Checks a Params built in code against the same rules ParseTable enforces.
[[nodiscard]] absl::Status Validate(const Params& params);

// The table status line (STATUSTYPE_TABLE): mode, device names, block size, then only
// the optional arguments that were given.
std::string FormatTable(const Params& params);

}  // namespace powercut::writecache

#endif  // POWERCUT_ENGINE_WRITECACHE_PARAMS_H_
