# Guest scenario (docs/kernel-fua.md): fua-write.sh without the dm-log-writes layers,
# in case they change what happens: writecache (SSD mode, autocommit_time 60000) over
# /dev/vda (origin) and /dev/vdb (cache) directly; commit 1 = blocks 0-7; then one FUA
# write (fuaw aio-dsync) to the never cached block 20, and the power cut.
blocks /dev/vda 0 63 0 0; flush /dev/vda
wccreate
for d in vda vdb dm-0; do
  echo "KERNEL-QUEUE $d $(cat /sys/block/$d/dm/name 2>/dev/null || echo -) write_cache=$(cat /sys/block/$d/queue/write_cache) fua=$(cat /sys/block/$d/queue/fua)"
done
blocks $W 0 7 1 1; flush $W
echo "KERNEL-STATUS-BEFORE $(dmsetup status wc)"
tagfill "$(printf 'b%05d.e%d.v%d' 20 2 2)" > /tmp/b20
fuaw "$FUA_MODE" $W 20 /tmp/b20
echo "KERNEL-STATUS-AFTER-WRITE $(dmsetup status wc)"
sleep 3
echo "KERNEL-STATUS-AT-CUT $(dmsetup status wc)"
mark cut
sleep 60
