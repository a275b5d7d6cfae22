#!/usr/bin/env bash
# Builds the release preset and runs powercut_bench: fiber switch cost (bare vs runtime,
# target ratio <= 1.5), SimSsd write path (target >= 1,000,000 write+completion events
# per second), crash-image construction (target < 1 ms per image), and the write-back
# cache (writecache_bench.cc): simulated 4 KiB writes (target >= 300,000/s), recovery of
# 1,000,000 entries (target < 150 ms) and crash-check cycles (target >= 2,000/s), and
# crash-check cost against device size (crash_check_bench.cc: each engine at 2^11,
# 2^24, 2^32 and 2^40 sectors; target within 2x of the 2^11 time, memory flat), and the
# engines over real files against fio (real_io_bench.cc: 4 KiB random writes, io_uring,
# O_DIRECT, depth 32; target: the linear target >= 90% of fio's IOPS).
# Writes medians of 5 repetitions as JSON to build/release/bench.json and prints its path.
# Extra arguments go to the benchmark binary, e.g. --benchmark_filter=FiberSwitch.
set -euo pipefail

cd "$(dirname "$0")/.."
cmake --preset release >&2
cmake --build --preset release --target powercut_bench >&2

out=build/release/bench.json
build/release/bench/powercut_bench \
  --benchmark_format=json \
  --benchmark_out="$out" \
  --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true \
  "$@" >/dev/null
echo "$out"
