#!/usr/bin/env bash
# The README's main-job command (`npm run demo`): installs what it needs, then runs hack/demo.ts.
# `npm run demo -- --node` runs it on a real node (kubelet and containerd in the guest) instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib/node.sh
bash hack/lib/apt-install.sh nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils qemu-system-x86 busybox-static nfs-common openssl
bash hack/tools.sh all
if [[ " $* " == *" --node "* ]]; then bash hack/tools.sh node; fi
exec node hack/demo.ts "$@"
