# Guest scenario (parity check wc-pmem): loads the same pmem-mode dm-writecache table
# over copies of the images (/dev/vda origin; /dev/pmem0 the persistent memory, put
# back at the same place of the guest's RAM file), prints dmsetup status right after
# the load, and copies the whole logical device onto the blank disk /dev/vdb.
dmcreate wc "0 $(blockdev --getsz /dev/vda) writecache p /dev/vda /dev/pmem0 4096 $WC_ARGS"
W=/dev/mapper/wc
echo "KERNEL-STATUS-AFTER-LOAD $(dmsetup status wc)"
quiet dd if=$W of=/dev/vdb bs=1M iflag=direct oflag=direct conv=notrunc,fsync
echo "KERNEL-STATUS-AFTER-READ $(dmsetup status wc)"
dmsetup remove wc
