#!/usr/bin/env bash
# The README's test command (`npm test`): static checks, then every test on the real bed.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib/node.sh
source hack/lib/common.sh
bash hack/lib/apt-install.sh nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils qemu-system-x86 busybox-static nfs-common openssl shellcheck
log "node $(node --version); checking format and lint (biome), types (tsc, and the CSI types against proto/csi.proto), shell scripts (shellcheck)"
biome ci .
tsc --noEmit -p tsconfig.json
# The TypeScript types of the CSI messages must be the ones proto/csi.proto generates.
npm run -s gen:proto >/dev/null
[[ -z $(git status --porcelain -- src/csi/generated) ]] ||
  die "src/csi/generated differs from what proto/csi.proto generates: run npm run gen:proto and commit"
shellcheck -x hack/*.sh hack/*/*.sh .ci/run
bash hack/tools.sh all
# Renderers for the deploy/ tests (helm's first build takes minutes; better here than in a test hook).
bash hack/tools.sh kustomize
bash hack/tools.sh helm
if [[ $# -gt 0 ]]; then exec vitest run "$@"; fi
mkdir -p test-results
rm -f test-results/main.json test-results/disruptive.json test-results/node.json
# Every run always runs (a failure in one must not hide the next); the exit code is theirs.
vitest_status=0
log "unit and integration tests (vitest), on one bed"
vitest run --project unit --project integration --reporter=default --reporter=json --outputFile.json=test-results/main.json || vitest_status=1
log "disruptive tests (apiserver restart, frozen NFS server), on a bed of their own"
vitest run --project disruptive --reporter=default --reporter=json --outputFile.json=test-results/disruptive.json || vitest_status=1
log "the node scenario (kubelet and containerd in the guest, a StatefulSet's real pods), on a bed of its own"
vitest run --project node --reporter=default --reporter=json --outputFile.json=test-results/node.json || vitest_status=1
log "the demo (npm run demo, the README's main-job command), on a bed of its own; output in test-results/demo.log"
demo_status=0
bash hack/demo.sh > test-results/demo.log 2>&1 || demo_status=1
if [[ $demo_status -ne 0 ]]; then
  log "the demo failed; its last lines:"
  tail -n 40 test-results/demo.log >&2
else
  grep -E '^== demo finished' test-results/demo.log >&2 || true
fi
# One plain closing line over the three runs and the demo, for readers of CI logs.
# shellcheck disable=SC2016 # JavaScript, not shell
VITEST_STATUS=$vitest_status DEMO_STATUS=$demo_status node -e '
  let passed = 0, failed = 0, skipped = 0;
  const fs = require("node:fs");
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { console.error(`${f} is missing: that vitest run did not finish`); failed += 1; continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
  }
  // A vitest run can fail outside any test (a global setup that throws): count that as a failure.
  if (process.env.VITEST_STATUS !== "0" && failed === 0) failed = 1;
  if (process.env.DEMO_STATUS === "0") passed += 1; else failed += 1;
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' test-results/main.json test-results/disruptive.json test-results/node.json
[[ $vitest_status -eq 0 && $demo_status -eq 0 ]]
