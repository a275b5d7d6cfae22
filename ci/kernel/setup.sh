#!/usr/bin/env bash
# Prepares the kernel-parity checks: installs qemu, busybox-static, mdadm, dmsetup,
# cpio, kmod, debugfs, losetup, python3 (wclog.py, wcdiff.py) and gcc with libc6-dev
# (wc-diff's static guest helper) (apt-get, idempotent; kernel.env lists the
# packages), downloads the pinned Debian 6.1 cloud kernel package and unpacks it
# into the cache folder (never installing it on the host), regenerates its
# modules.dep, and builds the base initramfs (busybox, dmsetup, mdadm, their
# libraries, the dm/md/virtio/pmem modules and /init) that run_guest.sh extends with a
# scenario. A second run finds everything cached and does nothing slow.
#
#   ci/kernel/setup.sh            (cache: build/kernel-cache, or $POWERCUT_KERNEL_CACHE)
#   POWERCUT_KERNEL_NO_INSTALL=1  do not run apt-get; exit 2 if something is missing
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel.env"

die() { echo "ci/kernel/setup.sh: $*" >&2; exit 2; }

# 1. Host packages.
need_cmds="qemu-system-x86_64 busybox dmsetup mdadm cpio depmod modprobe gzip debugfs losetup python3 gcc"
missing=""
for c in $need_cmds; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
if [ -n "$missing" ] || ! dpkg -s busybox-static >/dev/null 2>&1; then
  if [ "${POWERCUT_KERNEL_NO_INSTALL:-0}" = 1 ]; then
    die "missing:${missing:- busybox-static} (install: apt-get install -y --no-install-recommends $HOST_PACKAGES)"
  fi
  [ "$(id -u)" = 0 ] || die "missing:$missing and not root: apt-get install $HOST_PACKAGES"
  echo "setup: apt-get install $HOST_PACKAGES"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends $HOST_PACKAGES >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y --no-install-recommends $HOST_PACKAGES >/dev/null; } ||
    die "apt-get install $HOST_PACKAGES failed"
  for c in $need_cmds; do command -v "$c" >/dev/null 2>&1 || die "still missing after install: $c"; done
fi

mkdir -p "$KCACHE"

# 2. The pinned kernel, unpacked (not installed).
if [ ! -f "$KROOT/.unpacked-$KPKG_VERSION" ]; then
  echo "setup: downloading $KPKG=$KPKG_VERSION"
  rm -rf "$KCACHE/deb" "$KROOT"
  mkdir -p "$KCACHE/deb" "$KROOT"
  (cd "$KCACHE/deb" && apt-get download "$KPKG=$KPKG_VERSION" >/dev/null 2>&1) ||
    { apt-get update -qq >/dev/null 2>&1 || true
      (cd "$KCACHE/deb" && apt-get download "$KPKG=$KPKG_VERSION"); } ||
    die "cannot download $KPKG=$KPKG_VERSION (apt-cache policy $KPKG; a newer Debian security update may have replaced it: pin the new version in ci/kernel/kernel.env)"
  dpkg -x "$KCACHE"/deb/*.deb "$KROOT"
  depmod -b "$KROOT" "$KVER"
  touch "$KROOT/.unpacked-$KPKG_VERSION"
fi
[ -f "$KROOT/boot/vmlinuz-$KVER" ] || die "no vmlinuz in $KROOT"

# 3. The base initramfs (rebuilt when this script or the guest /init changes).
stamp=$(cat "$here/setup.sh" "$here/guest-init.sh" "$here/kernel.env" | md5sum | cut -c1-16)
if [ ! -f "$KCACHE/base-$stamp.cpio.gz" ]; then
  echo "setup: building the base initramfs"
  base="$KCACHE/base"
  rm -rf "$base"
  mkdir -p "$base"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib64,mnt}
  cp /bin/busybox "$base/bin/busybox"
  for tool in $(/bin/busybox --list); do [ "$tool" = busybox ] || ln -sf busybox "$base/bin/$tool"; done
  for tool in /usr/sbin/dmsetup /usr/sbin/mdadm; do
    cp "$tool" "$base/sbin/"
    for lib in $(ldd "$tool" | grep -o '/[^ ]*' | sort -u); do
      mkdir -p "$base$(dirname "$lib")"
      cp -L "$lib" "$base$lib"
    done
  done
  # Modules and everything they depend on, with the regenerated modules.dep.
  moddir="lib/modules/$KVER"
  mkdir -p "$base/$moddir"
  for m in $GUEST_MODULES; do
    modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" 2>/dev/null | awk '$1=="insmod"{print $2}'
  done | sort -u | while read -r ko; do
    rel=${ko#"$KROOT"/}
    mkdir -p "$base/$(dirname "$rel")"
    cp "$ko" "$base/$rel"
  done
  cp "$KROOT/$moddir"/modules.{order,builtin,builtin.modinfo} "$base/$moddir/" 2>/dev/null || true
  depmod -b "$base" "$KVER"
  echo "$GUEST_MODULES" > "$base/etc/guest-modules"
  cp "$here/guest-init.sh" "$base/init"
  chmod +x "$base/init"
  rm -f "$KCACHE"/base-*.cpio.gz
  (cd "$base" && find . | cpio -o -H newc --quiet | gzip -1) > "$KCACHE/base-$stamp.cpio.gz.tmp"
  mv "$KCACHE/base-$stamp.cpio.gz.tmp" "$KCACHE/base-$stamp.cpio.gz"
fi
ln -sf "base-$stamp.cpio.gz" "$KCACHE/base.cpio.gz"
ln -sf "$KROOT/boot/vmlinuz-$KVER" "$KCACHE/vmlinuz"
echo "setup: ready: kernel $KVER ($KPKG $KPKG_VERSION) in $KCACHE"
