#!/usr/bin/env bash
# Guided search against plain seeds (issue: does libFuzzer's guidance find bugs sooner?).
# For each MUTANT:FAMILY pair, TRIALS hunts each way, in the same binary
# (build/search/fuzz/scenario_search_fuzzer, `search` preset), each bounded by LIMIT seconds:
#   plain   POWERCUT_SEARCH_PLAIN=1: seeds 1 + t * 1,000,000 on, one per input, as a
#           campaign checks them;
#   code    libFuzzer with -seed=t+1 from an empty corpus, the input being the entropy
#           the family draws from, guided by code coverage alone
#           (POWERCUT_SEARCH_EVENTS=0);
#   events  the same, also guided by the order of events and the code probes (the
#           default of scripts/search.sh).
# Prints JSON: per trial the inputs (scenarios checked) and seconds until the mutant's
# first failure (null when the limit came first), and per way the median of each
# (a hunt that hit the limit counts as the limit: medians are then lower bounds).
#   bench/search_vs_plain.sh TRIALS LIMIT MUTANT:FAMILY...
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then
  echo "usage: bench/search_vs_plain.sh TRIALS LIMIT MUTANT:FAMILY..." >&2
  exit 2
fi
trials="$1"
limit="$2"
shift 2
cmake --preset search >/dev/null
cmake --build --preset search --target scenario_search_fuzzer >/dev/null
fuzzer=build/search/fuzz/scenario_search_fuzzer
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One hunt; prints "inputs seconds" of the kill, or "null null".
hunt() {
  local mutant="$1" family="$2" way="$3" trial="$4"
  local corpus="$work/corpus-$way-$trial" log="$work/log"
  rm -rf "$corpus" && mkdir -p "$corpus"
  local plain=0 events=1
  if [ "$way" = plain ]; then plain=1; fi
  if [ "$way" = code ]; then events=0; fi
  POWERCUT_SEARCH_FAMILY="$family" POWERCUT_SEARCH_MUTANT="$mutant" POWERCUT_SEARCH_PLAIN="$plain" \
    POWERCUT_SEARCH_EVENTS="$events" \
    POWERCUT_SEARCH_FIRST_SEED=$((1 + trial * 1000000)) \
    "$fuzzer" -seed=$((trial + 1)) -max_total_time="$limit" -timeout=60 -rss_limit_mb=4096 -max_len=1024 -len_control=0 \
    -artifact_prefix="$work/" "$corpus" > "$log" 2>&1 || true
  local line
  line=$(grep -E "^search: failed after" "$log" | head -1 || true)
  if [ -z "$line" ]; then
    echo "null null"
  else
    echo "$line" | awk '{print $4, $7}'
  fi
}

python_rows=()
for pair in "$@"; do
  mutant="${pair%%:*}"
  family="${pair#*:}"
  for way in plain code events; do
    for ((t = 0; t < trials; ++t)); do
      read -r inputs seconds < <(hunt "$mutant" "$family" "$way" "$t")
      echo "search_vs_plain: $mutant $family $way trial $t: inputs=$inputs seconds=$seconds" >&2
      python_rows+=("$mutant $family $way $t $inputs $seconds")
    done
  done
done
printf '%s\n' "${python_rows[@]}" | python3 -c '
import json, statistics, sys
limit = float(sys.argv[1])
out = {}
for line in sys.stdin:
    mutant, family, way, trial, inputs, seconds = line.split()
    entry = out.setdefault(f"{mutant}:{family}", {}).setdefault(way, {"trials": []})
    entry["trials"].append({"inputs": None if inputs == "null" else int(inputs),
                            "seconds": None if seconds == "null" else float(seconds)})
for pair in out.values():
    for entry in pair.values():
        t = entry["trials"]
        entry["killed"] = sum(1 for x in t if x["inputs"] is not None)
        entry["median_seconds"] = statistics.median(limit if x["seconds"] is None else x["seconds"] for x in t)
        known = [x["inputs"] for x in t if x["inputs"] is not None]
        entry["median_inputs_of_kills"] = statistics.median(known) if known else None
print(json.dumps({"limit_seconds": limit, "results": out}, indent=2))
' "$limit"
