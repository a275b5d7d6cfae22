#!/usr/bin/env bash
# ctest entry point for one stored kernel-parity case: unpacks testdata/CHECK.tar.gz
# (images the Linux kernel made in qemu, and what it reported) into WORKDIR and runs
# verify.sh on it, with testdata/CHECK.known-differences when there is one. No qemu.
# A wc-log case (the kernel's blklogwrites log, the seed, the kernel's read-back of a
# sample) runs wclog.py check instead: every crash image rebuilt from the log and
# recovered by powercut under the oracle, the sample compared with the kernel's
# (needs python3; exit 77, a skip, without it).
#   check_testdata.sh POWERCUT CHECK WORKDIR     exit 0 pass, 1 difference, 2 bad input
set -euo pipefail
[ $# -eq 3 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
tarball=$here/testdata/$2.tar.gz
[ -f "$tarball" ] || { echo "check_testdata.sh: no $tarball" >&2; exit 2; }
rm -rf "$3"
mkdir -p "$3"
tar -xzf "$tarball" -C "$3"
known=()
[ ! -f "$here/testdata/$2.known-differences" ] || known=("$here/testdata/$2.known-differences")
echo "kernel: $(cat "$3/kernel-version")  case: $2"
if [ -f "$3/log.img" ]; then
  command -v python3 >/dev/null || { echo "SKIP: python3 is not installed (apt-get install python3)"; exit 77; }
  exec python3 "$here/wclog.py" check "$3" --powercut "$1"
fi
exec "$here/verify.sh" "$1" "$3" "${known[@]}"
