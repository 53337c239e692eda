# shellcheck shell=bash
# Writes a one-layer OCI image archive (oci-layout, index.json, blobs) that `ctr images import`
# reads, without a registry or a container engine.
# oci_archive OUT NAME CONFIG_JSON ROOTFS_DIR: CONFIG_JSON is the image config's "config" object.
oci_archive() {
  local out=$1 name=$2 config=$3 rootfs=$4 work layout layer size cfg cfgsize manifest msize
  work=$(mktemp -d); layout=$work/layout
  mkdir -p "$layout/blobs/sha256"
  _oci_blob() { # FILE -> moves it into the blob store, prints its digest
    local digest; digest=$(sha256sum "$1" | cut -d' ' -f1)
    mv "$1" "$layout/blobs/sha256/$digest"
    printf '%s\n' "$digest"
  }
  # Reproducible: sorted names, one time stamp, numeric root ownership.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
  size=$(stat -c %s "$work/layer.tar"); layer=$(_oci_blob "$work/layer.tar")
  printf '{"architecture":"amd64","os":"linux","config":%s,"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$config" "$layer" >"$work/config.json"
  cfgsize=$(stat -c %s "$work/config.json"); cfg=$(_oci_blob "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cfg" "$cfgsize" "$layer" "$size" >"$work/manifest.json"
  msize=$(stat -c %s "$work/manifest.json"); manifest=$(_oci_blob "$work/manifest.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$msize" "$name" "${name##*:}" >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out" .
  rm -rf "$work"
}
