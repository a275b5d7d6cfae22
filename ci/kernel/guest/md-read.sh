# Guest scenario: assembles copies of the two raid1 members (/dev/vda /dev/vdb; an
# external bitmap file on the ext2 disk /dev/vdd when MD_BITMAP is not "internal"),
# prints what mdadm sees before and after, and copies the array onto /dev/vdc.
BM=/dev/vda
if [ "$MD_BITMAP" != internal ]; then
  mkdir -p /bm
  mount -t ext2 /dev/vdd /bm
  BM=$MD_BITMAP
fi
echo "=== KERNEL-SIDE mdadm -X before assembly"
mdadm -X $BM
if [ "$MD_BITMAP" = internal ]; then
  mdadm --assemble /dev/md0 --run /dev/vda /dev/vdb
else
  mdadm --assemble /dev/md0 --run --bitmap="$MD_BITMAP" /dev/vda /dev/vdb
fi
cat /proc/mdstat
echo "KERNEL-ARRAY-SECTORS $(blockdev --getsz /dev/md0)"
echo "KERNEL-EVENTS-AFTER-ASSEMBLY $(mdadm --detail /dev/md0 | sed -n 's/^ *Events : //p')"
quiet dd if=/dev/md0 of=/dev/vdc bs=1M iflag=direct oflag=direct conv=notrunc,fsync
mdadm --wait /dev/md0 || true
cat /proc/mdstat
mdadm --stop /dev/md0
echo "KERNEL-EVENTS-AFTER-STOP $(mdadm --examine /dev/vda | sed -n 's/^ *Events : //p')"
