#!/usr/bin/env bash
# Writes testdata/MANIFEST.md from the stored cases (testdata/*.tar.gz): for each, the
# kernel that made it, the scenario, and what the kernel recorded (the expected
# results verify.sh checks powercut against). parity.sh --save-testdata runs it.
#   manifest.sh [TESTDATA_DIR]
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")" && pwd)/testdata}
get() { tar -xzOf "$1" "./$2" 2>/dev/null || tar -xzOf "$1" "$2" 2>/dev/null || true; }
{
  echo "# Kernel-made test data"
  echo
  echo "Written by ci/kernel/manifest.sh; made by \`ci/kernel/parity.sh --save-testdata"
  echo "ci/kernel/testdata\` (docs/kernel-parity.md). Each CASE.tar.gz holds the images the"
  echo "kernel left at the power cut, the guest scripts (guest-write.sh, guest-read.sh),"
  echo "both consoles and what the kernel and host mdadm reported; the ctest test"
  echo "kernel_parity.CASE unpacks it and runs verify.sh. A wc-log case holds instead the"
  echo "kernel's blklogwrites log of the run, the seed that draws the crash images, and the"
  echo "kernel's read-back of a sample of them; its test runs \`wclog.py check\`."
  for t in "$dir"/*.tar.gz; do
    c=$(basename "$t" .tar.gz)
    echo
    echo "## $c"
    echo
    echo "- kernel: $(get "$t" kernel-version)"
    if [ -n "$(tar -tzf "$t" | grep -x -e log.img -e ./log.img)" ]; then
      # A wc-log case: the kernel's blklogwrites log, checked by wclog.py check.
      imgs=$(get "$t" images.txt | grep -v '^#')
      echo "- made by \`ci/kernel/parity.sh --seed $(get "$t" seed) $c\` (ci/kernel/wclog.py, guest/wc-log-write.sh); table \`writecache s\` with \`$(get "$t" guest-write.sh | sed -n "s/^WC_ARGS='\(.*\)'$/\1/p")\`"
      echo "- $(get "$t" kill.txt | sed 's/^run_guest: //'); crash images: $(echo "$imgs" | wc -l) ($(echo "$imgs" | grep -c '^F') flush points, the whole log, $(echo "$imgs" | grep -c '^S') seeded subsets after a flush)"
      echo "- the kernel's read-back of the sample (dmsetup status after loading; the blocks are in kernel-readback.blocks):"
      get "$t" kernel-status | sed 's/^\([^ ]*\) \(.*\)/    \1: `\2`/'
      continue
    fi
    echo "- table: \`$(get "$t" table)\`, device $(get "$t" device-bytes) bytes"
    echo "- scenario (guest/), with \`$(get "$t" guest-write.sh | head -1)\`:"
    get "$t" guest-write.sh | awk '/^# Guest scenario/ { on = 1 } on && !/^#/ { exit } on' | sed 's/^# */    /'
    echo "- kernel read-back sha256: \`$(get "$t" kernel-readback.sha256)\`"
    echo "- kernel read-back blocks (4 KiB, tag versions): $(get "$t" kernel-readback.blockmap | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
    status=$(get "$t" kernel-status)
    [ -z "$status" ] || echo "- dmsetup status after loading the table: \`$status\`"
    dirty=$(get "$t" mdadm-X-m0.txt; get "$t" mdadm-X-bitmap.txt)
    [ -z "$dirty" ] || echo "- mdadm -X: \`$(echo "$dirty" | sed -n 's/^ *Bitmap : //p' | head -1)\`"
    mirrors=$(get "$t" mirror-blockmaps)
    [ -z "$mirrors" ] || echo "$mirrors" | sed 's/^\(m[01]\): /- member \1 holds: /'
    if [ -f "$dir/$c.known-differences" ]; then
      echo "- known differences (powercut bugs): $(sed 's/#.*//; /^ *$/d' "$dir/$c.known-differences" | tr '\n' ' ')"
    fi
  done
} > "$dir/MANIFEST.md"
echo "wrote $dir/MANIFEST.md"
