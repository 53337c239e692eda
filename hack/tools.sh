#!/usr/bin/env bash
# Builds (once, cached by version) the Go-built tools the local bed needs:
# kube-apiserver + kube-controller-manager, etcd, csi-sanity, snapshot-controller (+ its CRDs); kustomize, helm and
# external-provisioner (for `npm run bench`) on request;
# for a real node: kubelet + kube-scheduler + kubectl, containerd, runc and the CNI plugins.
# Usage: hack/tools.sh [all|kube|etcd|csi-sanity|kustomize|helm|external-provisioner|snapshot-controller|node|paths]
# prints nothing but progress on stderr (except `paths`).
set -euo pipefail
# shellcheck source=hack/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=hack/lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"
HACK_DIR=$(cd "$(dirname "$0")" && pwd)

KUBE_VERSION=${WARREN_KUBE_VERSION:-v1.34.4}
ETCD_VERSION=${WARREN_ETCD_VERSION:-v3.6.16}
CSI_SANITY_VERSION=${WARREN_CSI_SANITY_VERSION:-v5.4.0}
KUSTOMIZE_VERSION=${WARREN_KUSTOMIZE_VERSION:-v5.8.2} # v5.8.3 needs Go 1.27
HELM_VERSION=${WARREN_HELM_VERSION:-v3.22.0}
CONTAINERD_VERSION=${WARREN_CONTAINERD_VERSION:-v2.2.9}
RUNC_VERSION=${WARREN_RUNC_VERSION:-v1.3.7}
CNI_PLUGINS_VERSION=${WARREN_CNI_PLUGINS_VERSION:-v1.9.1}
EXTERNAL_PROVISIONER_VERSION=${WARREN_EXTERNAL_PROVISIONER_VERSION:-v6.4.0}
SNAPSHOTTER_VERSION=${WARREN_SNAPSHOTTER_VERSION:-v8.7.0}

# kube_wrapper_build CMD...: builds k8s.io/kubernetes/cmd/CMD... at KUBE_VERSION from a wrapper
# module (k8s.io/kubernetes cannot be installed directly: it replaces its staging modules).
kube_wrapper_build() {
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local staging="v0.${KUBE_VERSION#v1.}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  cat >go.mod <<MOD
module warren.local/kubebuild

go 1.24.0

require k8s.io/kubernetes $KUBE_VERSION
MOD
  # Every staging module k8s.io/kubernetes requires at v0.0.0 is replaced by its published twin.
  go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
  local modfile; modfile=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod
  awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$modfile" | sort -u | while read -r m; do
    echo "replace $m => $m $staging"
  done >>go.mod
  local pkgs=() cmd
  for cmd in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  { printf 'package tools\nimport (\n'; printf ' _ "%s"\n' "${pkgs[@]}"; printf ')\n'; } >tools.go
  go mod tidy
  CGO_ENABLED=0 go build -p 2 -trimpath -tags selinux,notest -ldflags "$ldflags" -o .. "${pkgs[@]}"
}

build_kube() { kube_wrapper_build kube-apiserver kube-controller-manager; }

# The node's half of Kubernetes, in a cache dir of its own (the control plane's stays as it was).
build_kube_node() { kube_wrapper_build kubelet kube-scheduler kubectl; }

# containerd's go.mod has no replace directives, so `go install` works; btrfs needs cgo, which is off.
build_containerd() {
  local pkg=github.com/containerd/containerd/v2
  CGO_ENABLED=0 GOBIN="$(cd .. && pwd)" go install -trimpath -tags no_btrfs \
    -ldflags "-s -w -X $pkg/version.Version=$CONTAINERD_VERSION" \
    "$pkg/cmd/containerd@$CONTAINERD_VERSION" "$pkg/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
    "$pkg/cmd/ctr@$CONTAINERD_VERSION"
}

# runc needs cgo (its nsenter part is C) and, with the seccomp tag, libseccomp's headers:
# containerd gives every pod sandbox a seccomp profile, and deploy/ asks for RuntimeDefault.
build_runc() {
  bash "$HACK_DIR/lib/apt-install.sh" gcc libseccomp-dev
  CGO_ENABLED=1 GOBIN="$(cd .. && pwd)" go install -trimpath -tags seccomp \
    -ldflags "-s -w -X main.version=${RUNC_VERSION#v}" "github.com/opencontainers/runc@$RUNC_VERSION"
}

