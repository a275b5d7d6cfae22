#!/usr/bin/env bash
# Boots the pinned Linux kernel in qemu (TCG) with raw image files as virtio disks
# (/dev/vda, /dev/vdb, ... in argument order) and runs GUEST_SCRIPT there as the
# scenario (sh -eu -o pipefail). Prints the guest console. Exit 0 when the script
# succeeded (or, with --kill-after-marker, when the marker appeared and qemu was
# killed: a power cut), 1 when it failed, 124 on timeout, 2 on a usage error or
# missing setup.
#
#   run_guest.sh [--timeout SEC] [--kill-after-marker NAME] [--log FILE] GUEST_SCRIPT DISK...
#
# The scenario marks a point with `echo POWERCUT-MARK NAME`; with --kill-after-marker
# NAME the host sends SIGKILL to qemu as soon as that line reaches the console.
# A DISK may carry qemu drive options after a comma: m1.img,throttling.bps-write=65536.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"

timeout=180
marker=""
log=""
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout=$2; shift 2 ;;
    --kill-after-marker) marker=$2; shift 2 ;;
    --log) log=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "run_guest.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { sed -n '2,13p' "$0" >&2; exit 2; }
script=$1; shift
[ -f "$script" ] || { echo "run_guest.sh: no such script: $script" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "run_guest.sh: qemu-system-x86_64 missing: run ci/kernel/setup.sh" >&2; exit 2; }
[ -f "$KCACHE/base.cpio.gz" ] && [ -f "$KCACHE/vmlinuz" ] ||
  { echo "run_guest.sh: no kernel in $KCACHE: run ci/kernel/setup.sh" >&2; exit 2; }

work=$(mktemp -d)
qpid=""
cleanup() { [ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# The scenario goes in a second cpio archive appended to the cached base one.
mkdir "$work/root"
cp "$script" "$work/root/scenario.sh"
(cd "$work/root" && echo scenario.sh | cpio -o -H newc --quiet | gzip -1) > "$work/scenario.cpio.gz"
cat "$KCACHE/base.cpio.gz" "$work/scenario.cpio.gz" > "$work/initrd.gz"

drives=()
for d in "$@"; do
  f=${d%%,*}
  [ -f "$f" ] || { echo "run_guest.sh: no such disk image: $f" >&2; exit 2; }
  drives+=(-drive "file=$f,format=raw,if=virtio${d#"$f"}")
done
[ -n "$log" ] || log="$work/console.log"
: > "$log"

start=$(date +%s%N)
qemu-system-x86_64 -accel tcg -m 512 -smp 1 -display none -monitor none -no-reboot \
  -serial "file:$log" -kernel "$KCACHE/vmlinuz" -initrd "$work/initrd.gz" \
  -append 'console=ttyS0 panic=-1 mitigations=off quiet loglevel=4' \
  "${drives[@]}" </dev/null &
qpid=$!

result=""
shown=0
show() { local n; n=$(wc -l < "$log"); if [ "$n" -gt "$shown" ]; then sed -n "$((shown + 1)),${n}p" "$log"; shown=$n; fi; }
while :; do
  if [ -n "$marker" ] && grep -q "^POWERCUT-MARK $marker" "$log"; then
    kill -9 "$qpid"; wait "$qpid" 2>/dev/null || true; qpid=""
    result=killed; break
  fi
  if ! kill -0 "$qpid" 2>/dev/null; then
    wait "$qpid" 2>/dev/null || true; qpid=""
    result=exited; break
  fi
  if [ $(( $(date +%s%N) - start )) -gt $(( timeout * 1000000000 )) ]; then
    kill -9 "$qpid"; wait "$qpid" 2>/dev/null || true; qpid=""
    result=timeout; break
  fi
  show
  sleep 0.05
done
show
ms=$(( ($(date +%s%N) - start) / 1000000 ))
secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))
rc_line=$(grep -a -o 'POWERCUT-GUEST-DONE rc=[0-9]*' "$log" | tail -1 || true)
case "$result" in
  killed) echo "run_guest: killed qemu at marker $marker after ${secs}s (power cut)"; exit 0 ;;
  timeout) echo "run_guest: TIMEOUT after ${timeout}s"; exit 124 ;;
esac
if [ "$rc_line" = "POWERCUT-GUEST-DONE rc=0" ]; then
  [ -z "$marker" ] || { echo "run_guest: marker $marker never appeared"; exit 1; }
  echo "run_guest: guest script succeeded in ${secs}s"; exit 0
fi
echo "run_guest: guest script FAILED (${rc_line:-no completion line}) after ${secs}s"
exit 1
