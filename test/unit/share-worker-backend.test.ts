// The worker-process backend keeps the fs backend's rules (the same contract), and its probe and
// crash handling work with real child processes.
import { describe, expect, it, vi } from 'vitest';
import type { ShareLanes } from '../../src/provisioning/share-lanes.ts';
import { createShareWorkerBackend } from '../../src/provisioning/share-worker-backend.ts';
import { describeDirectoryBackendContract } from './directory-backend-contract.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';
import { makeFsHarness } from './fs-harness.ts';

// Every case starts a real Node process, which takes seconds on a busy machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

async function workerHarness() {
  let lanes: ShareLanes | undefined;
  const h = await makeFsHarness(
    (root) => {
      const made = createShareWorkerBackend({
        shares: [{ server: 'nfs.example', share: '/export', localDir: root }],
      });
      lanes = made.lanes;
      return made.backend;
    },
    async () => lanes?.close(),
  );
  if (!lanes) throw new Error('the harness made no backend');
  return { ...h, lanes };
}

describeDirectoryBackendContract('share worker backend', workerHarness);

describe('share worker backend, processes', () => {
  it('probes a share through its lane and names it', async () => {
    const h = await workerHarness();
    try {
      expect(await h.lanes.probe(h.root)).toEqual({ ok: true, detail: 'answers' });
      expect(await h.lanes.probe(`${h.root}/missing`)).toEqual({
        ok: false,
        detail: `${h.root}/missing: ENOENT`,
      });
      expect(h.lanes.shareOf(`${h.root}/a/b`)).toBe('nfs.example:/export');
      expect(h.lanes.shareOf('/elsewhere')).toBe('unconfigured');
      expect(await h.lanes.probe('/elsewhere/missing')).toEqual({
        ok: false,
        detail: '/elsewhere/missing: ENOENT',
      });
    } finally {
      await h.cleanup();
    }
  });

  it('fails calls with Unavailable naming the share after close', async () => {
    const h = await workerHarness();
    await h.backend.ensureDirectory(h.root, 'x', { mode: 0o700 });
    await h.lanes.close();
    await expectWarrenRejection(h.backend.exists(h.root, 'x'), 'Unavailable', 'shut down');
    await h.cleanup();
  });
});