build_cni_plugins() {
  local pkg=github.com/containernetworking/plugins/plugins
  CGO_ENABLED=0 GOBIN="$(cd .. && pwd)" go install -trimpath -ldflags "-s -w" \
    "$pkg/main/bridge@$CNI_PLUGINS_VERSION" "$pkg/main/loopback@$CNI_PLUGINS_VERSION" \
    "$pkg/ipam/host-local@$CNI_PLUGINS_VERSION"
}

build_node_parts() {
  build_once containerd "$CACHE_DIR/containerd-$CONTAINERD_VERSION" build_containerd
  build_once runc "$CACHE_DIR/runc-$RUNC_VERSION-seccomp" build_runc
  build_once cni-plugins "$CACHE_DIR/cni-plugins-$CNI_PLUGINS_VERSION" build_cni_plugins
  build_once kubelet "$CACHE_DIR/kube-node-$KUBE_VERSION" build_kube_node
}

build_etcd() {
  printf 'module warren.local/etcdbuild\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >go.mod
  printf 'package tools\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
  go mod tidy
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o ../etcd go.etcd.io/etcd/server/v3
}

build_csi_sanity() {
  CGO_ENABLED=0 GOBIN="$(cd .. && pwd)" go install -trimpath \
    "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$CSI_SANITY_VERSION"
}

