# Guest scenario: md raid1 (metadata 1.2, /dev/vda /dev/vdb, internal bitmap, 64 KiB
# chunks, --assume-clean). Epoch 1 writes blocks, is flushed, and md clears the bits;
# then a writer keeps rewriting the 1 MiB at blocks 1024-1279 with versions 1 and 2
# in turn (direct 1 MiB writes) and the host kills qemu while it runs, so the two
# mirrors may hold different versions there.
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 \
  --bitmap=internal --bitmap-chunk=64K --assume-clean /dev/vda /dev/vdb
M=/dev/md0
blocks $M 0 15 1 1
flush $M
tagfile /tmp/v1 1024 1279 2 1
tagfile /tmp/v2 1024 1279 2 2
i=0
while [ $i -lt 40 ] && ! mdadm -X /dev/vda | grep ' 0 dirty' >/dev/null; do sleep 1; i=$((i + 1)); done
echo "bitmap clean after ${i}s"
while :; do
  for v in 1 2; do quiet dd if=/tmp/v$v of=$M bs=1M seek=4 count=1 oflag=direct conv=notrunc; done
done &
sleep 1
mark cut
sleep 30
