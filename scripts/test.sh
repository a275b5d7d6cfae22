#!/usr/bin/env bash
# Sets up dependencies, builds everything with warnings as errors and runs every test
# label except `kernel` (qemu) and `slurm` (installs and starts a Slurm cluster): unit,
# property, mutation, corpus, e2e.
#   scripts/test.sh            release build (what CI runs first)
#   scripts/test.sh asan       AddressSanitizer + UBSan build; the `mutation` label is
#                              left to the release run (it proves the suites can fail,
#                              which sanitizers do not change, and costs ~5 minutes
#                              under ASan on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
./scripts/setup.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
exclude="kernel|slurm"
if [ "$preset" = "asan" ]; then exclude="kernel|slurm|mutation"; fi
ctest --preset "$preset" -j "$(nproc)" --label-exclude "$exclude" --timeout 900
