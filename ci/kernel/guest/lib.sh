# Helpers shared by the guest scenarios (prepended to each by the host scripts).
# A block's content is a 16-byte tag "bBBBBB.eE.vV" (padded, newline) repeated to
# fill BS bytes, so every block written is recognisable in a hex dump.
BS=${BS:-4096}
blk() {  # blk DEV BLOCK TAG: write one tagged block with O_DIRECT
  tagfill "$3" > /tmp/blk
  quiet dd if=/tmp/blk of="$1" bs=$BS seek="$2" count=1 oflag=direct conv=notrunc
}
tagfill() {  # tagfill TAG: print BS bytes of TAG lines (doubling: BS a power of two)
  l="$(printf '%-15.15s' "$1")
"
  n=16
  while [ $n -lt $BS ]; do l="$l$l"; n=$((n * 2)); done
  printf '%s' "$l"
}
tagfile() {  # tagfile FILE FIRST LAST EPOCH VERSION: tagged blocks into a file
  b=$2
  while [ $b -le $3 ]; do tagfill "$(printf 'b%05d.e%d.v%d' $b $4 $5)"; b=$((b + 1)); done > "$1"
}
blocks() {  # blocks DEV FIRST LAST EPOCH VERSION
  b=$2
  while [ $b -le $3 ]; do blk "$1" $b "$(printf 'b%05d.e%d.v%d' $b $4 $5)"; b=$((b + 1)); done
}
flush() {  # flush DEV: fsync on the block device sends a flush (REQ_PREFLUSH)
  quiet dd if=/dev/null of="$1" conv=notrunc,fsync
}
quiet() {  # quiet CMD...: run CMD, show its standard error only when it fails
  "$@" 2>/tmp/quiet.err || { r=$?; cat /tmp/quiet.err; return $r; }
}
dmcreate() {  # dmcreate NAME TABLE: there is no udev, so make /dev/mapper/NAME here
  dmsetup create "$1" --table "$2" && dmsetup mknodes "$1"
}
wccreate() {  # wccreate [LAST]: origin blocks 0..LAST tagged first (if given), then the
  # cache "wc" (SSD mode, 4 KiB blocks, $WC_ARGS) over /dev/vda (origin) and /dev/vdb
  # (cache); W is its device
  if [ $# -gt 0 ]; then blocks /dev/vda 0 "$1" 0 0; flush /dev/vda; fi
  dmcreate wc "0 $(blockdev --getsz /dev/vda) writecache s /dev/vda /dev/vdb 4096 $WC_ARGS"
  W=/dev/mapper/wc
}
mark() { echo "POWERCUT-MARK $1"; }
