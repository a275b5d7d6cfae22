# Guest scenario: dm-writecache (SSD mode, 4 KiB blocks) over /dev/vda (origin) and
# /dev/vdb (cache). Origin blocks 0-63 get an "origin" tag first (written directly),
# then four epochs go through the cache; epoch 4 is never flushed: the host kills
# qemu right after the mark "cut" (a power cut), or the script waits for autocommit
# when WAIT_AUTOCOMMIT=1 is set.
wccreate 63
dmsetup table wc
echo "KERNEL-STATUS-AT-CREATE $(dmsetup status wc)"
blocks $W 0 15 1 1;   flush $W   # epoch 1: 16 new blocks
blocks $W 8 23 2 2;   flush $W   # epoch 2: 8 committed blocks overwritten, 8 new
blocks $W 20 31 3 3;  flush $W   # epoch 3
blocks $W 2000 2003 3 3; flush $W  # far blocks (origin has none of its own)
echo "KERNEL-STATUS-BEFORE-E4 $(dmsetup status wc)"
blocks $W 0 3 4 4                 # epoch 4, unflushed: committed blocks overwritten
blocks $W 40 47 4 4               # epoch 4, unflushed: new blocks
echo "KERNEL-STATUS-AT-CUT $(dmsetup status wc)"
mark cut
sleep 30
