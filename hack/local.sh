#!/usr/bin/env bash
# The local bed for people: `up` starts a real control plane (etcd, kube-apiserver,
# kube-controller-manager) and an NFS server on 127.0.0.1, `down` stops them, `status` tells.
# `up --node` also runs a real node, guest-0 (kubelet + containerd in the qemu guest), with
# kube-scheduler and `warren controller` on the host, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib/node.sh
exec node hack/bed/cli.ts "$@"
