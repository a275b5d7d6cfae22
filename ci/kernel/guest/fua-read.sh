# Guest scenario (docs/kernel-fua.md): loads writecache over copies of the origin and
# cache images the power cut left (no log-writes now), prints its status, and what
# blocks $READ_BLOCKS (default 0, 7 and 20) read.
dmcreate wc "0 $(blockdev --getsz /dev/vda) writecache s /dev/vda /dev/vdb 4096 $WC_ARGS"
echo "KERNEL-STATUS-AFTER-LOAD $(dmsetup status wc)"
for b in ${READ_BLOCKS:-0 7 20}; do
  echo "KERNEL-READ block $b: $(dd if=/dev/mapper/wc bs=4096 skip=$b count=1 iflag=direct 2>/dev/null | head -c 15)"
done
dmsetup remove wc
if [ -b /dev/vdc ]; then                         # the whole device, for the host to compare
  dmcreate wc "0 $(blockdev --getsz /dev/vda) writecache s /dev/vda /dev/vdb 4096 $WC_ARGS"
  quiet dd if=/dev/mapper/wc of=/dev/vdc bs=1M iflag=direct oflag=direct conv=notrunc,fsync
  dmsetup remove wc
fi