# kustomize and helm render deploy/ in the manifest tests (test/integration/deploy-*.test.ts).
build_kustomize() {
  CGO_ENABLED=0 GOBIN="$(cd .. && pwd)" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

# As helm's Makefile does: stamp its version and the Kubernetes version `helm template` assumes
# (client-go v0.N is Kubernetes 1.N); without them it claims v1.20 and refuses `kubeVersion` checks.
build_helm() {
  local pkg=helm.sh/helm/v3 gomod minor
  gomod=$(go mod download -json "$pkg@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  minor=$(awk '$1 == "k8s.io/client-go" {split($2, v, "."); print v[2]}' "$gomod")
  [[ -n $minor ]] || die "no k8s.io/client-go in $gomod"
  local ldflags="-s -w -X $pkg/internal/version.version=$HELM_VERSION"
  ldflags+=" -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$minor"
  ldflags+=" -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$minor"
  CGO_ENABLED=0 GOBIN="$(cd .. && pwd)" go install -trimpath -ldflags "$ldflags" "$pkg/cmd/helm@$HELM_VERSION"
}

# The CSI external-provisioner sidecar, which `npm run bench` races against `warren controller`.
# Its go.mod replaces every k8s.io staging module, and `go install mod@version` refuses modules
# with replace lines, so it is built as the main module: inside a writable copy of its source
# from the module cache.
build_external_provisioner() {
  local mod=github.com/kubernetes-csi/external-provisioner/v6 src
  src=$(go mod download -json "$mod@$EXTERNAL_PROVISIONER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [[ -n $src && -f $src/go.mod ]] || die "go mod download printed no source directory for $mod@$EXTERNAL_PROVISIONER_VERSION"
  cp -R "$src/." . && chmod -R u+w .
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$EXTERNAL_PROVISIONER_VERSION" \
    -o ../csi-provisioner ./cmd/csi-provisioner
}

# The snapshot-controller (VolumeSnapshot <-> VolumeSnapshotContent binding) and the
# snapshot.storage.k8s.io/v1 CRDs it serves. Its go.mod replaces the client module with ./client
# and the k8s.io staging modules, so it is built as the main module from a writable copy of its
# source, with the client module's source (same version) copied in as ./client. The three
# VolumeSnapshot CRDs are kept next to the binary; the bed applies them at start.
build_snapshot_controller() {
  local mod=github.com/kubernetes-csi/external-snapshotter src client
  src=$(go mod download -json "$mod/v8@$SNAPSHOTTER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  client=$(go mod download -json "$mod/client/v8@$SNAPSHOTTER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [[ -n $src && -f $src/go.mod ]] || die "go mod download printed no source directory for $mod/v8@$SNAPSHOTTER_VERSION"
  [[ -n $client && -f $client/go.mod ]] || die "go mod download printed no source directory for $mod/client/v8@$SNAPSHOTTER_VERSION"
  cp -R "$src/." . && rm -rf client && mkdir client && cp -R "$client/." client/ && chmod -R u+w .
  mkdir -p ../crd
  local kind
  for kind in volumesnapshotclasses volumesnapshotcontents volumesnapshots; do
    cp "client/config/crd/snapshot.storage.k8s.io_$kind.yaml" "../crd/$kind.yaml"
  done
  CGO_ENABLED=0 go build -p 2 -trimpath -ldflags "-s -w -X main.version=$SNAPSHOTTER_VERSION" \
    -o ../snapshot-controller ./cmd/snapshot-controller
}

what=${1:-all}
case $what in
  all) build_once etcd "$CACHE_DIR/etcd-$ETCD_VERSION" build_etcd
       build_once csi-sanity "$CACHE_DIR/csi-sanity-$CSI_SANITY_VERSION" build_csi_sanity
       build_once kubernetes "$CACHE_DIR/kube-$KUBE_VERSION" build_kube
       build_once snapshot-controller "$CACHE_DIR/snapshot-controller-$SNAPSHOTTER_VERSION" build_snapshot_controller ;;
  kube) build_once kubernetes "$CACHE_DIR/kube-$KUBE_VERSION" build_kube ;;
  etcd) build_once etcd "$CACHE_DIR/etcd-$ETCD_VERSION" build_etcd ;;
  csi-sanity) build_once csi-sanity "$CACHE_DIR/csi-sanity-$CSI_SANITY_VERSION" build_csi_sanity ;;
  kustomize) build_once kustomize "$CACHE_DIR/kustomize-$KUSTOMIZE_VERSION" build_kustomize ;;
  helm) build_once helm "$CACHE_DIR/helm-$HELM_VERSION" build_helm ;;
  node) build_node_parts ;;
  external-provisioner) build_once external-provisioner \
      "$CACHE_DIR/external-provisioner-$EXTERNAL_PROVISIONER_VERSION" build_external_provisioner ;;
  snapshot-controller) build_once snapshot-controller \
      "$CACHE_DIR/snapshot-controller-$SNAPSHOTTER_VERSION" build_snapshot_controller ;;
  paths) echo "KUBE_BIN_DIR=$CACHE_DIR/kube-$KUBE_VERSION"
         echo "ETCD_BIN=$CACHE_DIR/etcd-$ETCD_VERSION/etcd"
         echo "CSI_SANITY_BIN=$CACHE_DIR/csi-sanity-$CSI_SANITY_VERSION/csi-sanity"
         echo "KUSTOMIZE_BIN=$CACHE_DIR/kustomize-$KUSTOMIZE_VERSION/kustomize"
         echo "HELM_BIN=$CACHE_DIR/helm-$HELM_VERSION/helm"
         echo "KUBE_NODE_BIN_DIR=$CACHE_DIR/kube-node-$KUBE_VERSION"
         echo "CONTAINERD_BIN_DIR=$CACHE_DIR/containerd-$CONTAINERD_VERSION"
         echo "RUNC_BIN=$CACHE_DIR/runc-$RUNC_VERSION-seccomp/runc"
         echo "CNI_BIN_DIR=$CACHE_DIR/cni-plugins-$CNI_PLUGINS_VERSION"
         echo "EXTERNAL_PROVISIONER_BIN=$CACHE_DIR/external-provisioner-$EXTERNAL_PROVISIONER_VERSION/csi-provisioner"
         echo "SNAPSHOT_CONTROLLER_DIR=$CACHE_DIR/snapshot-controller-$SNAPSHOTTER_VERSION" ;;
  *) die "usage: hack/tools.sh [all|kube|etcd|csi-sanity|kustomize|helm|external-provisioner|snapshot-controller|node|paths]" ;;
esac
