#!/bin/sh
# Runs inside the qemu guest (chrooted into the host's / under a tmpfs overlay) and makes it a
# Kubernetes node: containerd with runc and the bridge CNI, the local images, kubelet.
# Usage: guest-node.sh setup|import|seal|unseal|start-kubelet|stop-kubelet
#   (settings in $NODE_DIR/node.env; seal/unseal only with a containerd disk)
set -eu
# shellcheck source=/dev/null
. "$NODE_DIR/node.env"
logs=/var/log/warren-node
ctr() { "$CONTAINERD_BIN_DIR/ctr" --address /run/containerd/containerd.sock -n k8s.io "$@"; }
say() { echo "[guest-node $(date +%H:%M:%S)] $*"; }

# waits up to $1 s for the command after it to succeed
wait_for() {
  limit=$1; shift; n=0
  until "$@" >/dev/null 2>&1; do
    n=$((n + 1)); [ "$n" -le "$((limit * 5))" ] || return 1; sleep 0.2
  done
}

start_kubelet() {
  # pid file in /run: the guest's own, empty at every boot
  setsid "$KUBE_NODE_BIN_DIR/kubelet" --config="$NODE_DIR/kubelet.yaml" \
    --kubeconfig="$NODE_DIR/kubelet.kubeconfig" --hostname-override="$NODE_NAME" \
    --node-ip=10.0.2.15 --v=2 >>"$logs/kubelet.log" 2>&1 </dev/null &
  echo $! >/run/warren-kubelet.pid
  say "kubelet started (pid $!)"
}

stop_kubelet() {
  pid=$(cat /run/warren-kubelet.pid)
  kill "$pid" 2>/dev/null || true
  wait_for 30 sh -c "! kill -0 $pid" || kill -9 "$pid"
  say "kubelet $pid stopped"
}

start_containerd() {
  PATH=$CONTAINERD_BIN_DIR:$PATH setsid "$CONTAINERD_BIN_DIR/containerd" --config "$NODE_DIR/containerd.toml" \
    >>"$logs/containerd.log" 2>&1 </dev/null &
  echo $! >/run/warren-containerd.pid
  wait_for 60 ctr version || { tail -n 30 "$logs/containerd.log"; exit 1; }
  say "containerd is up"
}

# import_layout DIR: imports the OCI layout at DIR, sending only the blobs containerd lacks (a
# layer kept on the containerd disk from an earlier boot is not read again).
import_layout() {
  dir=$1 store=/var/lib/containerd/io.containerd.content.v1.content/blobs/sha256 total=0
  set -- oci-layout index.json
  for b in "$dir"/blobs/sha256/*; do
    total=$((total + 1)); b=${b##*/}
    [ -e "$store/$b" ] || set -- "$@" "blobs/sha256/$b"
  done
  say "importing $dir: $(($# - 2)) of $total blobs to send"
  tar -C "$dir" -cf - "$@" | ctr images import - >/dev/null
}

setup() {
  # cgroup v2 with the controllers kubelet puts pods under
  mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup
  for c in cpuset cpu io memory pids; do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || say "cgroup controller $c unavailable"
  done
  # Volume mounts made under /var/lib/kubelet must reach containers (and back): shared, as on a node.
  mount --make-rshared /
  # containerd's overlay snapshots cannot sit on the overlay root: its own ext4 disk (/dev/vda,
  # kept between runs by the host) or tmpfs. kubelet's and CNI's state is per boot: tmpfs.
  mkdir -p /var/lib/containerd
  if [ "${CONTAINERD_DISK:-}" = 1 ]; then
    mount -t ext4 /dev/vda /var/lib/containerd
  else
    mount -t tmpfs -o mode=0755 tmpfs /var/lib/containerd
  fi
  for d in /run/containerd /var/lib/kubelet /var/lib/cni /etc/cni/net.d /var/log/pods /var/log/containers $logs; do
    mkdir -p "$d"; mount -t tmpfs -o mode=0755 tmpfs "$d"
  done
  mkdir -p /var/lib/kubelet/plugins_registry /var/lib/kubelet/plugins
  echo 1 >/proc/sys/net/ipv4/ip_forward
  cp "$NODE_DIR/10-warren.conflist" /etc/cni/net.d/
  start_containerd
}

import() {
  for layout in $IMAGES; do import_layout "$layout"; done
  say "images: $(ctr images ls -q | tr '\n' ' ')"
}

# seal: containerd stopped and its disk unmounted (written out), so the host can keep a copy.
seal() {
  pid=$(cat /run/warren-containerd.pid)
  kill "$pid"; wait_for 30 sh -c "! kill -0 $pid" || kill -9 "$pid"
  umount /var/lib/containerd
  say "containerd disk sealed"
}

unseal() {
  mount -t ext4 /dev/vda /var/lib/containerd
  start_containerd
}

case ${1:-} in
  setup) setup ;;
  import) import ;;
  seal) seal ;;
  unseal) unseal ;;
  start-kubelet) start_kubelet ;;
  stop-kubelet) stop_kubelet ;;
  *) echo "usage: guest-node.sh setup|import|seal|unseal|start-kubelet|stop-kubelet" >&2; exit 2 ;;
esac
