# Guest scenario (parity check wc-pmem): dm-writecache in pmem mode over /dev/vda
# (origin) and /dev/pmem0, 16 MiB of legacy persistent memory that the kernel
# parameter memmap=16M!256M carves out of the guest's RAM (nd_e820, nd_pmem; raw mode
# with struct pages, so DAX works as dm-writecache needs); qemu backs the guest's RAM
# with a shared file, so every store the kernel made is in that file when qemu is
# killed. Origin blocks 0-63 get an "origin" tag first, then four epochs through the
# cache (committed overwrites, a writeback by the "flush" message between epochs 2 and
# 3); epoch 4 is never flushed: the host kills qemu right after the mark "cut".
echo "KERNEL-PMEM $(blockdev --getsz /dev/pmem0) sectors, dax=$(cat /sys/block/pmem0/queue/dax)"
quiet dd if=/dev/zero of=/dev/pmem0 bs=4096 count=1 conv=notrunc,fsync  # a new cache
blocks /dev/vda 0 63 0 0; flush /dev/vda
dmcreate wc "0 $(blockdev --getsz /dev/vda) writecache p /dev/vda /dev/pmem0 4096 $WC_ARGS"
W=/dev/mapper/wc
dmsetup table wc
echo "KERNEL-STATUS-AT-CREATE $(dmsetup status wc)"
blocks $W 0 15 1 1;   flush $W   # epoch 1: 16 new blocks
blocks $W 8 23 2 2;   flush $W   # epoch 2: 8 committed blocks overwritten, 8 new
dmsetup message wc 0 flush       # every committed block written back
echo "KERNEL-STATUS-AFTER-WRITEBACK $(dmsetup status wc)"
blocks $W 20 31 3 3;  flush $W   # epoch 3
blocks $W 2000 2003 3 3; flush $W  # far blocks (origin has none of its own)
blocks $W 4 7 3 4;    flush $W   # written-back blocks cached again
echo "KERNEL-STATUS-BEFORE-E4 $(dmsetup status wc)"
blocks $W 0 3 4 5                 # epoch 4, unflushed: overwrites
blocks $W 40 47 4 4               # epoch 4, unflushed: new blocks
echo "KERNEL-STATUS-AT-CUT $(dmsetup status wc)"
mark cut
sleep 30
