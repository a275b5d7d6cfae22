# Guest scenario (docs/kernel-fua.md): does dm-writecache in SSD mode keep a FUA write
# to a newly allocated block across a power cut before the next commit?
# Disks: /dev/vda origin, /dev/vdb cache, /dev/vdc log of the writes reaching the cache
# device, /dev/vdd log of the writes reaching the writecache device. Stack:
#   lwu (log-writes over wc, log vdd)  <- every write of the scenario goes here
#   wc  (writecache s over vda and lwc, autocommit_time 60000: no timed commit)
#   lwc (log-writes over vdb, log vdc)
# Settings: FUA_MODE (fuaw mode of the test write), FUA_AFTER (none | flush).
blocks /dev/vda 0 63 0 0; flush /dev/vda
dmcreate lwc "0 $(blockdev --getsz /dev/vdb) log-writes /dev/vdb /dev/vdc"
dmcreate wc "0 $(blockdev --getsz /dev/vda) writecache s /dev/vda /dev/mapper/lwc 4096 $WC_ARGS"
dmcreate lwu "0 $(blockdev --getsz /dev/mapper/wc) log-writes /dev/mapper/wc /dev/vdd"
U=/dev/mapper/lwu
for d in vda vdb dm-0 dm-1 dm-2; do
  echo "KERNEL-QUEUE $d $(cat /sys/block/$d/dm/name 2>/dev/null || echo -) write_cache=$(cat /sys/block/$d/queue/write_cache) fua=$(cat /sys/block/$d/queue/fua)"
done
blocks $U 0 7 1 1; flush $U                      # commit 1: blocks 0-7 cached, committed
dmsetup message lwc 0 mark commit1-done; dmsetup message lwu 0 mark commit1-done
echo "KERNEL-STATUS-BEFORE $(dmsetup status wc)"
tagfill "$(printf 'b%05d.e%d.v%d' 20 2 2)" > /tmp/b20
fuaw "$FUA_MODE" $U 20 /tmp/b20                  # block 20: never cached before
if [ "$FUA_AFTER" = flush ]; then flush $U; fi
dmsetup message lwc 0 mark test-write-done; dmsetup message lwu 0 mark test-write-done
echo "KERNEL-STATUS-AFTER-WRITE $(dmsetup status wc)"
sleep 3                                          # the log-writes threads write their logs
echo "KERNEL-STATUS-AT-CUT $(dmsetup status wc)"
mark cut
sleep 60
