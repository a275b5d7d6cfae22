# Guest scenario (parity check wc-log): dm-writecache (SSD mode) whose origin and
# cache are two dm-linear parts of ONE virtio disk, /dev/vda, which qemu's
# blklogwrites driver logs on the host: every write and flush of the kernel, in one
# order (wclog.py builds the crash images from that log). Layout of /dev/vda, in
# 512-byte sectors: origin 0-16383 (8 MiB), cache 16384-17407 (512 KiB), fsync
# markers 17408-17535 (one 4 KiB block per epoch).
# The workload (epochs of tagged block writes, each ended by fsync and then a marker
# write) is appended by the host (`wclog.py plan`); it calls the functions below and
# ends with `mark cut`.
O=/dev/mapper/o; C=/dev/mapper/c; W=/dev/mapper/wc
echo "KERNEL-QUEUE vda write_cache=$(cat /sys/block/vda/queue/write_cache) fua=$(cat /sys/block/vda/queue/fua)"
dmcreate o "0 16384 linear /dev/vda 0"
dmcreate c "0 1024 linear /dev/vda 16384"
w() {  # w BLOCK EPOCH VERSION: one tagged 4 KiB block through the cache
  blk $W "$1" "$(printf 'b%05d.e%d.v%d' "$1" "$2" "$3")"
}
prefill() {  # prefill LAST: origin blocks 0..LAST tagged e0.v0, written under the cache
  blocks $O 0 "$1" 0 0; flush /dev/vda
}
create() {
  dmcreate wc "0 16384 writecache s $O $C 4096 $WC_ARGS"
  dmsetup table wc
}
fsync_done() {  # fsync_done EPOCH: epoch EPOCH's fsync returned: its marker block on vda
  blk /dev/vda $((2176 + $1)) "$(printf 'fsync-done.e%d' "$1")"
  echo "POWERCUT-MARK fsync-e$1"
}
