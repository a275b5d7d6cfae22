#!/usr/bin/env bash
# Differential parity with the real Linux kernel: for each CHECK, the kernel (in qemu)
# writes images and is killed mid-run (a power cut); the kernel then reads copies of
# those images back in a second boot, and verify.sh checks that powercut's recovery
# and inspect of the same images agree with what the kernel read and reported.
#
#   parity.sh [--powercut BIN] [--out DIR] [--save-testdata DIR] [--seed N] [CHECK...]
#
# CHECK (default all; the guest scenarios are in guest/, docs/kernel-parity.md):
#   wc-cut     dm-writecache: committed epochs, an unflushed one at the cut
#   wc-wb      dm-writecache past its high watermark: writeback during the epochs
#   wc-dup     dm-writecache: overwrites of blocks under writeback (duplicates)
#   md-internal, md-file   raid1, internal bitmap / bitmap file: dirty bits at the cut
#   md-torn0, md-torn1     raid1: cut during 1 MiB writes, member 0 / 1 slowed down
#   md-resync  raid1 created without --assume-clean: cut in the initial resync
#   wc-fmt, md-fmt   as wc-cut and md-internal over images `powercut format` made
#   wc-log     dm-writecache with qemu's blklogwrites log of every write and flush: crash
#              images from the log (every flush point, seeded subsets after one), all
#              recovered by powercut under an oracle, a sample also by the kernel
#              (wclog.py); qemu killed at the end of the workload
#   wc-log-rand  the same, qemu killed at a random instant (a delay drawn from the seed)
#   wc-diff    differential: the operations of `powercut scenario --family writecache
#              --seed N` run by the kernel and by powercut's engine (powercut parity),
#              settled; each side's images read by both recoveries (wcdiff.py)
#   wc-pmem    dm-writecache in pmem mode (memmap= persistent memory in a file-backed
#              guest RAM): committed epochs, a writeback, an unflushed epoch at the cut
# --seed N (default 1, printed) draws wc-log's workload, crash images and kill delay,
# and is wc-diff's scenario seed.
# POWERCUT defaults to build/release/tools/powercut/powercut. Work folder: DIR/CHECK
# (default build/kernel-parity). --save-testdata writes DIR/CHECK.tar.gz: the
# kernel-made images and what the kernel reported, for the ctest tests (testdata/).
# A CHECK with a file testdata/CHECK.known-differences is verified against it.
# Exit 0 all agree, 1 a difference (printed; a guest kernel crash in wc-diff counts as
# one), 2 setup missing or a wc-diff seed the check cannot run, 124 a guest timeout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"

powercut=$REPO_ROOT/build/release/tools/powercut/powercut
out=$REPO_ROOT/build/kernel-parity
save=""
seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --powercut) powercut=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --save-testdata) save=$2; shift 2 ;;
    --seed) seed=$2; shift 2; [[ "$seed" =~ ^[0-9]+$ ]] || { echo "parity.sh: --seed: not a number: $seed" >&2; exit 2; } ;;
    -*) echo "parity.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
