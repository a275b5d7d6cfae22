# Guest scenario: loads the same dm-writecache table over copies of the images
# (/dev/vda origin, /dev/vdb cache), prints dmsetup status right after the load, and
# copies the whole logical device onto the blank disk /dev/vdc.
wccreate
echo "KERNEL-STATUS-AFTER-LOAD $(dmsetup status wc)"
dmsetup targets | grep writecache
quiet dd if=$W of=/dev/vdc bs=1M iflag=direct oflag=direct conv=notrunc,fsync
echo "KERNEL-STATUS-AFTER-READ $(dmsetup status wc)"
dmsetup remove wc
