# Guest scenario (parity check wc-diff): a powercut replay file's operations on
# dm-writecache (SSD mode), then settled; then both sides' images loaded and read.
# Settings: WC_ARGS (block size and optional arguments, from wcdiff.py prepare); the
# host writes the operations to /tmp/ops before this part (for wcops: guest/wcops.c).
# Disks: /dev/vda origin and /dev/vdb cache (blank: the kernel formats the cache),
# /dev/vdc the kernel's device after its run (written here), /dev/vdd and /dev/vde
# the origin and cache powercut's engine left after the same operations, /dev/vdf
# the kernel's read-back of those.
table() { echo "0 $(blockdev --getsz "$1") writecache s $1 $2 $WC_ARGS"; }
dmcreate wc "$(table /dev/vda /dev/vdb)"
echo "KERNEL-STATUS-AT-CREATE $(dmsetup status wc)"
wcops /dev/mapper/wc /tmp/ops
dmsetup message wc 0 flush          # settle as powercut parity does: write every block back,
dmsetup suspend wc; dmsetup resume wc  # then suspend
echo "KERNEL-STATUS-SETTLED $(dmsetup status wc)"
dmsetup remove wc
dmcreate wc "$(table /dev/vda /dev/vdb)"  # the kernel's settled images, loaded again
echo "KERNEL-STATUS-KERNEL $(dmsetup status wc)"
quiet dd if=/dev/mapper/wc of=/dev/vdc bs=64K iflag=direct oflag=direct conv=notrunc,fsync
dmsetup remove wc
dmcreate we "$(table /dev/vdd /dev/vde)"  # the engine's settled images
echo "KERNEL-STATUS-ENGINE $(dmsetup status we)"
quiet dd if=/dev/mapper/we of=/dev/vdf bs=64K iflag=direct oflag=direct conv=notrunc,fsync
dmsetup remove we
