#!/usr/bin/env bash
# One-off kernel experiments (docs/kernel-fua.md), on the same pinned kernel and qemu
# set-up as parity.sh (run ci/kernel/setup.sh first). The guest gets the base initramfs
# plus the modules dm_log_writes and dm_flakey and the static tool fuaw
# (experiments/fuaw.c, built here with gcc -static).
#
#   experiment.sh [--out DIR] [--runs N] [--powercut BIN] EXPERIMENT...
#
# EXPERIMENT:
#   fua-cut     FUA write (AIO + RWF_DSYNC, O_DIRECT) to a new block of a writecache
#               (SSD mode), power cut before any commit; N runs
#   fua-cut-plain  the same without the dm-log-writes layers (fua-plain.sh); N runs
#   fua-flush   control: the same write followed by a flush (a commit) before the cut
#   dsync-cut   control: a synchronous pwritev2(RWF_DSYNC) instead of AIO, then the cut
#   commit-fail Task B: a commit whose metadata write fails (dm-error); N runs
#   flush-fail  Task B: a commit whose flush fails (dm-flakey error_writes); N runs
#   commit-fail-nowb, flush-fail-nowb   the same once with writeback off
#               (high_watermark 100): all 260 blocks of epoch 1 stay cached
#   commit-fail-back, flush-fail-back   the same, then the cache device's table back
#               to linear, a write, a second flush and a suspend of the writecache
# Work folder: DIR/EXPERIMENT[-RUN] (default build/kernel-fua).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"

out=$REPO_ROOT/build/kernel-fua
runs=3
powercut=$REPO_ROOT/build/release/tools/powercut/powercut
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --powercut) powercut=$2; shift 2 ;;
    -*) echo "experiment.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { sed -n '2,22p' "$0" >&2; exit 2; }
mkdir -p "$out"; out=$(cd "$out" && pwd)
[ -f "$KCACHE/base.cpio.gz" ] || { echo "experiment.sh: run ci/kernel/setup.sh first" >&2; exit 2; }

