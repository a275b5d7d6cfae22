#!/usr/bin/env bash
# Guided search over one scenario family (fuzz/scenario_search_fuzzer.cc): builds the
# `search` preset (clang, libFuzzer's coverage hooks in every library, no sanitizers) and
# lets libFuzzer mutate the entropy the family draws from for SECONDS (default 600),
# keeping the inputs whose scenarios reach new engine code in build/search/corpus/FAMILY
# (kept between runs, so a search goes on where the last one stopped). With MUTANT the
# test-only engines run that mutant: how a search is measured against plain seeds
# (bench/search_vs_plain.sh). Stops at the first failing scenario, whose replay file is
# written to build/search/found/ (reproduce: powercut_with_mutants replay FILE).
# Exit 0 when nothing failed, 1 when a scenario failed, 2 on bad arguments.
#   scripts/search.sh FAMILY [SECONDS] [MUTANT]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "usage: scripts/search.sh FAMILY [SECONDS] [MUTANT]" >&2
  exit 2
fi
family="$1"
seconds="${2:-600}"
mutant="${3:-}"
./scripts/setup.sh >/dev/null
cmake --preset search >/dev/null
cmake --build --preset search --target scenario_search_fuzzer powercut_with_mutants >/dev/null
corpus="build/search/corpus/$family"
found="build/search/found"
mkdir -p "$corpus" "$found"
log="build/search/$family${mutant:+-$mutant}.log"
echo "search: $family${mutant:+ with mutant $mutant} for ${seconds}s (corpus: $corpus, log: $log)"
if POWERCUT_SEARCH_FAMILY="$family" POWERCUT_SEARCH_MUTANT="$mutant" POWERCUT_SEARCH_OUT="$found" \
    build/search/fuzz/scenario_search_fuzzer -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -max_len=1024 -len_control=0 \
    -artifact_prefix="$found/" -print_final_stats=1 "$corpus" fuzz/seeds/scenario_search > "$log" 2>&1; then
  grep -E "stat::number_of_executed_units|Done" "$log" | tail -2
  exit 0
fi
grep -E "^search: " "$log" || tail -40 "$log"
exit 1
