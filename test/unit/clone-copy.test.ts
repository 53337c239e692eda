// A clone through the claim reconciler on fakes: source held, copy in the lane, PV only after it.
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { clonedFromAnnotation, cloneSourceFinalizer } from '../../src/claims/clone-plan.ts';
import { failedPrecondition, unavailable } from '../../src/errors.ts';
import { partialCopyKey } from '../../src/provisioning/clone-directory.ts';
import {
  claim,
  type Harness,
  harness,
  reconcileAsQueued,
  root,
  storageClass,
  volumeFor,
} from './reconcile-fixtures.ts';

const sc = storageClass({ subDir: '${pvc.metadata.name}' });

function source(): { claim: V1PersistentVolumeClaim; pv: V1PersistentVolume } {
  const base = claim();
  const c: V1PersistentVolumeClaim = {
    ...base,
    metadata: { ...base.metadata, name: 'source', uid: 'uid-source' },
    spec: { ...base.spec, volumeName: 'pvc-uid-source' },
    status: { phase: 'Bound', capacity: { storage: '1Gi' } },
  };
  return { claim: c, pv: volumeFor(c, sc, 'Bound') };
}

function cloneClaim(size = '1Gi'): V1PersistentVolumeClaim {
  const base = claim();
  return {
    ...base,
    metadata: { ...base.metadata, name: 'copy', uid: 'uid-copy' },
    spec: {
      ...base.spec,
      resources: { requests: { storage: size } },
      dataSource: { kind: 'PersistentVolumeClaim', name: 'source' },
    },
  };
}

function setUp(): Harness {
  const s = source();
  const h = harness({ claims: [s.claim, cloneClaim()], classes: [sc], volumes: [s.pv] });
  h.backend.mountRoot(root);
  h.backend.plant(`${root}/source`, { kind: 'dir', mode: 0o777 });
  h.backend.plant(`${root}/source/a.txt`, { kind: 'file', content: 'hello' });
  h.backend.plant(`${root}/source/sub`, { kind: 'dir', mode: 0o755 });
  h.backend.plant(`${root}/source/sub/b.txt`, { kind: 'file', content: 'world!' });
  return h;
}

const run = (h: Harness) => reconcileAsQueued(h, 'team-a', 'copy');
const settle = () => new Promise((r) => setImmediate(r));
const sourceFinalizers = (h: Harness) => h.cluster.claims.get('team-a/source')?.metadata?.finalizers ?? [];
const reasons = (h: Harness) => h.cluster.events.map((e) => e.reason);

