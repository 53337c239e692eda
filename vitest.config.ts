import { defineConfig } from 'vitest/config';

// Integration tests share one bed per run. Tests that take a bed component away (restart the
// apiserver, freeze the NFS server) are in `disruptive` and run in a separate vitest run with
// a bed of their own, so they cannot break tests running beside them (see hack/test.sh).
const integration = (name: string, include: string[], maxWorkers: number) => ({
  test: {
    name,
    include,
    globalSetup: ['test/integration/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 420_000,
    maxWorkers,
  },
});

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // Two cores: the bed, the guest and the code under test already keep them busy.
      integration('integration', ['test/integration/**/*.test.ts'], 2),
      integration('disruptive', ['test/disruptive/**/*.test.ts'], 1),
      // A real node (kubelet + containerd in the guest) with real pods: minutes under TCG, so a run
      // of its own (hack/test.sh --project node), on a bed of its own.
      integration('node', ['test/node/**/*.test.ts'], 1),
    ],
  },
});
