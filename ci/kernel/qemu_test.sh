#!/usr/bin/env bash
# ctest entry point (label kernel) for the live parity checks: runs parity.sh in qemu
# with the given powercut, or skips (exit 77) with the reason when qemu, python3, gcc or
# the cached kernel (ci/kernel/setup.sh) is absent.
#   qemu_test.sh POWERCUT WORKDIR [CHECK...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"
[ $# -ge 2 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
for c in qemu-system-x86_64 python3 gcc; do
  command -v "$c" >/dev/null || { echo "SKIP: $c is not installed (run ci/kernel/setup.sh)"; exit 77; }
done
[ -f "$KCACHE/base.cpio.gz" ] && [ -f "$KCACHE/vmlinuz" ] ||
  { echo "SKIP: no cached kernel in $KCACHE (run ci/kernel/setup.sh)"; exit 77; }
exec "$here/parity.sh" --powercut "$1" --out "$2" "${@:3}"
