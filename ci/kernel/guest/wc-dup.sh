# Guest scenario: dm-writecache (SSD mode, 4 KiB blocks, a 127-block cache) over
# /dev/vda (origin, slowed down by the host) and /dev/vdb (cache). Epoch 1 writes 80
# blocks (most are written back at once: past the high watermark); the "flush"
# message writes the rest back (slowly) while blocks 0-59 are overwritten, flushed
# every 20, then blocks 63-79, still under writeback, are overwritten and flushed: an
# overwrite of a block under writeback takes a new entry (a committed duplicate).
# Blocks 60-62 are unflushed when the host kills qemu, mid-writeback.
wccreate 15
tagfile /tmp/e1 0 79 1 1
quiet dd if=/tmp/e1 of=$W bs=4096 oflag=direct conv=notrunc; flush $W
echo "KERNEL-STATUS-AFTER-E1 $(dmsetup status wc)"
dmsetup message wc 0 flush &
sleep 0.5
for r in 0 20 40; do
  blocks $W $r $((r + 19)) 2 2
  flush $W
  echo "KERNEL-STATUS-AFTER-E2-$r $(dmsetup status wc)"
done
blocks $W 63 79 3 3; flush $W       # still under writeback: committed duplicates
echo "KERNEL-STATUS-AFTER-E3 $(dmsetup status wc)"
blocks $W 60 62 4 4
echo "KERNEL-STATUS-AT-CUT $(dmsetup status wc)"
mark cut
sleep 30
