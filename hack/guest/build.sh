#!/usr/bin/env bash
# Builds (once, cached) the qemu test guest: a stock Debian kernel plus a small initramfs
# whose /init shares the host's / read-only over 9p, chroots into it and runs a host script.
# Prints "kernel=PATH" and "initrd=PATH" on stdout; progress goes to stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

start=$SECONDS
# The guest needs these modules; their dependencies are added from modules.dep.
# bridge and veth are for pods on the node guest (the bridge CNI plugin); virtio_blk and ext4 for
# its containerd disk (hack/bed/containerd-disk.ts; ext4 of 6.1 needs crc32c at every mount).
WANTED_MODULES=(virtio_pci virtio_net 9pnet_virtio 9p overlay nfsv3 nfsv4 bridge veth virtio_blk crc32c_generic ext4)

ensure_packages() {
  bash "$(dirname "$0")/../lib/apt-install.sh" qemu-system-x86 busybox-static nfs-common xz-utils
}

# The ABI name (e.g. 6.1.0-56-amd64) of the kernel linux-image-amd64 currently depends on.
kernel_version() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-//p' | head -n1)
  if [[ -z $pkg ]]; then
    apt-get update >&2
    pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: linux-image-//p' | head -n1)
  fi
  [[ -n $pkg ]] || die "cannot tell which kernel linux-image-amd64 points to"
  printf '%s\n' "$pkg"
}

# Decompresses the xz payload of a bzImage into an ELF vmlinux, using the offsets in the
# boot protocol header (setup_sects at 0x1f1, payload_offset/length at 0x248/0x24c).
extract_vmlinux() {
  local bz=$1 out=$2 sects offset length
  sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
  offset=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
  length=$(od -An -tu4 -j $((0x24c)) -N4 "$bz" | tr -d ' ')
  dd if="$bz" iflag=skip_bytes,count_bytes skip=$(((sects + 1) * 512 + offset)) count="$length" bs=64K 2>/dev/null |
    xz -dc --single-stream >"$out" 2>/dev/null &&
    [[ $(head -c 4 "$out" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]
}

# Prints the module paths (relative to the modules dir) for NAME, dependencies first.
declare -A seen=()
module_order() {
  local name=$1 line path dep
  line=$(grep -E "(^|/)${name}\.ko(\.xz)?:" "$moddir/modules.dep") || die "module $name not found"
  path=${line%%:*}
  [[ -n ${seen[$path]:-} ]] && return 0
  seen[$path]=1
  for dep in ${line#*:}; do
    dep=${dep##*/}
    module_order "${dep%%.ko*}"
  done
  printf '%s\n' "$path"
}

# Copies a host binary to the same path in the initramfs, with the libraries ldd lists.
copy_with_libs() {
  local bin lib
  for bin in "$@"; do
    install -D -m 0755 "$(readlink -f "$bin")" "$root$bin"
    for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
      [[ -e $root$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
    done
  done
}

# PID 1 of the guest. Kernel command line: warren.cmd=/host/path/to/script.sh
write_init() {
  cat <<'INIT'
#!/bin/sh
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
while read -r m; do insmod "/lib/modules/$m.ko" || echo "warren-init: insmod $m failed"; done </etc/warren-modules
hostname warren-guest
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

cmd=
for word in $(cat /proc/cmdline); do
  case $word in warren.cmd=*) cmd=${word#warren.cmd=} ;; esac
done

# The host's / (read-only) under a tmpfs-backed overlay, so the guest can write anywhere.
# cache=loose starts Node ~2 s sooner; the guest may then miss host changes to files it has
# already looked at (overlayfs does not promise to see changes to its lower layer anyway).
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host
mount -t tmpfs -o mode=0755 tmpfs /ovl
mkdir -p /ovl/upper /ovl/work
mount -t overlay -o lowerdir=/host,upperdir=/ovl/upper,workdir=/ovl/work overlay /newroot
for d in proc sys dev dev/pts; do mount --bind "/$d" "/newroot/$d"; done
mount -t tmpfs tmpfs /newroot/run

code=2
if [ -z "$cmd" ]; then
  echo "warren-init: no warren.cmd= on the kernel command line"
else
  echo WARREN-GUEST-READY
  HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin chroot /newroot /bin/sh "$cmd"
  code=$?
fi
echo "WARREN-GUEST-EXIT $code"
poweroff -f
INIT
}

ensure_packages
KVER=$(kernel_version)
script_hash=$(sha256sum "$0" | cut -c1-12)
GUEST_DIR=$CACHE_DIR/guest-$KVER-$script_hash

exec 9>"$CACHE_DIR/guest.lock"
flock 9
if [[ ! -f $GUEST_DIR/.complete ]]; then
  log "building guest image for kernel $KVER into $GUEST_DIR"
  rm -rf "$GUEST_DIR"
  work=$GUEST_DIR/work
  root=$work/root
  mkdir -p "$work/deb" "$root"

  log "downloading linux-image-$KVER"
  (cd "$work/deb" && apt-get download "linux-image-$KVER" >&2 2>/dev/null) ||
    (apt-get update >&2 && cd "$work/deb" && apt-get download "linux-image-$KVER" >&2)
  log "extracting the kernel package"
  dpkg-deb -x "$work"/deb/*.deb "$work/kernel"
  moddir=$(find "$work/kernel" -type d -path "*/modules/$KVER" | head -n1)
  busybox depmod -b "${moddir%/lib/modules/*}" "$KVER"

  log "extracting vmlinux from the bzImage"
  bzimage=$work/kernel/boot/vmlinuz-$KVER
  if grep -qx 'CONFIG_PVH=y' "$work/kernel/boot/config-$KVER" && extract_vmlinux "$bzimage" "$GUEST_DIR/kernel"; then
    log "using the uncompressed vmlinux (PVH entry)"
  else
    log "no usable vmlinux; falling back to the bzImage"
    cp "$bzimage" "$GUEST_DIR/kernel"
  fi

  log "assembling the initramfs"
  mkdir -p "$root"/{bin,sbin,etc,lib/modules,proc,sys,dev,run,tmp,host,ovl,newroot}
  for m in "${WANTED_MODULES[@]}"; do module_order "$m"; done >"$work/modules.list"
  while read -r path; do
    name=${path##*/}
    case $name in
      *.xz) xz -dc "$moddir/$path" >"$root/lib/modules/${name%.xz}" ;;
      *) cp "$moddir/$path" "$root/lib/modules/$name" ;;
    esac
    printf '%s\n' "${name%%.ko*}"
  done <"$work/modules.list" >"$root/etc/warren-modules"

  copy_with_libs /bin/mount /bin/umount /sbin/mount.nfs
  for link in mount.nfs4 umount.nfs umount.nfs4; do ln -s mount.nfs "$root/sbin/$link"; done
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(busybox --list-full); do
    mkdir -p "$root/$(dirname "$applet")"
    [[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
  done
  cp /etc/netconfig "$root/etc/netconfig"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  write_init >"$root/init"
  chmod 0755 "$root/init"

  (cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) >"$GUEST_DIR/initrd.img"
  rm -rf "$work"
  touch "$GUEST_DIR/.complete"
  log "guest image built in $((SECONDS - start)) s ($(du -sh "$GUEST_DIR" | cut -f1))"
fi
printf 'kernel=%s\ninitrd=%s\n' "$GUEST_DIR/kernel" "$GUEST_DIR/initrd.img"
