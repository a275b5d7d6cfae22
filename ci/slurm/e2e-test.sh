#!/usr/bin/env bash
# End-to-end test of scripts/slurm/fuzz.sbatch and scripts/slurm/merge.sbatch on a real
# one-node Slurm cluster (ctest slurm.e2e, label slurm; keep it out of default CI
# runs: it installs packages and starts daemons as root): starts the cluster
# with ci/slurm/start-cluster.sh, submits a 3-task fuzz array with a short campaign and
# a merge job that depends on it (afterok), waits for both (bounded), checks that
# every task completed with exit 0, that every shard wrote its summary.json (shard
# K/3, its seeds) and that the merged summary (shard all/3) has the sum of the
# shards' seeds and a report.html. The cluster is always stopped (trap), the work
# folder removed when the test passes (unless WORK was given).
#   e2e-test.sh POWERCUT [WORK]     WORK default: a new folder under ${TMPDIR:-/tmp}
# Environment: SHARDS (default 3), SEEDS per shard (default 200), E2E_TIMEOUT seconds
# for the jobs (default 300), SLURM_CTLD_PORT/SLURMD_PORT as for start-cluster.sh.
# Exit: 0 pass, 1 fail, 2 usage, 77 skipped (not root, no apt/packages), with the reason.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { sed -n '11,14p' "$0" >&2; exit 2; }
powercut=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$powercut" ] || { echo "e2e-test: $1 is not an executable" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (installs slurm-wlm/munge, runs slurmd as root)"; exit 77; }
shards="${SHARDS:-3}"
seeds="${SEEDS:-200}"
timeout="${E2E_TIMEOUT:-300}"
keep="${2:-}"
work="${2:-$(mktemp -d "${TMPDIR:-/tmp}/powercut-slurm-e2e.XXXXXX")}"
mkdir -p "$work"
work=$(cd "$work" && pwd)
chmod 0755 "$work"   # mktemp's 0700 makes munged warn that its socket is inaccessible
state="$work/cluster"
out="$work/campaign"
export PATH="$PATH:/usr/sbin:/sbin"

# Only our cluster: no Slurm settings inherited from a surrounding job or the user.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SQUEUE|SINFO)_' || true)

t0=$SECONDS
stamp() { echo "e2e-test: [$((SECONDS - t0))s] $*"; }
fail() { echo "e2e-test: FAIL: $*" >&2; exit 1; }
passed=0
cleanup() {
  local rc=$?
  "$here/stop-cluster.sh" "$state" || true
  if [ "$passed" = 1 ] && [ -z "$keep" ]; then
    rm -rf "$work"
  elif [ "$rc" != 77 ]; then
    echo "e2e-test: kept $work (cluster logs in $state/log, job logs in $out/logs)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stamp "starting the cluster in $state"
set +e
"$here/start-cluster.sh" "$state"
rc=$?
set -e
if [ $rc = 77 ]; then [ -n "$keep" ] || rm -rf "$work"; exit 77; fi
[ $rc = 0 ] || fail "start-cluster.sh exited $rc"
export SLURM_CONF="$state/slurm.conf"
stamp "cluster up: $(sinfo -h -o '%P %t %N %c CPUs')"

mkdir -p "$out/logs"
first_seed=4242
array=$(sbatch --parsable --array=0-$((shards - 1)) --cpus-per-task=1 --time=10 \
  --chdir="$out" --output="$out/logs/fuzz-%A_%a.log" \
  --export="ALL,OUT=$out,FIRST_SEED=$first_seed,DURATION=120s,POWERCUT=$powercut,FUZZ_ARGS=--max-seeds $seeds" \
  "$repo/scripts/slurm/fuzz.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes --time=10 \
  --chdir="$out" --output="$out/logs/merge-%j.log" \
  --export="ALL,OUT=$out,POWERCUT=$powercut" "$repo/scripts/slurm/merge.sbatch")
merge=${merge%%;*}
stamp "submitted fuzz array $array (tasks 0-$((shards - 1))) and merge job $merge (afterok:$array)"

deadline=$((SECONDS + timeout))
last=""
errors=0
while :; do
  if ! queue=$(squeue -h -j "$array,$merge" -o '%i:%T' | sort | tr '\n' ' '); then
    errors=$((errors + 1))
    [ $errors -lt 10 ] || fail "squeue keeps failing (logs in $state/log)"
    sleep 1
    continue
  fi
  errors=0
  [ -z "$queue" ] && break
  [ "$queue" != "$last" ] && stamp "queue: $queue"
  last=$queue
  if [ $SECONDS -ge $deadline ]; then
    scancel "$array" "$merge" || true
    fail "jobs not done after ${timeout}s: $queue"
  fi
  sleep 1
done
stamp "queue empty"

show() { scontrol -o show job "$1"; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
tasks=$(show "$array" | grep -c ' ArrayTaskId=') || true
[ "$tasks" = "$shards" ] || { show "$array" >&2; fail "the array has $tasks tasks, not $shards"; }
show "$array" | while read -r line; do
  id=$(field ArrayTaskId <<<" $line"); st=$(field JobState <<<" $line"); ec=$(field ExitCode <<<" $line")
  node=$(field NodeList <<<" $line")
  echo "  fuzz task $id: $st exit $ec on $node"
  if [ "$st" != COMPLETED ] || [ "$ec" != 0:0 ]; then
    cat "$out"/logs/fuzz-*_"$id".log >&2 || true
    exit 1
  fi
done || fail "a fuzz task did not complete with exit 0"
line=$(show "$merge")
st=$(field JobState <<<" $line"); ec=$(field ExitCode <<<" $line")
echo "  merge job $merge: $st exit $ec"
if [ "$st" != COMPLETED ] || [ "$ec" != 0:0 ]; then
  cat "$out"/logs/merge-*.log >&2 || true
  fail "merge did not complete with exit 0"
fi

# Top-level fields of a summary.json, one line of values (python3 when there, else the
# pretty-printed lines).
json() {
  local file=$1; shift
  if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(*(d[k] for k in sys.argv[2:]))' "$file" "$@"
  else
    local k; for k; do sed -n "s/^  \"$k\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$file"; done | tr '\n' ' '
    echo
  fi
}
sum=0
for k in $(seq 1 "$shards"); do
  s="$out/shard-$k/summary.json"
  [ -f "$s" ] || fail "shard $k wrote no $s"
  read -r shard first n failures < <(json "$s" shard first_seed seeds failures)
  [ "$shard" = "$k/$shards" ] || fail "$s: shard $shard, not $k/$shards"
  [ "$first" = "$first_seed" ] || fail "$s: first seed $first, not $first_seed"
  [ "$n" -gt 0 ] || fail "shard $k checked no seed"
  echo "  shard $k/$shards: $n seeds, $failures failures"
  sum=$((sum + n))
done
m="$out/merged/summary.json"
[ -f "$m" ] || fail "no merged $m"
[ -f "$out/merged/report.html" ] || fail "no merged report.html"
read -r shard merged jobs < <(json "$m" shard seeds jobs)
echo "  merged: $merged seeds (shards: $sum), shard $shard, jobs $jobs"
[ "$shard" = "all/$shards" ] || fail "$m: shard $shard, not all/$shards"
[ "$merged" = "$sum" ] || fail "merged seeds $merged != sum of the shards' $sum"
[ "$jobs" = "$shards" ] || fail "merged jobs $jobs, not $shards (one per task)"
stamp "PASS"
passed=1
