#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS
# (default 30) from its seed corpus in fuzz/seeds/<name>/ (target <name>_fuzzer), with the
# libFuzzer dictionary fuzz/<name>.dict when there is one. Fails if any target finds a
# crash; the reproducer is left in build/fuzz/artifacts/<target>/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
./scripts/setup.sh >/dev/null
cmake --preset fuzz >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=()
  for dir in fuzz/seeds/*/; do targets+=("$(basename "$dir")_fuzzer"); done
fi
cmake --build --preset fuzz --target "${targets[@]}"
status=0
for target in "${targets[@]}"; do
  seeds="fuzz/seeds/${target%_fuzzer}"
  work="build/fuzz/corpus/$target"
  artifacts="build/fuzz/artifacts/$target"
  dict=()
  if [ -f "fuzz/${target%_fuzzer}.dict" ]; then dict=(-dict="fuzz/${target%_fuzzer}.dict"); fi
  mkdir -p "$work" "$artifacts"
  echo "fuzz: $target for ${seconds}s (seeds: $seeds${dict:+, ${dict[0]#-dict=}})"
  if ! "build/fuzz/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 "${dict[@]}" \
      -artifact_prefix="$artifacts/" -print_final_stats=1 "$work" "$seeds" \
      > "build/fuzz/$target.log" 2>&1; then
    echo "fuzz: $target FOUND A PROBLEM (log: build/fuzz/$target.log, reproducer in $artifacts/)"
    tail -40 "build/fuzz/$target.log"
    status=1
  else
    grep -E "DONE|stat::number_of_executed_units|Done" "build/fuzz/$target.log" | tail -3
  fi
done
exit $status
