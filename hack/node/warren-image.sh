#!/usr/bin/env bash
# Assembles Warren's own container image as an OCI archive from what the Dockerfile puts in it:
# Node 24, the bundle of the sources (hack/bundle.ts: dist/, which holds every dependency),
# package.json, proto/, and the mount tools the node plugin runs (mount, umount, mount.nfs with
# their libraries). No container engine and no registry: the archive is imported into
# containerd on the node guest.
# Prints "archive=PATH" and "image=NAME" on stdout; progress on stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/oci.sh
source "$(dirname "$0")/../lib/oci.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
node_bin=$(readlink -f "$repo/node_modules/.bin/node")
[[ -x $node_bin ]] || die "no Node in $repo/node_modules (run npm install first)"
version=$(cd "$repo" && "$node_bin" -p 'require("./package.json").version')
IMAGE=${WARREN_IMAGE:-ghcr.io/warren-dev/warren:$version}


out=$CACHE_DIR/warren-image
root=$out/rootfs
rm -rf "$out"; mkdir -p "$root"/{app,usr/local/bin,etc,tmp,sbin,bin}
chmod 1777 "$root/tmp"
# copy_with_libs FILE...: FILE at the same path in the image, with the libraries ldd lists.
copy_with_libs() {
  local bin lib
  for bin in "$@"; do
    install -D -m 0755 "$(readlink -f "$bin")" "$root$bin"
    for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
      [[ -e $root$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
    done
  done
}
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
for lib in $(ldd "$node_bin" | grep -oE '/[^ ]+'); do
  [[ -e $root$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
done
copy_with_libs /bin/mount /bin/umount /sbin/mount.nfs
for link in mount.nfs4 umount.nfs umount.nfs4; do ln -s mount.nfs "$root/sbin/$link"; done
cp /etc/netconfig "$root/etc/netconfig"
printf 'root:x:0:0:root:/root:/bin/false\nnonroot:x:65532:65532:nonroot:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
# The bundle, as the Dockerfile's build stage makes it (esbuild from the dev dependencies).
"$node_bin" "$repo/hack/bundle.ts" "$root/app/dist" >&2
cp "$repo/package.json" "$root/app/"
cp -r "$repo/proto" "$root/app/"
log "assembling $IMAGE ($(du -sh "$root" | cut -f1) unpacked)"
oci_archive "$out/warren.tar" "$IMAGE" \
  '{"Env":["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NODE_ENV=production"],"WorkingDir":"/app","Entrypoint":["node","/app/dist/cli.js"],"User":"65532:65532"}' \
  "$root"
rm -rf "$root"
printf 'archive=%s\nimage=%s\n' "$out/warren.tar" "$IMAGE"
