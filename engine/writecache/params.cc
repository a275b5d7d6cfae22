// Table parameters: parsing, validation and the table status line (params.h).
#include "engine/writecache/params.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/writecache/format.h"

namespace powercut::writecache {
namespace {

absl::Status Bad(std::string_view reason, std::string_view detail) {
  return absl::InvalidArgumentError(absl::StrCat("writecache: ", std::string(reason), " (",
                                                 std::string(detail), ")"));
}

// Unsigned decimal without sign, spaces or trailing characters (the kernel's "%u%c").
template <typename T>
bool ParseUnsigned(absl::string_view text, T* out) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  uint64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return false;
  if (value > static_cast<uint64_t>(static_cast<T>(~T{0}))) return false;
  *out = static_cast<T>(value);
  return true;
}

bool Is(absl::string_view token, absl::string_view word) {
  return absl::EqualsIgnoreCase(token, word);
}

}  // namespace

absl::Status Validate(const Params& p) {
  if (!ValidBlockSize(p.block_size)) {
    return Bad("Invalid block size", absl::StrCat(p.block_size, " is not a power of two in [512, 4096]"));
  }
  if (p.start_sector && *p.start_sector >= (uint64_t{1} << 53)) {
    return Bad("Invalid optional argument", absl::StrCat("start_sector ", *p.start_sector));
  }
  if (p.high_watermark && *p.high_watermark > 100) {
    return Bad("Invalid optional argument", absl::StrCat("high_watermark ", *p.high_watermark));
  }
  if (p.low_watermark && *p.low_watermark > 100) {
    return Bad("Invalid optional argument", absl::StrCat("low_watermark ", *p.low_watermark));
  }
  if (p.autocommit_time_ms && *p.autocommit_time_ms > kMaxAutocommitTimeMs) {
    return Bad("Invalid optional argument", absl::StrCat("autocommit_time ", *p.autocommit_time_ms));
  }
  if (p.max_age_ms && *p.max_age_ms > kMaxMaxAgeMs) {
    return Bad("Invalid optional argument", absl::StrCat("max_age ", *p.max_age_ms));
  }
  if (p.pause_writeback_ms) {
    if (p.mode == Mode::kPmem) {
      return Bad("Invalid optional argument", "pause_writeback is for SSD mode only");
    }
    if (*p.pause_writeback_ms > kMaxPauseWritebackMs) {
      return Bad("Invalid optional argument", absl::StrCat("pause_writeback ", *p.pause_writeback_ms));
    }
  }
  if (p.fua && p.mode != Mode::kPmem) {
    return Bad("Invalid optional argument", "fua/nofua are for pmem mode only");
  }
  if (p.HighWatermark() < p.LowWatermark()) {
    return Bad("High watermark must be greater than or equal to low watermark",
               absl::StrCat("high ", p.HighWatermark(), " < low ", p.LowWatermark()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Params> ParseTable(std::string_view table) {
  std::vector<absl::string_view> args =
      absl::StrSplit(absl::string_view(table.data(), table.size()), absl::ByAnyChar(" \t\n"),
                     absl::SkipEmpty());
  size_t next = 0;
  auto shift = [&]() -> std::optional<absl::string_view> {
    if (next >= args.size()) return std::nullopt;
    return args[next++];
  };
  Params p;
  std::optional<absl::string_view> mode = shift();
  if (!mode) return Bad("Bad arguments", "empty table");
  if (Is(*mode, "s")) {
    p.mode = Mode::kSsd;
  } else if (Is(*mode, "p")) {
    p.mode = Mode::kPmem;
  } else {
    return Bad("Bad arguments", absl::StrCat("mode '", *mode, "' is neither s nor p"));
  }
  std::optional<absl::string_view> origin = shift();
  std::optional<absl::string_view> cache = shift();
  std::optional<absl::string_view> block_size = shift();
  if (!origin || !cache || !block_size) {
    return Bad("Bad arguments", "want: s|p ORIGIN CACHE BLOCK_SIZE [N ARG...]");
  }
  p.origin_name = std::string(*origin);
  p.cache_name = std::string(*cache);
  if (!ParseUnsigned(*block_size, &p.block_size) || !ValidBlockSize(p.block_size)) {
    return Bad("Invalid block size", absl::StrCat("'", *block_size, "'"));
  }

  uint32_t opt_params = 0;
  if (std::optional<absl::string_view> count = shift()) {
    if (!ParseUnsigned(*count, &opt_params) || opt_params > kMaxFeatureArgs) {
      return Bad("Invalid number of feature args", absl::StrCat("'", *count, "'"));
    }
    if (opt_params > args.size() - next) {
      return Bad("Invalid number of feature args",
                 absl::StrCat(opt_params, " announced, ", args.size() - next, " given"));
    }
  }
  while (opt_params > 0) {
    const absl::string_view name = *shift();
    --opt_params;
    auto value = [&]() -> std::optional<absl::string_view> {
      if (opt_params == 0) return std::nullopt;
      --opt_params;
      return shift();
    };
    const absl::Status invalid = Bad("Invalid optional argument", std::string(name));
    bool ok = true;
    auto number32 = [&](std::optional<uint32_t>* field) {
      std::optional<absl::string_view> v = value();
      uint32_t n = 0;
      ok = v && ParseUnsigned(*v, &n);
      if (ok) *field = n;
    };
    if (Is(name, "start_sector")) {
      std::optional<absl::string_view> v = value();
      uint64_t n = 0;
      ok = v && ParseUnsigned(*v, &n);
      if (ok) p.start_sector = n;
    } else if (Is(name, "high_watermark")) {
      number32(&p.high_watermark);
      ok = ok && *p.high_watermark <= 100;
    } else if (Is(name, "low_watermark")) {
      number32(&p.low_watermark);
      ok = ok && *p.low_watermark <= 100;
    } else if (Is(name, "writeback_jobs")) {
      number32(&p.writeback_jobs);
    } else if (Is(name, "autocommit_blocks")) {
      number32(&p.autocommit_blocks);
    } else if (Is(name, "autocommit_time")) {
      number32(&p.autocommit_time_ms);
      ok = ok && *p.autocommit_time_ms <= kMaxAutocommitTimeMs;
    } else if (Is(name, "max_age")) {
      number32(&p.max_age_ms);
      ok = ok && *p.max_age_ms <= kMaxMaxAgeMs;
    } else if (Is(name, "cleaner")) {
      p.cleaner = true;
    } else if (Is(name, "fua") || Is(name, "nofua")) {
      ok = p.mode == Mode::kPmem;
      p.fua = Is(name, "fua");
    } else if (Is(name, "metadata_only")) {
      p.metadata_only = true;
    } else if (Is(name, "pause_writeback")) {
      ok = p.mode == Mode::kSsd;
      if (ok) {
        number32(&p.pause_writeback_ms);
        ok = ok && *p.pause_writeback_ms <= kMaxPauseWritebackMs;
      }
    } else {
      ok = false;
    }
    if (!ok) return invalid;
  }
  if (next != args.size()) {
    return Bad("Bad arguments", absl::StrCat("unexpected '", args[next], "' after the optional arguments"));
  }
  if (absl::Status valid = Validate(p); !valid.ok()) return valid;
  return p;
}

std::string FormatTable(const Params& p) {
  std::string optional;
  uint32_t count = 0;
  auto add = [&](std::string_view name, std::optional<uint64_t> value = std::nullopt) {
    absl::StrAppend(&optional, " ", std::string(name));
    ++count;
    if (value) {
      absl::StrAppend(&optional, " ", *value);
      ++count;
    }
  };
  if (p.start_sector) add("start_sector", *p.start_sector);
  if (p.high_watermark) add("high_watermark", *p.high_watermark);
  if (p.low_watermark) add("low_watermark", *p.low_watermark);
  if (p.writeback_jobs) add("writeback_jobs", *p.writeback_jobs);
  if (p.autocommit_blocks) add("autocommit_blocks", *p.autocommit_blocks);
  if (p.autocommit_time_ms) add("autocommit_time", *p.autocommit_time_ms);
  if (p.max_age_ms) add("max_age", *p.max_age_ms);
  if (p.cleaner) add("cleaner");
  if (p.fua) add(*p.fua ? "fua" : "nofua");
  if (p.metadata_only) add("metadata_only");
  if (p.pause_writeback_ms) add("pause_writeback", *p.pause_writeback_ms);
  return absl::StrCat(p.mode == Mode::kPmem ? "p" : "s", " ", p.origin_name, " ", p.cache_name,
                      " ", p.block_size, " ", count, optional);
}

}  // namespace powercut::writecache
