#!/usr/bin/env bash
# Builds (once, cached) the node's local container images as OCI layouts, so that kubelet never
# pulls: the pod image (busybox-static) and the pod sandbox ("pause") image, both from the host's
# busybox (one layer they share). Prints "busybox=DIR", "pause=DIR" and the image names on stdout;
# progress on stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/oci.sh
source "$(dirname "$0")/../lib/oci.sh"

# The names pods use (documented in README "A real node"); IfNotPresent is the default for a tag
# other than latest, so kubelet finds them in containerd and pulls nothing.
BUSYBOX_IMAGE=warren.local/busybox:1.35
PAUSE_IMAGE=warren.local/pause:3.10

bash "$(dirname "$0")/../lib/apt-install.sh" busybox-static
script_hash=$(cat "$0" "$(dirname "$0")/../lib/oci.sh" /bin/busybox | sha256sum | cut -c1-12)
DIR=$CACHE_DIR/node-images-$script_hash

# busybox_rootfs DIR: busybox with its applet links in /bin, /tmp, and root and nobody.
busybox_rootfs() {
  local dir=$1 applet
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
  cp /bin/busybox "$dir/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$dir/bin/$applet"
  done
  chmod 1777 "$dir/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
}

exec 9>"$CACHE_DIR/node-images.lock"
flock 9
if [[ ! -f $DIR/.complete ]]; then
  log "building the node's local images into $DIR"
  rm -rf "$DIR"; mkdir -p "$DIR/rootfs"
  busybox_rootfs "$DIR/rootfs"
  oci_layer "$DIR/rootfs" "$DIR/busybox-layer.tar"
  oci_layout "$DIR/busybox" "$BUSYBOX_IMAGE" '{"Env":["PATH=/bin"],"Cmd":["sh"]}' "$DIR/busybox-layer.tar"
  # The sandbox holds the pod's namespaces: it sleeps, reaps children, and exits on TERM.
  oci_layout "$DIR/pause" "$PAUSE_IMAGE" \
    '{"Env":["PATH=/bin"],"Entrypoint":["/bin/sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]}' \
    "$DIR/busybox-layer.tar"
  rm -rf "$DIR/rootfs" "$DIR/busybox-layer.tar"*
  touch "$DIR/.complete"
fi
printf 'busybox=%s\npause=%s\nbusyboxImage=%s\npauseImage=%s\n' "$DIR/busybox" "$DIR/pause" "$BUSYBOX_IMAGE" "$PAUSE_IMAGE"
