#!/usr/bin/env bash
# Differential parity with the real Linux kernel: for each CHECK, the kernel (in qemu)
# writes images and is killed mid-run (a power cut); the kernel then reads copies of
# those images back in a second boot, and verify.sh checks that powercut's recovery
# and inspect of the same images agree with what the kernel read and reported.
#
#   parity.sh [--powercut BIN] [--out DIR] [--save-testdata DIR] [CHECK...]
#
# CHECK (default all; the guest scenarios are in guest/, docs/kernel-parity.md):
#   wc-cut     dm-writecache: committed epochs, an unflushed one at the cut
#   wc-wb      dm-writecache past its high watermark: writeback during the epochs
#   wc-dup     dm-writecache: overwrites of blocks under writeback (duplicates)
#   md-internal, md-file   raid1, internal bitmap / bitmap file: dirty bits at the cut
#   md-torn0, md-torn1     raid1: cut during 1 MiB writes, member 0 / 1 slowed down
#   md-resync  raid1 created without --assume-clean: cut in the initial resync
#   wc-fmt, md-fmt   as wc-cut and md-internal over images `powercut format` made
# POWERCUT defaults to build/release/tools/powercut/powercut. Work folder: DIR/CHECK
# (default build/kernel-parity). --save-testdata writes DIR/CHECK.tar.gz: the
# kernel-made images and what the kernel reported, for the ctest tests (testdata/).
# A CHECK with a file testdata/CHECK.known-differences is verified against it.
# Exit 0 all agree, 1 a difference (printed), 2 setup missing, 124 a guest timeout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"

powercut=$REPO_ROOT/build/release/tools/powercut/powercut
out=$REPO_ROOT/build/kernel-parity
save=""
while [ $# -gt 0 ]; do
  case "$1" in
    --powercut) powercut=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --save-testdata) save=$2; shift 2 ;;
    -*) echo "parity.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
checks=${*:-wc-cut wc-wb wc-dup wc-fmt md-internal md-file md-torn0 md-torn1 md-resync md-fmt}
mkdir -p "$out"; out=$(cd "$out" && pwd)
[ -z "$save" ] || { mkdir -p "$save"; save=$(cd "$save" && pwd); }
[ -x "$powercut" ] || { echo "parity.sh: no powercut at $powercut (--powercut BIN)" >&2; exit 2; }

guest() {  # guest OUTFILE SETTINGS PART...: a scenario = settings + lib.sh + parts
  { echo "$2"; cat "$here/guest/lib.sh"; for p in "${@:3}"; do cat "$here/guest/$p"; done; } > "$1"
}
mdadm_x() {  # mdadm_x IMAGE: mdadm -X of a member's internal bitmap (read-only loop)
  local loop
  loop=$(losetup -r -f --show "$1") || { echo "losetup unavailable: no host mdadm -X"; return 0; }
  mdadm -X "$loop" | sed "s|$loop|$(basename "$1")|" || true
  losetup -d "$loop"
}

