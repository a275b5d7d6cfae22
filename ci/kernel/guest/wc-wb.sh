# Guest scenario: dm-writecache (SSD mode, 4 KiB blocks, a 127-block cache) over
# /dev/vda (origin, writes slowed down by the host) and /dev/vdb (cache). Epochs of
# 80, 40 and 40 blocks take the cache past its high watermark (50%), so writeback
# runs between and during them: later epochs overwrite blocks that are still cached
# and blocks already written back. Epoch 4 (blocks 10-19, 120-129) is unflushed when
# the host kills qemu.
wccreate 199
tagfile /tmp/e1 0 79 1 1
quiet dd if=/tmp/e1 of=$W bs=4096 oflag=direct conv=notrunc; flush $W   # epoch 1: 80 blocks
echo "KERNEL-STATUS-AFTER-E1 $(dmsetup status wc)"
tagfile /tmp/e2 0 39 2 2
quiet dd if=/tmp/e2 of=$W bs=4096 oflag=direct conv=notrunc; flush $W   # epoch 2: overwrites
echo "KERNEL-STATUS-AFTER-E2 $(dmsetup status wc)"
tagfile /tmp/e3 60 99 3 3
quiet dd if=/tmp/e3 of=$W bs=4096 seek=60 oflag=direct conv=notrunc; flush $W
echo "KERNEL-STATUS-AFTER-E3 $(dmsetup status wc)"
blocks $W 10 19 4 4                 # epoch 4, unflushed
blocks $W 120 129 4 4
echo "KERNEL-STATUS-AT-CUT $(dmsetup status wc)"
mark cut
sleep 30
