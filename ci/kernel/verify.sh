#!/usr/bin/env bash
# Checks powercut against what the Linux kernel left and reported for one parity
# check folder (made by parity.sh, or unpacked from testdata/ by the ctest tests):
#  - `powercut recover ... --dump` of the kernel-made images must equal the kernel's
#    own read-back of the logical device (sha256 over the device; on a difference
#    the block maps of both sides are printed);
#  - writecache: `powercut inspect` Status and recover's `after.status` must equal the
#    kernel's `dmsetup status` right after loading the table;
#  - raid1: every field `powercut inspect` and mdadm (--examine, -X) both print must
#    have the same value.
# Each difference has a short key (e.g. recover-refuses, status-inspect, dump). With
# KNOWN, a file listing keys (one a line, # comments), the differences must be exactly
# those: known powercut bugs keep the CI tests green, and a fixed one fails the test
# until its key is removed.
#   verify.sh POWERCUT DIR [KNOWN]   exit 0 all agree (or exactly the known
#                                    differences), 1 a difference, 2 unusable input
set -euo pipefail

[ $# -ge 2 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
known=""
[ $# -lt 3 ] || known=$(cd "$(dirname "$3")" && pwd)/$(basename "$3")
powercut=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
cd "$2"
[ -f table ] && [ -f kernel-readback.sha256 ] || { echo "verify.sh: $2 is not a parity folder" >&2; exit 2; }

keys=""
ok() { echo "  AGREE   $*"; }
differ() { echo "  DIFFER  [$1] ${*:2}"; keys="$keys $1"; }

# fieldcmp WHAT POWERCUT_FILE MDADM_FILE: compare the "Name : value" fields both print.
fieldcmp() {
  local f only
  f=$(awk -F' : ' 'FILENAME == ARGV[1] { if (NF >= 2) { k = $1; gsub(/^ +| +$/, "", k); v[k] = $2 } next }
      NF >= 2 { k = $1; gsub(/^ +| +$/, "", k); if (k == "Filename") next
                if (k in v) { seen[k] = 1; if (v[k] != $2) print "field " k ": powercut \"" v[k] "\", mdadm \"" $2 "\"" }
                else print "only mdadm prints " k " : " $2 }
      END { for (k in v) if (!(k in seen) && k != "Filename") print "only powercut prints " k " : " v[k] }' "$2" "$3" | sort)
  if [ -z "$(echo "$f" | grep '^field' || true)" ]; then ok "$1: every field both print"; else
    while read -r l; do k=${l#field }; differ "field:${k%%:*}" "$1: $l"; done <<< "$(echo "$f" | grep '^field')"; fi
  only=$(echo "$f" | grep '^only' || true)
  [ -z "$only" ] || echo "$only" | sed "s/^/  NOTE    $1: /"
}

read -r engine rest < table
bytes=$(cat device-bytes)
if [ "$engine" = writecache ]; then
  # shellcheck disable=SC2086
  "$powercut" recover writecache $rest --dump powercut-dump.img --json > powercut-recover.json
  cache=$(echo "$rest" | awk '{print $3}')
  "$powercut" inspect "$cache" --format writecache > powercut-inspect.txt || true
  kstatus=$(cut -d' ' -f4- kernel-status)
  istatus=$(sed -n 's/^ *Status : //p' powercut-inspect.txt)
  if [ "$istatus" = "$kstatus" ]; then ok "inspect Status = kernel dmsetup status after load: $kstatus"
  else differ status-inspect "inspect Status \"$istatus\", kernel dmsetup status \"$kstatus\""; fi
  # recover's status is taken after its dump, which reads only the device's data
  # ranges: compare it with the kernel's status after reading the whole device, all
  # fields but "reads" (field 5), which counts the blocks each side chose to read.
  rstatus=$(grep -o '"status": *"[^"]*"' powercut-recover.json | head -1 | sed 's/.*: *"//; s/"$//' || true)
  kread=$(cut -d' ' -f4- kernel-status-after-read)
  if [ "$(echo "$rstatus" | cut -d' ' -f1-4,6-)" = "$(echo "$kread" | cut -d' ' -f1-4,6-)" ]; then
    ok "recover after.status = kernel status after its full read, but for reads (powercut $(echo "$rstatus" | cut -d' ' -f5), kernel $(echo "$kread" | cut -d' ' -f5))"
  else differ status-recover "recover after.status \"$rstatus\", kernel after its full read \"$kread\""; fi
else
  bm=()
  [ -f bitmap.file ] && bm=(--bitmap bitmap.file)
  # shellcheck disable=SC2086
  if ! "$powercut" recover raid1 $rest "${bm[@]}" --dump powercut-dump.img --json > powercut-recover.json 2> recover.err; then
    differ recover-refuses "powercut recover refuses the kernel's images: $(cat recover.err)"
    exit 1
  fi
  for m in $rest; do
    n=${m%.img}
    "$powercut" inspect "$m" --format md > "powercut-inspect-$n.txt" || true
    # The member report is the superblock, then (internal bitmap) the bitmap's fields
    # from the second "Magic" line on.
    awk '/^ *Magic :/ { part++ } part <= 1' "powercut-inspect-$n.txt" > "powercut-inspect-$n.sb"
    awk '/^ *Magic :/ { part++ } part >= 2' "powercut-inspect-$n.txt" > "powercut-inspect-$n.bitmap"
    fieldcmp "md superblock $m (mdadm --examine)" "powercut-inspect-$n.sb" "mdadm-examine-$n.txt"
    if [ -f "mdadm-X-$n.txt" ]; then
      fieldcmp "internal bitmap $m (mdadm -X)" "powercut-inspect-$n.bitmap" "mdadm-X-$n.txt"
    fi
  done
  # The kernel-side count of dirty bits (mdadm -X of the first member, or of the file)
  # must be the number of chunks powercut's assembly resynced.
  kdirty=$(cat mdadm-X-*.txt | sed -n 's/.* \([0-9]*\) dirty.*/\1/p' | head -1)
  resynced=$(grep -o '"resynced_chunks": *[0-9]*' powercut-recover.json | grep -o '[0-9]*$')
  if [ "$kdirty" = "$resynced" ]; then ok "dirty bits (mdadm -X) = chunks powercut resynced: $resynced"
  else differ dirty-count "mdadm -X counts ${kdirty:-?} dirty bits, powercut resynced ${resynced:-?} chunks"; fi
  # Events after assembly: reported, not judged (the kernel's count also follows
  # resync progress and timing).
  kev=$(grep -a -o 'KERNEL-EVENTS-AFTER-ASSEMBLY [0-9]*' read.console 2>/dev/null | grep -o '[0-9]*$' || true)
  pev=$(grep -o '"events": *[0-9]*' powercut-recover.json | grep -o '[0-9]*$')
  echo "  NOTE    events after assembly: powercut $pev, kernel ${kev:-not recorded}"
  if [ -f bitmap.file ]; then
    "$powercut" inspect bitmap.file --format bitmap > powercut-inspect-bitmap.txt || true
    fieldcmp "bitmap file (mdadm -X)" powercut-inspect-bitmap.txt mdadm-X-bitmap.txt
  fi
fi

dump=$(head -c "$bytes" powercut-dump.img | sha256sum | cut -d' ' -f1)
dsize=$(stat -c %s powercut-dump.img)
[ "$dsize" = "$bytes" ] || differ dump-size "powercut dump is $dsize bytes, the kernel's device $bytes"
if [ "$dump" = "$(cat kernel-readback.sha256)" ]; then
  ok "logical device: powercut recover --dump = kernel read-back ($bytes bytes, sha256 ${dump:0:16}...)"
else
  differ dump "logical device: powercut recover --dump differs from the kernel read-back"
  "$here/blockmap.sh" powercut-dump.img > powercut-dump.blockmap
  diff kernel-readback.blockmap powercut-dump.blockmap | sed 's/^/          /' || true
fi
echo "  powercut's block map: $("$here/blockmap.sh" powercut-dump.img | tr '\n' ';')"
found=$(echo $keys | tr ' ' '\n' | sed '/^$/d' | sort -u)
if [ -z "$found" ]; then echo "  PARITY OK"; else echo "  PARITY DIFFERENCES FOUND:" $found; fi
if [ -n "$known" ]; then
  expected=$(sed 's/#.*//; s/ *$//; /^$/d' "$known" | sort -u)
  if [ "$found" = "$expected" ]; then
    [ -z "$found" ] || echo "  (all of them known: $(basename "$known"))"
    exit 0
  fi
  echo "  the differences are not the known ones ($(basename "$known")):"
  diff <(echo "$expected" | sed "/^$/d") <(echo "$found" | sed "/^$/d") | sed -n 's/^< /    no longer differs: /p; s/^> /    new difference: /p'
  exit 1
fi
[ -z "$found" ]
