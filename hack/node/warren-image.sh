#!/usr/bin/env bash
# Assembles Warren's own container image as an OCI layout from what the Dockerfile puts in it:
# Node 24, the production node_modules (npm ci --omit=dev), package.json, proto/ and src/, and
# the tools the node plugin runs (mount, umount, mount.nfs, and stat for its health check, with their
# libraries). No
# container engine and no registry: the node guest imports it into containerd. Three layers, from
# the one that changes least: the runtime (Node, libraries, mount tools), the production
# node_modules, the app (package.json, proto/, src/); the first two are cached by what they hold.
# Prints "layout=DIR", "image=NAME" and "baseLayers=DIGEST,DIGEST" (the first two) on stdout;
# progress on stderr.
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
script_hash=$(cat "$0" "$(dirname "$0")/../lib/oci.sh" | sha256sum | cut -c1-12)
exec 9>"$CACHE_DIR/warren-image.lock"
flock 9

# The runtime layer, cached by Node's binary, the tools and this script.
tools=(/bin/mount /bin/umount /sbin/mount.nfs /usr/bin/stat)
runtime=$CACHE_DIR/warren-image-runtime-$(cat "$node_bin" "${tools[@]}" | sha256sum | cut -c1-12)-$script_hash
if [[ ! -f $runtime/.complete ]]; then
  log "assembling the image's runtime layer (Node, mount tools) into $runtime"
  rm -rf "$runtime"; root=$runtime/rootfs
  mkdir -p "$root"/{usr/local/bin,etc,tmp,sbin,bin}
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
  copy_with_libs "${tools[@]}"
  for link in mount.nfs4 umount.nfs umount.nfs4; do ln -s mount.nfs "$root/sbin/$link"; done
  cp /etc/netconfig "$root/etc/netconfig"
  printf 'root:x:0:0:root:/root:/bin/false\nnonroot:x:65532:65532:nonroot:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  oci_layer "$root" "$runtime/layer.tar"
  rm -rf "$root"; touch "$runtime/.complete"
fi

# The app layer: what changes with every commit (small).
out=$CACHE_DIR/warren-image
rm -rf "$out"; mkdir -p "$out/rootfs/app"
# The bundle, as the Dockerfile's build stage makes it (esbuild from the dev dependencies).
"$node_bin" "$repo/hack/bundle.ts" "$out/rootfs/app/dist" >&2
cp "$repo/package.json" "$out/rootfs/app/"
cp -r "$repo/proto" "$out/rootfs/app/"
oci_layer "$out/rootfs" "$out/app-layer.tar"
rm -rf "$out/rootfs"
oci_layout "$out/layout" "$IMAGE" \
  '{"Env":["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","NODE_ENV=production"],"WorkingDir":"/app","Entrypoint":["node","/app/dist/cli.js"],"User":"65532:65532"}' \
  "$runtime/layer.tar" "$out/app-layer.tar"
rm -f "$out/app-layer.tar"*
base=$(<"$runtime/layer.tar.sha256")
log "assembled $IMAGE ($(du -sh "$out/layout" | cut -f1), layers: runtime, app)"
printf 'layout=%s\nimage=%s\nbaseLayers=%s\n' "$out/layout" "$IMAGE" "$base"