checks=${*:-wc-cut wc-wb wc-dup wc-fmt md-internal md-file md-torn0 md-torn1 md-resync md-fmt wc-pmem wc-log wc-log-rand wc-diff}
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
# wc-pmem: the guest's RAM is the shared file DIR/ram.img and memmap=16M!256M makes
# its 16 MiB at 256 MiB the persistent memory /dev/pmem0 (raw mode: pmem0's byte 0 is
# the file's byte 256 MiB, no label or info block before it). After the cut those
# 16 MiB are the cache image pmem.img; the read boot gets a fresh RAM file with
# pmem.img copied back to the same place.
pmem_qemu() {  # pmem_qemu RAMFILE: run_guest.sh options for a file-backed RAM with pmem
  echo --kernel-arg 'memmap=16M!256M' --qemu-arg -object \
    --qemu-arg "memory-backend-file,id=ram,size=512M,mem-path=$1,share=on" --qemu-arg -machine --qemu-arg memory-backend=ram
}
run_wcpmem() {  # run_wcpmem DIR
  local d=$1 args='2 autocommit_time 60000'
  local read_args='6 autocommit_time 60000 high_watermark 100 low_watermark 99'
  truncate -s 16M "$d/origin.img"; rm -f "$d/ram.img"; truncate -s 512M "$d/ram.img"
  guest "$d/guest-write.sh" "WC_ARGS='$args'" wc-pmem-write.sh
  # shellcheck disable=SC2046
  "$here/run_guest.sh" --kill-after-marker cut --log "$d/write.console" $(pmem_qemu "$d/ram.img") "$d/guest-write.sh" "$d/origin.img"
  dd if="$d/ram.img" of="$d/pmem.img" bs=1M skip=256 count=16 conv=sparse status=none
  rm -f "$d/ram.img"
  cp --sparse=always "$d/origin.img" "$d/rb-origin.img"; truncate -s 512M "$d/rb-ram.img"
  dd if="$d/pmem.img" of="$d/rb-ram.img" bs=1M seek=256 conv=notrunc,sparse status=none
  truncate -s 16M "$d/kernel-readback.img"
  guest "$d/guest-read.sh" "WC_ARGS='$read_args'" wc-pmem-read.sh
  # shellcheck disable=SC2046
  "$here/run_guest.sh" --log "$d/read.console" $(pmem_qemu "$d/rb-ram.img") "$d/guest-read.sh" "$d/rb-origin.img" "$d/kernel-readback.img"
  rm -f "$d/rb-origin.img" "$d/rb-ram.img"
  printf 'writecache p origin.img pmem.img 4096 %s\n' "$args" > "$d/table"
  grep -a '^KERNEL-STATUS-AFTER-LOAD' "$d/read.console" | sed 's/^KERNEL-STATUS-AFTER-LOAD //; s/\r//' > "$d/kernel-status"
  grep -a '^KERNEL-STATUS-AFTER-READ' "$d/read.console" | sed 's/^KERNEL-STATUS-AFTER-READ //; s/\r//' > "$d/kernel-status-after-read"
  echo 16777216 > "$d/device-bytes"
}
# wc-diff: needs gcc (guest/wcops.c is built static for the guest).
run_wcdiff() {  # run_wcdiff DIR
  local d=$1
  command -v gcc >/dev/null || { echo "parity.sh: wc-diff needs gcc (ci/kernel/setup.sh installs it) for guest/wcops.c" >&2; exit 2; }
  gcc -O2 -static -Wall -o "$d/wcops" "$here/guest/wcops.c"
  echo "== wc-diff: scenario: powercut scenario --family writecache --seed $seed"
  "$powercut" scenario --family writecache --seed "$seed" -o "$d/scenario.replay"
  python3 "$here/wcdiff.py" prepare "$d/scenario.replay" "$d"
  "$powercut" parity --family writecache --seed "$seed" --dir "$d/engine" > "$d/engine-parity.txt" ||
    { cat "$d/engine-parity.txt"; echo "parity.sh: powercut parity failed (the engine's run)" >&2; exit 1; }
  local osize csize
  osize=$(stat -c %s "$d/engine/real/origin.img"); csize=$(stat -c %s "$d/engine/real/cache.img")
  truncate -s "$osize" "$d/origin.img" "$d/kernel-device.img" "$d/kernel-engine-readback.img"
  truncate -s "$csize" "$d/cache.img"
  cp --sparse=always "$d/engine/real/origin.img" "$d/engine-origin.img"; cp --sparse=always "$d/engine/real/cache.img" "$d/engine-cache.img"
  { echo "WC_ARGS='$(cat "$d/table-args")'"; echo "cat > /tmp/ops <<'OPS'"; cat "$d/ops.txt"; echo "OPS"
    cat "$here/guest/lib.sh" "$here/guest/wc-diff.sh"; } > "$d/guest-write.sh"
  local grc=0
  "$here/run_guest.sh" --guest-bin "$d/wcops" --log "$d/write.console" "$d/guest-write.sh" "$d/origin.img" "$d/cache.img" \
    "$d/kernel-device.img" "$d/engine-origin.img" "$d/engine-cache.img" "$d/kernel-engine-readback.img" > "$d/run_guest.out" || grc=$?
  tail -1 "$d/run_guest.out"
  if [ "$grc" = 3 ]; then
    echo "== wc-diff: the KERNEL crashed running this scenario: no comparison (console: $d/write.console)"
    grep -a -A3 -E 'kernel BUG at|Oops:|list_del corruption|general protection' "$d/write.console" | head -8 | sed 's/^/    /'
    touch "$d/kernel-crashed"
    return 0
  fi
  [ "$grc" = 0 ] || { echo "parity.sh: the wc-diff guest failed (exit $grc): $d/write.console" >&2; exit 1; }
  for side in KERNEL ENGINE; do
    grep -a "^KERNEL-STATUS-$side " "$d/write.console" | sed "s/^KERNEL-STATUS-$side //; s/\r//" > "$d/kernel-status-${side,,}"
  done
  local targs; targs=$(cat "$d/table-args")
  # shellcheck disable=SC2086
  "$powercut" recover writecache s "$d/origin.img" "$d/cache.img" $targs --dump "$d/powercut-kernel-dump.img" > /dev/null
  # shellcheck disable=SC2086
  "$powercut" recover writecache s "$d/engine/real/origin.img" "$d/engine/real/cache.img" $targs --dump "$d/powercut-engine-dump.img" > /dev/null
  for side in kernel engine; do
    local c=$d/cache.img; [ $side = kernel ] || c=$d/engine/real/cache.img
    "$powercut" inspect "$c" --format writecache --start-sector "$(echo "$targs" | sed -n 's/.*start_sector \([0-9]*\).*/\1/p' | grep . || echo 0)" \
      | sed -n 's/^ *Status : //p' > "$d/powercut-status-$side" || true
  done
  echo "$KPKG $KPKG_VERSION" > "$d/kernel-version"
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

# wc-log, wc-log-rand: the workload of wclog.py's plan on one logged disk (the origin
# and the cache are dm-linear parts of it in the guest), qemu killed at the mark "cut"
# (KILL=marker) or a seeded delay after the mark "start" (KILL=delay); then the crash
# images from the log, the kernel's read-back of a sample of them (one boot), and
# wclog.py check. Leaves DIR/wclog.out, the report.
run_wclog() {  # run_wclog DIR KILL
  local d=$1 kill=() n
  echo "$seed" > "$d/seed"
  { cat "$here/guest/lib.sh" "$here/guest/wc-log-write.sh"; python3 "$here/wclog.py" plan --seed "$seed"; } > "$d/guest-write.sh"
  truncate -s 8978432 "$d/disk.img"; truncate -s 64M "$d/log.img"
  if [ "$2" = delay ]; then
    delay=$(python3 "$here/wclog.py" delay --seed "$seed" --max 18)
    echo "== wc-log: seed $seed: qemu killed ${delay}s after the workload starts"
    kill=(--kill-after-delay start "$delay")
  else
    echo "== wc-log: seed $seed: qemu killed after the workload (mark cut)"
    kill=(--kill-after-marker cut)
  fi
  "$here/run_guest.sh" "${kill[@]}" --log "$d/write.console" \
    --qemu-arg -blockdev --qemu-arg "driver=file,node-name=disk,filename=$d/disk.img" \
    --qemu-arg -blockdev --qemu-arg "driver=file,node-name=log,filename=$d/log.img" \
    --qemu-arg -blockdev --qemu-arg driver=blklogwrites,node-name=lw,file=disk,log=log,log-sector-size=512 \
    --qemu-arg -device --qemu-arg virtio-blk-pci,drive=lw,write-cache=on "$d/guest-write.sh" | tail -1 | tee "$d/kill.txt"
  grep -a -q 'KERNEL-QUEUE vda write_cache=write back fua=0' "$d/write.console" ||
    { echo "parity.sh: the logged disk is not a volatile write cache without FUA in the guest: $(grep -a KERNEL-QUEUE "$d/write.console")" >&2; exit 1; }
  python3 "$here/wclog.py" images "$d" --seed "$seed" --subsets 100 --kernel 8
  n=$(ls "$d"/kimg-*.img | wc -l)
  truncate -s $((n * 8))M "$d/kernel-readback.img"
  { echo "NIMG=$n WC_ARGS='6 autocommit_time 60000 high_watermark 100 low_watermark 99'"; cat "$here/guest/lib.sh" "$here/guest/wc-log-read.sh"; } > "$d/guest-read.sh"
  local disks=() i
  for i in $(seq 0 $((n - 1))); do disks+=("$d/kimg-$i.img"); done
  "$here/run_guest.sh" --log "$d/read.console" "$d/guest-read.sh" "${disks[@]}" "$d/kernel-readback.img" | tail -1
  python3 "$here/wclog.py" readback "$d"
  rm -f "$d"/kimg-*.img "$d/kernel-readback.img" "$d/disk.img"
}

case " $checks " in *" wc-log"*|*" wc-diff "*)
  command -v python3 >/dev/null || { echo "parity.sh: wc-log and wc-diff need python3 (ci/kernel/setup.sh installs it)" >&2; exit 2; } ;;