# The experiment initramfs: a copy of the base tree with the extra modules and fuaw,
# in its own cache folder that run_guest.sh is pointed at.
xcache=$out/kcache
stamp=$( (echo "extra modules: dm_log_writes dm_flakey"; cat "$here/experiments/fuaw.c" "$KCACHE/base.cpio.gz") | md5sum | cut -c1-16)
if [ ! -f "$xcache/.stamp-$stamp" ]; then
  rm -rf "$xcache"; mkdir -p "$xcache"
  gcc -O2 -static -Wall -o "$xcache/fuaw" "$here/experiments/fuaw.c"
  tree=$xcache/tree
  mkdir "$tree"
  (cd "$tree" && gzip -dc "$KCACHE/base.cpio.gz" | cpio -id --quiet)
  cp "$xcache/fuaw" "$tree/bin/fuaw"
  for m in dm_log_writes dm_flakey; do
    modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
  done | sort -u | while read -r ko; do
    rel=${ko#"$KROOT"/}
    [ -f "$tree/$rel" ] || { mkdir -p "$tree/$(dirname "$rel")"; cp "$ko" "$tree/$rel"; }
  done
  depmod -b "$tree" "$KVER"
  echo "$GUEST_MODULES dm_log_writes dm_flakey" > "$tree/etc/guest-modules"
  (cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) > "$xcache/base.cpio.gz"
  rm -rf "$tree"
  ln -sf "$KCACHE/vmlinuz" "$xcache/vmlinuz"
  touch "$xcache/.stamp-$stamp"
fi
export POWERCUT_KERNEL_CACHE=$xcache

compare() {  # compare DIR: powercut recover of the images the cut left vs the kernel's read-back
  local d=$1
  # recover with the write boot's table arguments (watermarks play no part in recovery)
  # shellcheck disable=SC2086
  (cd "$d" && "$powercut" recover writecache s origin.img cache.img 4096 $args --dump powercut-dump.img --json > powercut-recover.json 2> powercut-recover.err) ||
    { echo "COMPARE powercut recover failed: $(cat "$d/powercut-recover.err")"; return 0; }
  local k p
  k=$(sha256sum < "$d/kernel-readback.img" | cut -c1-16); p=$(head -c 16777216 "$d/powercut-dump.img" | sha256sum | cut -c1-16)
  if [ "$k" = "$p" ]; then echo "COMPARE whole device: kernel read-back = powercut recover --dump (sha256 $k)"
  else echo "COMPARE whole device DIFFERS: kernel $k, powercut $p"; fi
  echo "COMPARE powercut recover status: $(grep -o '"status": *"[^"]*"' "$d/powercut-recover.json" | head -1 | sed 's/.*: *"//; s/"$//')"
  rm -f "$d/powercut-dump.img"
}

guest() {  # guest OUTFILE SETTINGS PART...: a scenario = settings + lib.sh + parts
  { echo "$2"; cat "$here/guest/lib.sh"; for p in "${@:3}"; do cat "$here/guest/$p"; done; } > "$1"
}
args='2 autocommit_time 60000'
read_args='6 autocommit_time 60000 high_watermark 100 low_watermark 99'

readback() {  # readback DIR SETTINGS: the kernel loads copies of DIR's images and reads the device back
  local d=$1
  cp --sparse=always "$d/origin.img" "$d/rb-origin.img"; cp --sparse=always "$d/cache.img" "$d/rb-cache.img"
  guest "$d/guest-read.sh" "$2" fua-read.sh
  truncate -s 16M "$d/kernel-readback.img"
  "$here/run_guest.sh" --log "$d/read.console" "$d/guest-read.sh" "$d/rb-origin.img" "$d/rb-cache.img" "$d/kernel-readback.img" > "$d/read.out"
  tail -1 "$d/read.out"
  rm -f "$d/rb-origin.img" "$d/rb-cache.img"
}

run_fua() {  # run_fua DIR FUA_MODE FUA_AFTER [SCENARIO]
  local d=$1 scenario=${4:-fua-write.sh}
  rm -rf "$d"; mkdir -p "$d"
  truncate -s 16M "$d/origin.img"; truncate -s 2M "$d/cache.img"
  truncate -s 64M "$d/log-cache.img" "$d/log-wc.img"
  guest "$d/guest-write.sh" "WC_ARGS='$args' FUA_MODE=$2 FUA_AFTER=$3" "$scenario"
  local t0; t0=$(date +%s)
  "$here/run_guest.sh" --kill-after-marker cut --log "$d/write.console" "$d/guest-write.sh" \
    "$d/origin.img" "$d/cache.img" "$d/log-cache.img" "$d/log-wc.img" > "$d/write.out"
  tail -1 "$d/write.out"
  readback "$d" "WC_ARGS='$read_args'"
  python3 "$here/experiments/lwlog.py" "$d/log-cache.img" --wc > "$d/log-cache.txt" || true  # (none: fua-plain.sh)
  python3 "$here/experiments/lwlog.py" "$d/log-wc.img" > "$d/log-wc.txt" || true
  python3 "$here/experiments/wcentries.py" "$d/cache.img" > "$d/entries.txt"
  "$powercut" inspect "$d/cache.img" --format writecache > "$d/inspect.txt" 2>&1 || true
  "$powercut" inspect "$d/cache.img" --format writecache --json > "$d/inspect.json" 2>&1 || true
  echo "== $(basename "$d"): $(( $(date +%s) - t0 ))s"
  grep -a -h '^KERNEL-' "$d/write.console" "$d/read.console" | tr -d '\r'
  compare "$d"
  echo "-- cache image entries after the cut (experiments/wcentries.py):"
  cat "$d/entries.txt"
  [ "$scenario" = fua-write.sh ] || return 0
  echo "-- writes reaching the writecache device (log-wc), from the commit-1 mark on:"
  sed -n '/commit1-done/,$p' "$d/log-wc.txt"
  echo "-- writes reaching the cache device (log-cache), from the commit-1 mark on:"
  sed -n '/commit1-done/,$p' "$d/log-cache.txt"
}

run_commit_fail() {  # run_commit_fail DIR FAIL [WC_ARGS [BACK]]: Task B (guest/fua-commit-fail.sh)
  local d=$1 wargs=${3:-$args} back=${4:-0}
  rm -rf "$d"; mkdir -p "$d"
  truncate -s 16M "$d/origin.img"; truncate -s 2M "$d/cache.img"; truncate -s 64M "$d/log-cache.img"
  guest "$d/guest-write.sh" "WC_ARGS='$wargs' FAIL=$2 BACK=$back" fua-commit-fail.sh
  local t0; t0=$(date +%s)
  "$here/run_guest.sh" --kill-after-marker cut --log "$d/write.console" "$d/guest-write.sh" \
    "$d/origin.img" "$d/cache.img" "$d/log-cache.img" > "$d/write.out"
  tail -1 "$d/write.out"
  "$powercut" inspect "$d/cache.img" --format writecache > "$d/inspect.txt" 2>&1 || true
  "$powercut" inspect "$d/cache.img" --format writecache --json > "$d/inspect.json" 2>&1 || true
  readback "$d" "WC_ARGS='$read_args' READ_BLOCKS='0 259 300 309'"
  python3 "$here/experiments/lwlog.py" "$d/log-cache.img" --wc > "$d/log-cache.txt"
  python3 "$here/experiments/wcentries.py" "$d/cache.img" > "$d/entries.txt"
  echo "== $(basename "$d"): $(( $(date +%s) - t0 ))s"
  grep -a -h '^KERNEL-' "$d/write.console" "$d/read.console" | tr -d '\r'
  compare "$d"
  echo "-- writes reaching the log-writes device over cl, from the epoch-2 mark on:"
  sed -n '/epoch2-written/,$p' "$d/log-cache.txt"
  echo "-- powercut inspect of the cache image as the power cut left it:"
  cat "$d/inspect.txt"
  echo "-- its entries (experiments/wcentries.py):"
  cat "$d/entries.txt"
}

for e in "$@"; do
  case "$e" in
    fua-cut) for r in $(seq 1 "$runs"); do run_fua "$out/fua-cut-$r" aio-dsync none; done ;;
    fua-cut-plain) for r in $(seq 1 "$runs"); do run_fua "$out/fua-cut-plain-$r" aio-dsync none fua-plain.sh; done ;;
    fua-flush) run_fua "$out/fua-flush" aio-dsync flush ;;
    dsync-cut) run_fua "$out/dsync-cut" sync-dsync none ;;
    commit-fail) for r in $(seq 1 "$runs"); do run_commit_fail "$out/commit-fail-$r" metadata; done ;;
    flush-fail) for r in $(seq 1 "$runs"); do run_commit_fail "$out/flush-fail-$r" flush; done ;;
    commit-fail-nowb) run_commit_fail "$out/commit-fail-nowb" metadata "$read_args" ;;
    flush-fail-nowb) run_commit_fail "$out/flush-fail-nowb" flush "$read_args" ;;
    commit-fail-back) run_commit_fail "$out/commit-fail-back" metadata "$args" 1 ;;
    flush-fail-back) run_commit_fail "$out/flush-fail-back" flush "$args" 1 ;;
    *) echo "experiment.sh: unknown experiment $e" >&2; exit 2 ;;
  esac
done
