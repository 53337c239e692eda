#!/usr/bin/env bash
# The README's test command (`npm test`): static checks, then every test on the real bed.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib/node.sh
source hack/lib/common.sh
bash hack/lib/apt-install.sh nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils qemu-system-x86 busybox-static nfs-common openssl shellcheck
log "node $(node --version); checking format and lint (biome), types (tsc), shell scripts (shellcheck)"
biome ci .
tsc --noEmit -p tsconfig.json
shellcheck -x hack/*.sh hack/*/*.sh .ci/run
bash hack/tools.sh all
# Renderers for the deploy/ tests (helm's first build takes minutes; better here than in a test hook).
bash hack/tools.sh kustomize
bash hack/tools.sh helm
if [[ $# -gt 0 ]]; then exec vitest run "$@"; fi
log "unit and integration tests (vitest), on one bed"
vitest run --project unit --project integration
log "disruptive tests (apiserver restart, frozen NFS server), on a bed of their own"
vitest run --project disruptive