esac

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
    wc-pmem) run_wcpmem "$d" ;;
    wc-diff) run_wcdiff "$d" ;;
    wc-log) run_wclog "$d" marker ;;
    wc-log-rand) run_wclog "$d" delay ;;
    *) echo "parity.sh: unknown check $c" >&2; exit 2 ;;
  esac
  if [ "$c" = wc-diff ]; then
    echo "== $c: took $(( $(date +%s) - t0 ))s"
    if [ -f "$d/kernel-crashed" ]; then rc=1; else python3 "$here/wcdiff.py" compare "$d" || rc=1; fi
    continue
  fi
  if [ "${c#wc-log}" != "$c" ]; then
    echo "$KPKG $KPKG_VERSION" > "$d/kernel-version"
    echo "== $c: kernel phase took $(( $(date +%s) - t0 ))s; verifying with powercut"
    t1=$(date +%s)
    python3 "$here/wclog.py" check "$d" --powercut "$powercut" | tee "$d/wclog.out" | grep -v '^  AGREE' || true
    grep -c '^  AGREE' "$d/wclog.out" | sed 's/^/  AGREE   kernel sample images: /'
    grep -q '^wclog: PARITY OK' "$d/wclog.out" || rc=1
    echo "== $c: powercut phase took $(( $(date +%s) - t1 ))s"
    if [ -n "$save" ]; then
      (cd "$d" && tar -c --owner=0 --group=0 --mtime=@0 seed kill.txt guest-write.sh log.img images.txt \
        kernel-readback.blocks kernel-status kernel-version write.console read.console | gzip -9n > "$save/$c.tar.gz.tmp")
      mv "$save/$c.tar.gz.tmp" "$save/$c.tar.gz"
      echo "== $c: saved $save/$c.tar.gz ($(stat -c %s "$save/$c.tar.gz") bytes)"
    fi
    continue
  fi
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
