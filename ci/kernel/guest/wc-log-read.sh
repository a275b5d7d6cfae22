# Guest scenario (parity check wc-log): the kernel's read-back of crash images.
# Disks: NIMG crash images of the disk guest/wc-log-write.sh uses (/dev/vda, /dev/vdb,
# ...: origin at sector 0, 8 MiB, cache at sector 16384, 512 KiB), then one output disk
# of NIMG x 8 MiB. For each image: dm-linear origin and cache, the writecache table
# with $WC_ARGS, its dmsetup status right after the load, and the whole 8 MiB logical
# device copied (O_DIRECT) into the image's 8 MiB slot of the output disk.
letters=abcdefghijklmnopqrstuvwxyz
out=/dev/vd$(echo $letters | cut -c$((NIMG + 1)))
i=0
while [ $i -lt "$NIMG" ]; do
  d=/dev/vd$(echo $letters | cut -c$((i + 1)))
  dmcreate o$i "0 16384 linear $d 0"
  dmcreate c$i "0 1024 linear $d 16384"
  dmcreate wc$i "0 16384 writecache s /dev/mapper/o$i /dev/mapper/c$i 4096 $WC_ARGS"
  echo "KERNEL-STATUS-AFTER-LOAD $i $(dmsetup status wc$i)"
  quiet dd if=/dev/mapper/wc$i of=$out bs=1M count=8 seek=$((i * 8)) iflag=direct oflag=direct conv=notrunc,fsync
  echo "KERNEL-STATUS-AFTER-READ $i $(dmsetup status wc$i)"
  dmsetup remove wc$i; dmsetup remove o$i; dmsetup remove c$i
  i=$((i + 1))
done
