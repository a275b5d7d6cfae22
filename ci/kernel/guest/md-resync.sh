# Guest scenario: md raid1 (metadata 1.2, /dev/vda /dev/vdb, internal bitmap, 64 KiB
# chunks) created WITHOUT --assume-clean over members that differ: array blocks
# 7000-7167 of /dev/vda hold version 0 first, /dev/vdb is blank. The initial
# resync is slowed (the host throttles /dev/vdb's writes); a few blocks are written
# and flushed on both sides of where it has got to, and the host kills qemu in the
# middle of the resync.
tagfile /tmp/old 7000 7167 0 0
quiet dd if=/tmp/old of=/dev/vda bs=4096 seek=7256 oflag=direct conv=notrunc  # data offset 1 MiB
flush /dev/vda
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 \
  --bitmap=internal --bitmap-chunk=64K /dev/vda /dev/vdb
M=/dev/md0
sleep 2
cat /proc/mdstat
blocks $M 10 11 1 1
blocks $M 7100 7103 1 1
flush $M
cat /proc/mdstat
mark cut
sleep 20
