#!/bin/sh
# The guest's /init: mounts proc, sys and devtmpfs, loads the dm/md/virtio modules,
# runs the scenario /scenario.sh (sh -eu -o pipefail: the first failing command ends
# it), prints "POWERCUT-GUEST-DONE rc=N" and powers off.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/mapper /run/mdadm
for m in $(cat /etc/guest-modules); do modprobe "$m" || echo "POWERCUT-GUEST: modprobe $m failed"; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
echo "POWERCUT-GUEST-START"
sh -eu -o pipefail /scenario.sh
rc=$?
echo "POWERCUT-GUEST-DONE rc=$rc"
poweroff -f
