#!/usr/bin/env bash
# Sets up dependencies, builds the release preset and runs the default campaign
# (`powercut run`). Extra arguments go to `powercut run`, e.g. --seeds 500 --json.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target powercut
exec ./build/release/tools/powercut/powercut run "$@"
