#!/bin/sh
# Runs inside the qemu guest (chrooted into the host's / under a tmpfs overlay) and makes it a
# Kubernetes node: containerd with runc and the bridge CNI, the local images, kubelet.
# Usage: guest-node.sh setup|start-kubelet|stop-kubelet   (settings in $NODE_DIR/node.env)
set -eu
# shellcheck source=/dev/null
. "$NODE_DIR/node.env"
logs=/var/log/warren-node
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

setup() {
  # cgroup v2 with the controllers kubelet puts pods under
  mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup
  for c in cpuset cpu io memory pids; do
    echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || say "cgroup controller $c unavailable"
  done
  # Volume mounts made under /var/lib/kubelet must reach containers (and back): shared, as on a node.
  mount --make-rshared /
  # containerd's overlay snapshots cannot sit on the overlay root; kubelet's and CNI's state is
  # per boot anyway. tmpfs for all of them.
  for d in /var/lib/containerd /run/containerd /var/lib/kubelet /var/lib/cni /etc/cni/net.d \
    /var/log/pods /var/log/containers $logs; do
    mkdir -p "$d"; mount -t tmpfs -o mode=0755 tmpfs "$d"
  done
  mkdir -p /var/lib/kubelet/plugins_registry /var/lib/kubelet/plugins
  echo 1 >/proc/sys/net/ipv4/ip_forward
  cp "$NODE_DIR/10-warren.conflist" /etc/cni/net.d/

  PATH=$CONTAINERD_BIN_DIR:$PATH setsid "$CONTAINERD_BIN_DIR/containerd" --config "$NODE_DIR/containerd.toml" \
    >"$logs/containerd.log" 2>&1 </dev/null &
  wait_for 60 "$CONTAINERD_BIN_DIR/ctr" --address /run/containerd/containerd.sock version ||
    { tail -n 30 "$logs/containerd.log"; exit 1; }
  say "containerd is up"
  for image in $IMAGES; do
    "$CONTAINERD_BIN_DIR/ctr" --address /run/containerd/containerd.sock -n k8s.io images import "$image" >/dev/null
  done
  say "images imported: $("$CONTAINERD_BIN_DIR/ctr" --address /run/containerd/containerd.sock -n k8s.io images ls -q | tr '\n' ' ')"
  start_kubelet
}

case ${1:-} in
  setup) setup ;;
  start-kubelet) start_kubelet ;;
  stop-kubelet) stop_kubelet ;;
  *) echo "usage: guest-node.sh setup|start-kubelet|stop-kubelet" >&2; exit 2 ;;
esac
