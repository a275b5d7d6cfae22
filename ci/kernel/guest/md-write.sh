# Guest scenario: md raid1 (metadata 1.2, two members /dev/vda /dev/vdb, write-intent
# bitmap $MD_BITMAP with 64 KiB chunks, --assume-clean). Epoch 1 writes three regions
# and waits until md has cleared their bits; epoch 2 writes three other regions and
# the host kills qemu right after the mark "cut", leaving their bits dirty.
# MD_BITMAP is "internal" or a file path on /dev/vdc (an ext2 file system made here);
# with MD_ASSEMBLE=1 the members exist already (powercut format) and are assembled.
if [ "$MD_BITMAP" != internal ]; then
  mke2fs -q /dev/vdc
  mkdir -p /bm
  mount -t ext2 /dev/vdc /bm
fi
if [ "${MD_ASSEMBLE:-0}" = 1 ]; then   # members made by powercut format
  mdadm --assemble /dev/md0 --run /dev/vda /dev/vdb
else
  mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 \
    --bitmap="$MD_BITMAP" --bitmap-chunk=64K --assume-clean /dev/vda /dev/vdb
fi
M=/dev/md0
blocks $M 0 15 1 1
blocks $M 100 103 1 1
blocks $M 1000 1000 1 1
flush $M
i=0
while [ $i -lt 40 ] && ! mdadm -X "$( [ "$MD_BITMAP" = internal ] && echo /dev/vda || echo "$MD_BITMAP")" | grep ' 0 dirty' >/dev/null; do
  sleep 1; i=$((i + 1))
done
echo "bitmap clean after ${i}s"
blocks $M 16 31 2 2
blocks $M 300 301 2 2
blocks $M 4000 4000 2 2
cat /proc/mdstat
mark cut
sleep 30
