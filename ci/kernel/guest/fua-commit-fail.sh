# Guest scenario (docs/kernel-fua.md, Task B): in dm-writecache SSD mode, when the
# metadata write of a commit fails, does the kernel still write the new superblock?
# Disks: /dev/vda origin, /dev/vdb cache (2 MiB: 509 blocks, metadata in sectors 0-23),
# /dev/vdc log of the writes reaching the cache device. Stack:
#   wc  (writecache s over vda and lw, autocommit_time 60000)
#   lw  (log-writes over cl, log vdc)
#   cl  (dm-linear over vdb; before the failing commit its table is swapped for
#        FAIL=metadata: sectors 0-7 linear, 8-end dm-error: the metadata write fails
#             (its part in sectors 8-23), a superblock write (sectors 0-7) would not;
#             the error target gets no flushes, so the flush succeeds
#        FAIL=flush: sectors 0-23 (metadata) linear, 24-end dm-flakey always down with
#             error_writes: the metadata write succeeds, the flush fails (dm sends a
#             flush to every target, and flakey fails it as a write)
# BACK=1: afterwards cl gets its linear table back, and a write, a second flush and a
# suspend of wc are tried (does the error state stop later commits?).
# Sectors 0-7 hold the superblock and entries 0-251, sectors 8-15 entries 252-507.
cs=$(blockdev --getsz /dev/vdb)
dmcreate cl "0 $cs linear /dev/vdb 0"
dmcreate lw "0 $cs log-writes /dev/mapper/cl /dev/vdc"
dmcreate wc "0 $(blockdev --getsz /dev/vda) writecache s /dev/vda /dev/mapper/lw 4096 $WC_ARGS"
W=/dev/mapper/wc
tagfile /tmp/e1 0 259 1 1
quiet dd if=/tmp/e1 of=$W bs=4096 seek=0 oflag=direct conv=notrunc
flush $W                                          # commit 1: cache blocks 0-259
echo "KERNEL-STATUS-COMMIT1 $(dmsetup status wc)"
blocks $W 300 309 2 2                             # epoch 2: entries 260-269 (sectors 8-15)
dmsetup message lw 0 mark epoch2-written
echo "KERNEL-STATUS-EPOCH2 $(dmsetup status wc)"
if [ "$FAIL" = metadata ]; then
  dmsetup load cl --table "0 8 linear /dev/vdb 0
8 $((cs - 8)) error"
else
  dmsetup load cl --table "0 24 linear /dev/vdb 0
24 $((cs - 24)) flakey /dev/vdb 24 0 600 1 error_writes"
fi
dmsetup suspend cl; dmsetup resume cl
dmsetup table cl
if dd if=/dev/null of=$W conv=notrunc,fsync 2>/tmp/flush.err; then
  echo "KERNEL-FLUSH succeeded"
else
  echo "KERNEL-FLUSH failed: $(tr '\n' ' ' < /tmp/flush.err)"
fi
dmsetup message lw 0 mark failed-commit-done
echo "KERNEL-STATUS-AFTER-FAILED-COMMIT $(dmsetup status wc)"
if [ "${BACK:-0}" = 1 ]; then
  # cl back to linear: does the error state stop later commits (a flush, a suspend)?
  dmsetup load cl --table "0 $cs linear /dev/vdb 0"; dmsetup suspend cl; dmsetup resume cl
  blocks $W 320 320 3 3 2>&1 | sed 's/^/KERNEL-WRITE-AFTER-ERROR /' || echo "KERNEL-WRITE-AFTER-ERROR failed"
  if dd if=/dev/null of=$W conv=notrunc,fsync 2>/tmp/flush.err; then echo "KERNEL-FLUSH-2 succeeded"
  else echo "KERNEL-FLUSH-2 failed: $(tr '\n' ' ' < /tmp/flush.err)"; fi
  dmsetup message lw 0 mark second-flush-done
  dmsetup suspend wc && echo "KERNEL-SUSPEND-WC done"
  dmsetup message lw 0 mark wc-suspended
  echo "KERNEL-STATUS-AFTER-SUSPEND $(dmsetup status wc)"
  dmsetup resume wc
fi
dmesg | grep -i -E 'writecache|I/O error|log-writes' | tail -8 | sed 's/^/KERNEL-DMESG /' || true
sleep 3                                           # the log-writes thread writes its log
mark cut
sleep 60
