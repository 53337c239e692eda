# shellcheck shell=bash
# Writes OCI image layouts (oci-layout, index.json, blobs/sha256/) that the node guest imports into
# containerd (hack/node/guest-node.sh import), without a registry or a container engine. Layers are
# uncompressed, reproducible tars: the same files give the same digest, so a layer containerd
# already holds is never sent again.

# oci_layer ROOTFS_DIR OUT_TAR: one layer (sorted names, one time stamp, numeric root ownership),
# its digest beside it in OUT_TAR.sha256 (a cached layer is not hashed again).
oci_layer() {
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf "$2" .
  sha256sum "$2" | cut -d' ' -f1 >"$2.sha256"
}

# oci_layout OUT_DIR NAME CONFIG_JSON LAYER_TAR...: an image of those layers, bottom first.
# CONFIG_JSON is the image config's "config" object. Layer tars are hard-linked into the blobs.
oci_layout() {
  local out=$1 name=$2 config=$3 layer digest size diff_ids='' layers='' cfg cfgsize manifest msize
  shift 3
  rm -rf "$out"; mkdir -p "$out/blobs/sha256"
  _oci_put() { # FILE: into the blob store (hard link), prints its digest
    local d
    if [[ -f $1.sha256 ]]; then d=$(<"$1.sha256"); else d=$(sha256sum "$1" | cut -d' ' -f1); fi
    ln -f "$1" "$out/blobs/sha256/$d" 2>/dev/null || cp "$1" "$out/blobs/sha256/$d"
    printf '%s\n' "$d"
  }
  for layer in "$@"; do
    size=$(stat -c %s "$layer"); digest=$(_oci_put "$layer")
    diff_ids+="${diff_ids:+,}\"sha256:$digest\""
    layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$digest\",\"size\":$size}"
  done
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]}}' \
    "$config" "$diff_ids" >"$out/config.json"
  cfgsize=$(stat -c %s "$out/config.json"); cfg=$(_oci_put "$out/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$cfg" "$cfgsize" "$layers" >"$out/manifest.json"
  msize=$(stat -c %s "$out/manifest.json"); manifest=$(_oci_put "$out/manifest.json")
  rm -f "$out/config.json" "$out/manifest.json"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$msize" "$name" "${name##*:}" >"$out/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
}
