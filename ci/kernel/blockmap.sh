#!/usr/bin/env bash
# Prints which tagged version each 4 KiB block of an image holds, one line per run
# of consecutive blocks: "FIRST-LAST eE.vV" (the tags written by guest/lib.sh; a
# block whose 256 tags are not all the same is "mixed"). Untagged blocks are left out.
# FIRST_BLOCK counts blocks from there (an md member's data offset: 256 for 1 MiB).
#   blockmap.sh IMAGE [BLOCK_BYTES [FIRST_BLOCK]]
set -euo pipefail
bs=${2:-4096}
first=${3:-0}
LC_ALL=C grep -a -b -o 'b[0-9]\{5\}\.e[0-9]\.v[0-9]*' "$1" |
  awk -F: -v bs="$bs" -v first="$first" -v per=$((bs / 16)) '
    { b = int($1 / bs) - first; n[b]++; v = substr($2, 8); if (substr($2, 2, 5) + 0 != b) v = "moved:" $2; if (!(b in t)) t[b] = v; else if (t[b] != v) t[b] = "mixed" }
    END {
      for (b in n) { if (n[b] != per) t[b] = "mixed"; print b, t[b] }
    }' | sort -n | awk '
    function out() { if (first != "") print (first == last ? first : first "-" last), tag }
    { if ($2 == tag && $1 == last + 1) { last = $1; next } out(); first = $1; last = $1; tag = $2 }
    END { out() }'