# The kernel phase of one check leaves in DIR the images as the power cut left them,
# the kernel's read-back of the logical device (kernel-readback.img), both consoles
# and what the kernel and the host's mdadm reported.
run_wc() {  # run_wc DIR WRITE_SCENARIO CACHE_SIZE [QEMU_DRIVE_OPTIONS_OF_THE_ORIGIN]
  local d=$1 args='2 autocommit_time 60000'
  # The read-back boot keeps writeback off (it would start at once in a cache more
  # than half full and race the status line); watermarks do not change recovery.
  local read_args='6 autocommit_time 60000 high_watermark 100 low_watermark 99'
  truncate -s 16M "$d/origin.img"; truncate -s "$3" "$d/cache.img"
  # shellcheck disable=SC2086
  [ "$pc_format" = 0 ] || "$powercut" format writecache s "$d/origin.img" "$d/cache.img" 4096 $args > "$d/format.txt"
  guest "$d/guest-write.sh" "WC_ARGS='$args'" "$2"
  "$here/run_guest.sh" --kill-after-marker cut --log "$d/write.console" "$d/guest-write.sh" "$d/origin.img${4:-}" "$d/cache.img"
  cp --sparse=always "$d/origin.img" "$d/rb-origin.img"; cp --sparse=always "$d/cache.img" "$d/rb-cache.img"
  truncate -s 16M "$d/kernel-readback.img"
  guest "$d/guest-read.sh" "WC_ARGS='$read_args'" wc-read.sh
  "$here/run_guest.sh" --log "$d/read.console" "$d/guest-read.sh" "$d/rb-origin.img" "$d/rb-cache.img" "$d/kernel-readback.img"
  rm -f "$d/rb-origin.img" "$d/rb-cache.img"
  printf 'writecache s origin.img cache.img 4096 %s\n' "$args" > "$d/table"
  grep -a '^KERNEL-STATUS-AFTER-LOAD' "$d/read.console" | sed 's/^KERNEL-STATUS-AFTER-LOAD //; s/\r//' > "$d/kernel-status"
  grep -a '^KERNEL-STATUS-AFTER-READ' "$d/read.console" | sed 's/^KERNEL-STATUS-AFTER-READ //; s/\r//' > "$d/kernel-status-after-read"
  echo 16777216 > "$d/device-bytes"
}
run_md() {  # run_md DIR BITMAP WRITE_SCENARIO [QEMU_DRIVE_OPTIONS_OF_M0 [..._OF_M1]]
  local d=$1 bitmap=$2 members="m0.img m1.img" extra=()
  truncate -s 32M "$d/m0.img" "$d/m1.img"
  if [ "$bitmap" != internal ]; then truncate -s 8M "$d/bmfs.img"; extra=("$d/bmfs.img"); fi
  [ "$pc_format" = 0 ] || "$powercut" format raid1 "$d/m0.img" "$d/m1.img" --bitmap-chunk 64K > "$d/format.txt"
  guest "$d/guest-write.sh" "MD_BITMAP=$bitmap MD_ASSEMBLE=$pc_format" "$3"
  "$here/run_guest.sh" --kill-after-marker cut --log "$d/write.console" "$d/guest-write.sh" "$d/m0.img${4:-}" "$d/m1.img${5:-}" "${extra[@]}"
  # What each mirror holds after the power cut (array blocks; reported, not judged).
  for m in m0 m1; do echo "$m: $("$here/blockmap.sh" "$d/$m.img" 4096 256 | tr '\n' ';')"; done > "$d/mirror-blockmaps"
  cp --sparse=always "$d/m0.img" "$d/rb0.img"; cp --sparse=always "$d/m1.img" "$d/rb1.img"
  truncate -s 32M "$d/kernel-readback.img"
  if [ "$bitmap" != internal ]; then
    cp --sparse=always "$d/bmfs.img" "$d/rb-bmfs.img"; extra=("$d/rb-bmfs.img")
    debugfs -R "dump ${bitmap#/bm} $d/bitmap.file" "$d/bmfs.img" 2>/dev/null
    [ -s "$d/bitmap.file" ] || { echo "parity.sh: no bitmap file in $d/bmfs.img" >&2; exit 1; }
    rm -f "$d/bmfs.img"
  fi
  guest "$d/guest-read.sh" "MD_BITMAP=$bitmap" md-read.sh
  "$here/run_guest.sh" --log "$d/read.console" "$d/guest-read.sh" "$d/rb0.img" "$d/rb1.img" "$d/kernel-readback.img" "${extra[@]}"
  rm -f "$d/rb0.img" "$d/rb1.img" "$d/rb-bmfs.img"
  echo "raid1 $members" > "$d/table"
  sectors=$(grep -a '^KERNEL-ARRAY-SECTORS' "$d/read.console" | tr -dc '0-9')
  echo $((sectors * 512)) > "$d/device-bytes"
  for m in $members; do mdadm --examine "$d/$m" | sed "s|$d/||" > "$d/mdadm-examine-${m%.img}.txt"; done
  if [ "$bitmap" = internal ]; then
    for m in $members; do mdadm_x "$d/$m" > "$d/mdadm-X-${m%.img}.txt"; done
  else
    mdadm -X "$d/bitmap.file" | sed "s|$d/||" > "$d/mdadm-X-bitmap.txt"
  fi
}

rc=0
for c in $checks; do
  d=$out/$c
  rm -rf "$d"; mkdir -p "$d"
  t0=$(date +%s)
  pc_format=0  # 1: powercut format makes the images, the kernel loads them
  case "$c" in
    wc-cut) run_wc "$d" wc-write.sh 2M ;;
    wc-wb) run_wc "$d" wc-wb.sh 512K ,throttling.bps-write=131072 ;;
    wc-dup) run_wc "$d" wc-dup.sh 512K ,throttling.bps-write=65536 ;;
    wc-fmt) pc_format=1; run_wc "$d" wc-write.sh 2M ;;
    md-internal) run_md "$d" internal md-write.sh ;;
    md-file) run_md "$d" /bm/bitmap md-write.sh ;;
    md-torn1) run_md "$d" internal md-torn.sh "" ,throttling.bps-write=262144 ;;
    md-torn0) run_md "$d" internal md-torn.sh ,throttling.bps-write=262144 ;;
    md-resync) run_md "$d" internal md-resync.sh "" ,throttling.bps-write=1048576 ;;
    md-fmt) pc_format=1; run_md "$d" internal md-write.sh ;;
    *) echo "parity.sh: unknown check $c" >&2; exit 2 ;;
  esac
  head -c "$(cat "$d/device-bytes")" "$d/kernel-readback.img" | sha256sum | cut -d' ' -f1 > "$d/kernel-readback.sha256"
  "$here/blockmap.sh" "$d/kernel-readback.img" > "$d/kernel-readback.blockmap"
  echo "$KPKG $KPKG_VERSION" > "$d/kernel-version"
  t1=$(date +%s)
  echo "== $c: kernel phase took $((t1 - t0))s; verifying with powercut"
  known=()
  [ ! -f "$here/testdata/$c.known-differences" ] || known=("$here/testdata/$c.known-differences")
  "$here/verify.sh" "$powercut" "$d" "${known[@]}" || rc=1
  if [ -n "$save" ]; then
    files=$(cd "$d" && for f in *; do case $f in powercut-*|kernel-readback.img|recover.err|bitmap-padded.file) ;; *) echo "$f" ;; esac; done)
    # shellcheck disable=SC2086
    (cd "$d" && tar -c --sparse --owner=0 --group=0 --mtime=@0 $files | gzip -9n > "$save/$c.tar.gz.tmp")
    mv "$save/$c.tar.gz.tmp" "$save/$c.tar.gz"
    echo "== $c: saved $save/$c.tar.gz ($(stat -c %s "$save/$c.tar.gz") bytes)"
  fi
done
[ -z "$save" ] || "$here/manifest.sh" "$save"
exit $rc
