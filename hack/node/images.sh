#!/usr/bin/env bash
# Builds (once, cached) the node's local container images as OCI archives, so that kubelet never
# pulls: the pod image (busybox-static) and the pod sandbox ("pause") image, both from the host's
# busybox. Prints "busybox=PATH", "pause=PATH" and the image names on stdout; progress on stderr.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

# The names pods use (documented in README "A real node"); IfNotPresent is the default for a tag
# other than latest, so kubelet finds them in containerd and pulls nothing.
BUSYBOX_IMAGE=warren.local/busybox:1.35
PAUSE_IMAGE=warren.local/pause:3.10

bash "$(dirname "$0")/../lib/apt-install.sh" busybox-static
script_hash=$(cat "$0" /bin/busybox | sha256sum | cut -c1-12)
DIR=$CACHE_DIR/node-images-$script_hash

sha() { sha256sum "$1" | cut -d' ' -f1; }

# blob FILE: moves FILE into the layout's blob store and prints its digest.
blob() {
  local digest; digest=$(sha "$1")
  mv "$1" "$layout/blobs/sha256/$digest"
  printf '%s\n' "$digest"
}

# oci_archive OUT NAME CONFIG_JSON_FRAGMENT: one-layer image (busybox and its applet links).
oci_archive() {
  local out=$1 name=$2 config=$3 work layer diff size cfg cfgsize manifest msize
  work=$(mktemp -d); layout=$work/layout
  mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/etc" "$layout/blobs/sha256"
  cp /bin/busybox "$work/rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$work/rootfs/bin/$applet"
  done
  chmod 1777 "$work/rootfs/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$work/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$work/rootfs/etc/group"
  # Reproducible: sorted names, one time stamp, numeric root ownership.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
  size=$(stat -c %s "$work/layer.tar"); layer=$(blob "$work/layer.tar"); diff=$layer
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$diff" >"$work/config.json"
  cfgsize=$(stat -c %s "$work/config.json"); cfg=$(blob "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cfg" "$cfgsize" "$layer" "$size" >"$work/manifest.json"
  msize=$(stat -c %s "$work/manifest.json"); manifest=$(blob "$work/manifest.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$msize" "$name" "${name##*:}" >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out" .
  rm -rf "$work"
}

exec 9>"$CACHE_DIR/node-images.lock"
flock 9
if [[ ! -f $DIR/.complete ]]; then
  log "building the node's local images into $DIR"
  rm -rf "$DIR"; mkdir -p "$DIR"
  oci_archive "$DIR/busybox.tar" "$BUSYBOX_IMAGE" '{"Env":["PATH=/bin"],"Cmd":["sh"]}'
  # The sandbox holds the pod's namespaces: it sleeps, reaps children, and exits on TERM.
  oci_archive "$DIR/pause.tar" "$PAUSE_IMAGE" \
    '{"Env":["PATH=/bin"],"Entrypoint":["/bin/sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait $!; done"]}'
  touch "$DIR/.complete"
fi
printf 'busybox=%s\npause=%s\nbusyboxImage=%s\npauseImage=%s\n' "$DIR/busybox.tar" "$DIR/pause.tar" "$BUSYBOX_IMAGE" "$PAUSE_IMAGE"