describe('reconcileClaim: clone', () => {
  it('holds the source, copies in the lane, makes the PV only after the copy, then lets the source go', async () => {
    const h = setUp();
    h.copier.hold();
    expect(await run(h)).toBe('done');
    expect(sourceFinalizers(h)).toContain(cloneSourceFinalizer);
    expect(h.cluster.volumes.has('pvc-uid-copy')).toBe(false);
    expect(
      await h.backend.getRecord(
        root,
        partialCopyKey({ server: 'nfs.example.com', share: '/export', subDir: 'copy' }),
      ),
    ).toBeDefined();
    // While the copy runs, a reconcile changes nothing.
    expect(await run(h)).toBe('done');
    expect(h.copier.calls).toStrictEqual([{ source: `${root}/source`, target: `${root}/copy` }]);
    expect(h.cluster.volumes.has('pvc-uid-copy')).toBe(false);
    h.copier.release();
    await settle();
    expect(h.settled).toStrictEqual(['claim/team-a/copy']);
    expect(await run(h)).toBe('done');
    expect(h.cluster.volumes.has('pvc-uid-copy')).toBe(true);
    expect(h.backend.entries.get(`${root}/copy/sub/b.txt`)).toStrictEqual({
      kind: 'file',
      content: 'world!',
    });
    expect(h.cluster.claims.get('team-a/copy')?.metadata?.annotations?.[clonedFromAnnotation]).toBe(
      'team-a/source',
    );
    expect(sourceFinalizers(h)).not.toContain(cloneSourceFinalizer);
    expect(reasons(h)).toStrictEqual([
      'Provisioning',
      'CloneStarted',
      'CloneCompleted',
      'ProvisioningSucceeded',
    ]);
    expect(await h.deps.metrics.cloneBytes.get()).toMatchObject({ values: [{ value: 11 }] });
  });

  it('a copy that runs out of space: the partial copy is removed, the user told, and it starts again', async () => {
    const h = setUp();
    h.copier.failNext(failedPrecondition('cannot write: ENOSPC; the share is full'));
    await run(h);
    await settle();
    expect(h.backend.entries.has(`${root}/copy`)).toBe(true);
    expect(await run(h)).toBe('retry-slow');
    expect(h.backend.entries.has(`${root}/copy`)).toBe(false);
    expect([...h.backend.entries.keys()].filter((k) => k.startsWith(`${root}/copy`))).toStrictEqual([]);
    expect(h.cluster.events.at(-1)).toMatchObject({
      type: 'Warning',
      reason: 'ProvisioningFailed',
      message: expect.stringContaining('copy from claim team-a/source failed (the partial copy was removed'),
    });
    expect(h.cluster.volumes.has('pvc-uid-copy')).toBe(false);
    await run(h);
    await settle();
    expect(await run(h)).toBe('done');
    expect(h.cluster.volumes.has('pvc-uid-copy')).toBe(true);
  });

  it('a copy stopped by a share that cannot be reached: both reasons told, the next try copies over the partial copy', async () => {
    const h = setUp();
    h.copier.failNext(
      unavailable('the copy on share nfs.example.com:/export stopped: no progress for 120 s'),
    );
    await run(h);
    await settle();
    h.backend.failNext('removeDirectory', unavailable('share nfs.example.com:/export is not answering'));
    expect(await run(h)).toBe('retry-fast');
    expect(h.cluster.events.at(-1)).toMatchObject({
      type: 'Warning',
      reason: 'ProvisioningFailed',
      message:
        'copy from claim team-a/source failed: the copy on share nfs.example.com:/export stopped: no progress for 120 s. ' +
        'Its partial copy cannot be removed yet (share nfs.example.com:/export is not answering); the next try copies over it. Warren retries automatically within 30 s',
    });
    expect(h.backend.entries.has(`${root}/copy`)).toBe(true);
    await run(h);
    expect(h.cluster.events.at(-1)).toMatchObject({
      reason: 'CloneStarted',
      message: expect.stringContaining('over a copy that was cut off'),
    });
    await settle();
    expect(await run(h)).toBe('done');
    expect(h.cluster.volumes.has('pvc-uid-copy')).toBe(true);
    expect(h.backend.entries.get(`${root}/copy/sub/b.txt`)).toStrictEqual({
      kind: 'file',
      content: 'world!',
    });
  });

  it('a source deleted mid-copy is held until the clone has its PV; the clone goes on, then the source goes', async () => {
    const h = setUp();
    h.copier.hold();
    await run(h);
    const deleting = (h: Harness) => {
      const s = h.cluster.claims.get('team-a/source') as V1PersistentVolumeClaim;
      h.cluster.claims.set('team-a/source', {
        ...s,
        metadata: { ...s.metadata, deletionTimestamp: new Date('2024-05-06T07:08:09Z') },
      });
    };
    deleting(h);
    expect(await run(h)).toBe('done'); // the copy still runs
    h.copier.release();
    await settle();
    expect(await run(h)).toBe('done');
    expect(h.cluster.volumes.has('pvc-uid-copy')).toBe(true);
    expect(h.backend.entries.get(`${root}/copy/a.txt`)).toStrictEqual({ kind: 'file', content: 'hello' });
    expect(sourceFinalizers(h)).not.toContain(cloneSourceFinalizer);
    expect(reasons(h)).not.toContain('ProvisioningFailed');
  });

  it('a clone not begun yet is not started from a source being deleted, even one held for another clone', async () => {
    const h = setUp();
    const s = h.cluster.claims.get('team-a/source') as V1PersistentVolumeClaim;
    h.cluster.claims.set('team-a/source', {
      ...s,
      metadata: {
        ...s.metadata,
        finalizers: [cloneSourceFinalizer],
        deletionTimestamp: new Date('2024-05-06T07:08:09Z'),
      },
    });
    expect(await run(h)).toBe('retry-slow');
    expect(h.copier.calls).toStrictEqual([]);
    expect(h.cluster.events.at(-1)?.message).toContain(
      'source claim team-a/source is being deleted; a clone is not started from it',
    );
  });

  it('never copies into a directory that exists without the mark of this copy', async () => {
    const h = setUp();
    h.backend.plant(`${root}/copy`, { kind: 'dir', mode: 0o777 });
    h.backend.plant(`${root}/copy/theirs`, { kind: 'file', content: 'keep me' });
    expect(await run(h)).toBe('retry-slow');
    expect(h.copier.calls).toStrictEqual([]);
    expect(h.backend.entries.get(`${root}/copy/theirs`)).toStrictEqual({ kind: 'file', content: 'keep me' });
    expect(h.cluster.events.at(-1)?.message).toContain(
      'already exists; a clone is copied only into a new directory',
    );
  });

  it.each<[string, (h: Harness) => void, string]>([
    [
      'a missing source',
      (h) => h.cluster.claims.delete('team-a/source'),
      'source claim team-a/source not found',
    ],
    [
      'a Pending source',
      (h) => {
        const s = h.cluster.claims.get('team-a/source') as V1PersistentVolumeClaim;
        h.cluster.claims.set('team-a/source', { ...s, status: { phase: 'Pending' } });
      },
      'is Pending; a clone waits until its source is Bound',
    ],
    [
      "a source of another driver's",
      (h) => {
        const pv = h.cluster.volumes.get('pvc-uid-source') as V1PersistentVolume;
        h.cluster.volumes.set('pvc-uid-source', {
          ...pv,
          spec: { ...pv.spec, csi: { driver: 'other.csi', volumeHandle: 'x' } },
        });
      },
      'is not a volume of nfs.warren.dev',
    ],
    [
      'a clone smaller than its source',
      (h) => h.cluster.claims.set('team-a/copy', cloneClaim('500Mi')),
      'the clone asks for 500Mi, less than the 1Gi of source claim team-a/source; request at least 1Gi',
    ],
  ])('%s is refused with an event, and nothing is made', async (_what, change, message) => {
    const h = setUp();
    change(h);
    expect(await run(h)).toMatch(/retry/);
    expect(h.cluster.events.at(-1)?.message).toContain(message);
    expect(h.copier.calls).toStrictEqual([]);
    expect(h.backend.entries.has(`${root}/copy`)).toBe(false);
  });

  it('a source whose directory is gone is refused with an event, nothing is copied', async () => {
    const h = setUp();
    for (const k of [...h.backend.entries.keys()])
      if (k.startsWith(`${root}/source`)) h.backend.entries.delete(k);
    expect(await run(h)).toBe('retry-slow');
    expect(h.cluster.events.at(-1)?.message).toContain('the source volume\'s directory "source"');
    expect(h.copier.calls).toStrictEqual([]);
  });
});
