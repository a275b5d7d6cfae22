#!/usr/bin/env bash
# Sets up dependencies, builds everything with warnings as errors and runs every test
# label except `kernel` (unit, property, mutation, corpus, e2e).
#   scripts/test.sh            release build (what CI runs first)
#   scripts/test.sh asan       AddressSanitizer + UBSan build
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
./scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)" --label-exclude kernel --timeout 900
