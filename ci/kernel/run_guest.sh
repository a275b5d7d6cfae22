#!/usr/bin/env bash
# Boots the pinned Linux kernel in qemu (TCG) with raw image files as virtio disks
# (/dev/vda, /dev/vdb, ... in argument order) and runs GUEST_SCRIPT there as the
# scenario (sh -eu -o pipefail). Prints the guest console. Exit 0 when the script
# succeeded (or, with --kill-after-marker, when the marker appeared and qemu was
# killed: a power cut), 1 when it failed, 3 when the guest kernel crashed (a BUG,
# Oops or panic on the console: qemu is killed at once and the console kept), 124 on
# timeout, 2 on a usage error or missing setup.
#
#   run_guest.sh [--timeout SEC] [--kill-after-marker NAME] [--kill-after-delay NAME SEC]
#                [--qemu-arg ARG]... [--kernel-arg ARG]... [--guest-bin FILE]...
#                [--log FILE] GUEST_SCRIPT DISK...
#
# The scenario marks a point with `echo POWERCUT-MARK NAME`; with --kill-after-marker
# NAME the host sends SIGKILL to qemu as soon as that line reaches the console; with
# --kill-after-delay NAME SEC, SEC seconds (decimals allowed) after it appeared, at
# whatever the guest is doing then (exit 0 as for a marker; 1 if the script ended
# first). A DISK may carry qemu drive options after a comma:
# m1.img,throttling.bps-write=65536. --qemu-arg passes one argument to qemu as is,
# after the disks (e.g. -blockdev/-device pairs for a logged disk, guest/wc-log-write.sh);
# --kernel-arg adds one parameter to the kernel's command line (e.g. memmap=, wc-pmem);
# --guest-bin puts a (static) program in the guest's /bin (e.g. guest/wcops.c, wc-diff).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"

timeout=180
marker=""
delay=""
log=""
qargs=()
kargs=""
bins=()
while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) timeout=$2; shift 2 ;;
    --kill-after-marker) marker=$2; shift 2 ;;
    --kill-after-delay)
      [ $# -ge 3 ] || { echo "run_guest.sh: --kill-after-delay NAME SEC" >&2; exit 2; }
      marker=$2; delay=$3; shift 3
      [[ "$delay" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "run_guest.sh: --kill-after-delay: not a number of seconds: $delay" >&2; exit 2; } ;;
    --qemu-arg) qargs+=("$2"); shift 2 ;;
    --kernel-arg) kargs="$kargs $2"; shift 2 ;;
    --guest-bin) [ -f "$2" ] || { echo "run_guest.sh: no such program: $2" >&2; exit 2; }; bins+=("$2"); shift 2 ;;
    --log) log=$2; shift 2 ;;
    --) shift; break ;;
    -*) echo "run_guest.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { sed -n '2,21p' "$0" >&2; exit 2; }
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
mkdir "$work/root/bin"
for b in "${bins[@]}"; do cp "$b" "$work/root/bin/"; done
(cd "$work/root" && find scenario.sh bin | cpio -o -H newc --quiet | gzip -1) > "$work/scenario.cpio.gz"
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
  -append "console=ttyS0 panic=-1 mitigations=off quiet loglevel=4$kargs" \
  "${drives[@]}" "${qargs[@]}" </dev/null &
qpid=$!

result=""
shown=0
deadline=""  # with --kill-after-delay: when to kill, in ns since the epoch
show() { local n; n=$(wc -l < "$log"); if [ "$n" -gt "$shown" ]; then sed -n "$((shown + 1)),${n}p" "$log"; shown=$n; fi; }
while :; do
  if [ -n "$marker" ] && [ -z "$deadline" ] && grep -q "^POWERCUT-MARK $marker" "$log"; then
    if [ -z "$delay" ]; then
      kill -9 "$qpid"; wait "$qpid" 2>/dev/null || true; qpid=""
      result=killed; break
    fi
    deadline=$(( $(date +%s%N) + $(awk -v s="$delay" 'BEGIN { printf "%d", s * 1000 }') * 1000000 ))  # ms: mawk's %d stops at 2^31
  fi
  if grep -a -q -E 'kernel BUG at|Oops:|general protection fault|Kernel panic' "$log"; then
    sleep 1; kill -9 "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; qpid=""
    result=oops; break
  fi
  if [ -n "$deadline" ] && [ "$(date +%s%N)" -ge "$deadline" ]; then
    kill -9 "$qpid"; wait "$qpid" 2>/dev/null || true; qpid=""
    result=killed-delay; break
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
  if [ -n "$deadline" ]; then sleep 0.005; else sleep 0.05; fi
done
show
ms=$(( ($(date +%s%N) - start) / 1000000 ))
secs=$((ms / 1000)).$(printf %03d $((ms % 1000)))
rc_line=$(grep -a -o 'POWERCUT-GUEST-DONE rc=[0-9]*' "$log" | tail -1 || true)
case "$result" in
  killed) echo "run_guest: killed qemu at marker $marker after ${secs}s (power cut)"; exit 0 ;;
  killed-delay) echo "run_guest: killed qemu ${delay}s after marker $marker, ${secs}s after start (power cut)"; exit 0 ;;
  timeout) echo "run_guest: TIMEOUT after ${timeout}s"; exit 124 ;;
  oops) echo "run_guest: the guest KERNEL CRASHED after ${secs}s: $(grep -a -o -m1 -E '(kernel BUG at|Oops:|general protection fault|Kernel panic).*' "$log")"; exit 3 ;;
esac
if [ "$rc_line" = "POWERCUT-GUEST-DONE rc=0" ]; then
  [ -z "$marker" ] || { echo "run_guest: marker $marker never appeared"; exit 1; }
  echo "run_guest: guest script succeeded in ${secs}s"; exit 0
fi
echo "run_guest: guest script FAILED (${rc_line:-no completion line}) after ${secs}s"
exit 1
