import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { directoryFinalizer } from '../../src/claims/object-names.ts';
import { reconcileVolume } from '../../src/claims/volume-reconciler.ts';
import { unavailable, WarrenError } from '../../src/errors.ts';
import { archiveNameFor } from '../../src/provisioning/directory-backend.ts';
import { ownerKey } from '../../src/provisioning/ownership.ts';
import { locationDigest } from '../../src/provisioning/volume-id.ts';
import {
  claim,
  counts,
  type Harness,
  harness,
  now,
  pvName,
  type RecordedEvent,
  root,
  server,
  sharingVolume,
  storageClass,
  subDir,
  uid,
  volumeFor,
} from './reconcile-fixtures.ts';

const run = (h: Harness) => reconcileVolume(h.deps, pvName);
const dir = `${root}/${subDir}`;
const digest = locationDigest({ server, share: '/export', subDir });
const owner = ownerKey({ server, share: '/export', subDir });
const deleteRecord = { op: 'deleteRecord', args: [root, digest] };
/** The ownership record is read before, and removed with the location record after, a release. */
const ownerRead = { op: 'getRecord', args: [root, owner] };
/** A PV from before ownership records: adopted, once the share's ownership era is recorded (now). */
const eraRead = { op: 'getRecord', args: [root, 'ownership-since'] };
const eraWrite = { op: 'putRecord', args: [root, 'ownership-since', { since: now.toISOString() }] };
const ownerGone = { op: 'deleteRecord', args: [root, owner] };

/** Our released PV (reclaim policy Delete unless `reclaim` says otherwise) with its directory on the share. */
function released(
  onDelete: string,
  shape: {
    reclaim?: string;
    phase?: string;
    deleting?: boolean;
    others?: V1PersistentVolume[];
    /** The claims in the cluster (none: the PV's claim is gone). */
    claims?: V1PersistentVolumeClaim[];
  } = {},
) {
  const sc = { ...storageClass({ onDelete }), reclaimPolicy: shape.reclaim ?? 'Delete' };
  const pv = volumeFor(claim(), sc, shape.phase ?? 'Released');
  if (shape.deleting && pv.metadata) pv.metadata.deletionTimestamp = now;
  const h = harness({ classes: [sc], volumes: [pv, ...(shape.others ?? [])], claims: shape.claims ?? [] });
  h.backend.plant(dir, { kind: 'dir', mode: 0o777 });
  h.backend.plant(`${dir}/data`, { kind: 'file', content: 'x' });
  return { h, pv, sc };
}

const entriesBelowRoot = (h: Harness) =>
  [...h.backend.entries.keys()].filter((k) => k !== root && !k.startsWith(`${root}/.warren`));

describe('reconcileVolume: released with reclaim policy Delete', () => {
  it.each<{ onDelete: string; backendCalls: unknown[]; after: string[] }>([
    {
      onDelete: 'delete',
      backendCalls: [
        ownerRead,
        eraRead,
        eraWrite,
        { op: 'removeDirectory', args: [root, subDir] },
        deleteRecord,
        ownerGone,
      ],
      after: [],
    },
    {
      onDelete: 'archive',
      backendCalls: [
        ownerRead,
        eraRead,
        eraWrite,
        { op: 'archiveDirectory', args: [root, subDir, now] },
        deleteRecord,
        ownerGone,
      ],
      after: [`${root}/${archiveNameFor(subDir, now, 0)}`, `${root}/${archiveNameFor(subDir, now, 0)}/data`],
    },
    { onDelete: 'retain', backendCalls: [ownerRead, deleteRecord, ownerGone], after: [dir, `${dir}/data`] },
  ])('onDelete $onDelete: applies it, then removes the finalizer and the PV', async (c) => {
    const { h } = released(c.onDelete);

    expect(await run(h)).toBe('done');

    expect(h.backend.calls).toStrictEqual(c.backendCalls);
    expect(entriesBelowRoot(h)).toStrictEqual(c.after);
    expect(h.cluster.writes).toStrictEqual([
      { op: 'readVolume', key: pvName },
      { op: 'removeVolumeFinalizer', key: pvName },
      { op: 'deleteVolume', key: pvName },
    ]);
    expect(h.cluster.volumes.has(pvName)).toBe(false);
    expect(h.cluster.events).toStrictEqual([]);
    expect(h.crashPoints).toStrictEqual(['after-release']);
    expect(await counts(h.deps.metrics.releases)).toStrictEqual({ [`${c.onDelete},success`]: 1 });
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({});
  });

  it.each(['Failed', 'Pending'])('a PV in phase %s that is being deleted is released too', async (phase) => {
    const { h } = released('delete', { phase, deleting: true });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual([
      'readVolume',
      'removeVolumeFinalizer',
      'deleteVolume',
    ]);
    expect(entriesBelowRoot(h)).toStrictEqual([]);
  });
});

describe('reconcileVolume: nothing to release', () => {
  it.each<{ name: string; setup: () => Harness }>([
    { name: 'reclaim policy Retain, released', setup: () => released('delete', { reclaim: 'Retain' }).h },
    {
      name: 'reclaim policy Delete, still bound to its claim',
      setup: () => released('delete', { phase: 'Bound', claims: [claim({ bound: true })] }).h,
    },
    {
      name: 'bound to its claim and being deleted (pv-protection holds it)',
      setup: () => released('delete', { phase: 'Bound', deleting: true, claims: [claim({ bound: true })] }).h,
    },
    {
      name: 'bound to its claim, which is being deleted (pvc-protection holds it: a pod may use it)',
      setup: () => released('delete', { phase: 'Bound', claims: [claim({ bound: true, deleting: true })] }).h,
    },
    {
      name: 'another driver',
      setup: () => {
        const { h, pv } = released('delete');
        h.cluster.volumes.set(pvName, {
          ...pv,
          spec: { ...pv.spec, csi: { driver: 'other', volumeHandle: 'x' } },
        });
        return h;
      },
    },
    { name: 'not in the cache', setup: () => harness() },
  ])('$name: does nothing', async (c) => {
    const h = c.setup();

    expect(await run(h)).toBe('done');

    expect(h.backend.calls).toStrictEqual([]);
    expect(h.cluster.writes).toStrictEqual([]);
    expect(h.cluster.events).toStrictEqual([]);
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({});
  });

  it('reclaim policy Retain, PV being deleted: only our finalizer goes, the directory stays', async () => {
    const { h } = released('delete', { reclaim: 'Retain', deleting: true });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([{ op: 'removeVolumeFinalizer', key: pvName }]);
    expect(h.cluster.volumes.get(pvName)?.metadata?.finalizers).toStrictEqual([
      'kubernetes.io/pv-protection',
    ]);
    expect(h.backend.calls).toStrictEqual([]);
    expect(entriesBelowRoot(h)).toStrictEqual([dir, `${dir}/data`]);
  });

  it('a failure to drop the finalizer there is logged and a counted retry', async () => {
    const { h } = released('delete', { reclaim: 'Retain', deleting: true });
    h.cluster.failNext('removeVolumeFinalizer', unavailable('connection reset'));

    expect(await run(h)).toBe('retry-fast');

    expect(await counts(h.deps.metrics.retries)).toStrictEqual({ fast: 1 });
    expect(h.logs().filter((l) => l.level === 40)).toMatchObject([
      { msg: 'reconcile failed; will retry', err: 'connection reset', kind: 'Unavailable' },
    ]);
  });
});

describe('reconcileVolume: still Bound, its claim gone', () => {
  const releasedThenGone = ['removeVolumeFinalizer', 'deleteVolume'].map((op) => ({ op, key: pvName }));

  it.each<{ name: string; claims: V1PersistentVolumeClaim[] }>([
    { name: 'the claim was deleted', claims: [] },
    {
      name: 'a new claim of the same name took its place',
      claims: [{ ...claim(), metadata: { ...claim().metadata, uid: 'another-uid' } }],
    },
  ])('$name: read live, marked Released, then released as its onDelete says', async ({ claims }) => {
    const { h } = released('delete', { phase: 'Bound', claims });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([
      { op: 'readVolume', key: pvName },
      { op: 'readClaim', key: 'team-a/data' },
      { op: 'markVolumeReleased', key: pvName },
      ...releasedThenGone,
    ]);
    expect(h.cluster.volumes.has(pvName)).toBe(false);
    expect(entriesBelowRoot(h)).toStrictEqual([]);
    expect(h.cluster.events).toStrictEqual([]);
    expect(await counts(h.deps.metrics.releases)).toStrictEqual({ 'delete,success': 1 });
  });

  it('a claim missing only from a lagging cache keeps its PV: nothing is changed', async () => {
    const { h, pv } = released('delete', { phase: 'Bound', claims: [claim({ bound: true })] });
    h.deps.claims = { get: () => undefined, list: () => [] };

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([
      { op: 'readVolume', key: pvName },
      { op: 'readClaim', key: 'team-a/data' },
    ]);
    expect(h.cluster.volumes.get(pvName)).toStrictEqual(pv);
    expect(h.backend.calls).toStrictEqual([]);
    expect(entriesBelowRoot(h)).toStrictEqual([dir, `${dir}/data`]);
  });

  it('when the binder marked it Released first, the live PV is released without asking for the claim', async () => {
    const { h, pv } = released('delete', { phase: 'Released' });
    const bound = { ...pv, status: { phase: 'Bound' } };
    h.deps.volumes = { get: (name) => (name === pvName ? bound : undefined), list: () => [bound] };

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([{ op: 'readVolume', key: pvName }, ...releasedThenGone]);
    expect(entriesBelowRoot(h)).toStrictEqual([]);
  });

  it('a PV changed between the live read and the phase write is left as it is and retried', async () => {
    const { h, pv } = released('delete', { phase: 'Bound' });
    h.cluster.failNext('markVolumeReleased', new WarrenError('Aborted', 'the object changed meanwhile'));

    expect(await run(h)).toBe('retry-fast');

    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual([
      'readVolume',
      'readClaim',
      'markVolumeReleased',
    ]);
    expect(h.cluster.volumes.get(pvName)).toStrictEqual(pv);
    expect(entriesBelowRoot(h)).toStrictEqual([dir, `${dir}/data`]);
    expect(h.cluster.events).toStrictEqual([]);
  });

  it('reclaim policy Retain: left to the binder, the directory kept', async () => {
    const { h } = released('delete', { phase: 'Bound', reclaim: 'Retain' });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([]);
    expect(entriesBelowRoot(h)).toStrictEqual([dir, `${dir}/data`]);
  });
});

describe('reconcileVolume: stopped between dropping the finalizer and deleting the PV', () => {
  it('deletes the PV on the next reconcile and touches no directory', async () => {
    const { h, pv } = released('delete');
    h.cluster.volumes.set(pvName, {
      ...pv,
      metadata: { ...pv.metadata, finalizers: ['kubernetes.io/pv-protection'] },
    });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual(['readVolume', 'deleteVolume']);
    expect(h.cluster.volumes.has(pvName)).toBe(false);
    expect(h.backend.calls).toStrictEqual([]);
    expect(entriesBelowRoot(h)).toStrictEqual([dir, `${dir}/data`]);
  });
});

describe('reconcileVolume: a cache that lags behind', () => {
  it('does not release a directory again once the live PV has lost our finalizer: only the PV goes', async () => {
    const { h, pv } = released('delete');
    const stale = structuredClone(pv); // what the cache still says: Released, with our finalizer
    h.cluster.volumes.set(pvName, {
      ...pv,
      metadata: { ...pv.metadata, finalizers: ['kubernetes.io/pv-protection'] },
    });
    h.deps.volumes = { get: (name) => (name === pvName ? stale : undefined), list: () => [stale] };

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([
      { op: 'readVolume', key: pvName },
      { op: 'deleteVolume', key: pvName },
    ]);
    expect(h.cluster.volumes.has(pvName)).toBe(false);
    expect(h.backend.calls).toStrictEqual([]);
    expect(entriesBelowRoot(h)).toStrictEqual([dir, `${dir}/data`]);
    expect(await counts(h.deps.metrics.releases)).toStrictEqual({});
  });

  it('does nothing when the live PV is already gone', async () => {
    const { h, pv } = released('delete');
    const stale = structuredClone(pv);
    h.cluster.volumes.delete(pvName);
    h.deps.volumes = { get: (name) => (name === pvName ? stale : undefined), list: () => [stale] };

    expect(await run(h)).toBe('done');

    expect(h.backend.calls).toStrictEqual([]);
    expect(entriesBelowRoot(h)).toStrictEqual([dir, `${dir}/data`]);
  });
});

describe('reconcileVolume: another PV uses the directory', () => {
  it.each(['delete', 'archive'])(
    'onDelete %s: keeps the directory, says so (DirectoryKept), and lets the PV go',
    async (onDelete) => {
      const sc = storageClass();
      const { h } = released(onDelete, { others: [sharingVolume(sc)] });

      expect(await run(h)).toBe('done');

      expect(h.cluster.events).toStrictEqual<RecordedEvent[]>([
        {
          kind: 'PersistentVolume',
          name: pvName,
          type: 'Warning',
          reason: 'DirectoryKept',
          message: `directory ${subDir} is also used by PV pvc-uid-b; kept it instead of applying onDelete ${onDelete}`,
        },
      ]);
      expect(h.backend.calls).toStrictEqual([]);
      expect(entriesBelowRoot(h)).toStrictEqual([dir, `${dir}/data`]);
      expect(h.cluster.writes.map((w) => w.op)).toStrictEqual([
        'readVolume',
        'removeVolumeFinalizer',
        'deleteVolume',
      ]);
      expect(await counts(h.deps.metrics.releases)).toStrictEqual({ [`${onDelete},success`]: 1 });
    },
  );

  it('onDelete retain: nothing to keep it from, so no event', async () => {
    const { h } = released('retain', { others: [sharingVolume(storageClass())] });

    expect(await run(h)).toBe('done');

    expect(h.cluster.events).toStrictEqual([]);
    expect(h.backend.calls).toStrictEqual([]);
    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual([
      'readVolume',
      'removeVolumeFinalizer',
      'deleteVolume',
    ]);
  });
});

describe('reconcileVolume: failures', () => {
  it.each<{
    name: string;
    fail: (h: Harness, pv: V1PersistentVolume) => void;
    outcome: 'retry-fast' | 'retry-slow';
    event?: string;
    backendOps: string[];
    writes: string[];
  }>([
    {
      name: 'the share does not answer',
      fail: (h) => h.backend.failNext('removeDirectory', unavailable('stale file handle')),
      outcome: 'retry-fast',
      event: `stale file handle. Warren retries automatically within 30 s`,
      backendOps: ['getRecord', 'getRecord', 'putRecord', 'removeDirectory'],
      writes: ['readVolume'],
    },
    {
      name: 'no --share flag covers the share',
      fail: (h) => {
        h.deps.store = { ...h.deps.store, shares: [] };
      },
      outcome: 'retry-slow',
      event:
        'no --share flag covers nfs.example.com:/export; start the controller with --share nfs.example.com:/export=/some/local/dir ' +
        'and mount that export there (configured: none). Warren retries with growing pauses, at most 5 minutes apart, until this is fixed',
      backendOps: [],
      writes: ['readVolume'],
    },
    {
      name: 'its attributes were edited to point elsewhere',
      fail: (h, pv) => {
        const attrs = { ...pv.spec?.csi?.volumeAttributes, subDir: 'someone-else' };
        const csi = { driver: pv.spec?.csi?.driver ?? '', volumeHandle: pv.spec?.csi?.volumeHandle ?? '' };
        h.cluster.volumes.set(pvName, {
          ...pv,
          spec: { ...pv.spec, csi: { ...csi, volumeAttributes: attrs } },
        });
      },
      outcome: 'retry-slow',
      event:
        `PV ${pvName}: volumeAttributes (server/share/subDir/onDelete) do not match volumeHandle ` +
        `1#d#nfs.example.com#/export#${subDir}; refusing to touch any directory. Warren retries with growing pauses, at most 5 minutes apart, until this is fixed`,
      backendOps: [],
      writes: ['readVolume'],
    },
    {
      name: 'the PV changed meanwhile (a conflict: no event)',
      fail: (h) =>
        h.cluster.failNext(
          'removeVolumeFinalizer',
          new WarrenError('Aborted', 'the object changed meanwhile'),
        ),
      outcome: 'retry-fast',
      backendOps: ['getRecord', 'getRecord', 'putRecord', 'removeDirectory', 'deleteRecord', 'deleteRecord'],
      writes: ['readVolume', 'removeVolumeFinalizer'],
    },
  ])('$name: VolumeFailedDelete unless a conflict, the PV stays, a counted retry', async (c) => {
    const { h, pv } = released('delete');
    c.fail(h, pv);

    expect(await run(h)).toBe(c.outcome);

    expect(h.cluster.events).toStrictEqual<RecordedEvent[]>(
      c.event === undefined
        ? []
        : [
            {
              kind: 'PersistentVolume',
              name: pvName,
              type: 'Warning',
              reason: 'VolumeFailedDelete',
              message: c.event,
            },
          ],
    );
    expect(h.backend.calls.map((call) => call.op)).toStrictEqual(c.backendOps);
    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual(c.writes);
    expect(h.cluster.volumes.get(pvName)?.metadata?.finalizers).toContain(directoryFinalizer);
    expect(await counts(h.deps.metrics.releases)).toStrictEqual({ 'delete,failed': 1 });
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({
      [c.outcome === 'retry-slow' ? 'slow' : 'fast']: 1,
    });
  });
});

describe('reconcileVolume: logs', () => {
  it("every line carries the PV's name and its claim's namespace, name and uid", async () => {
    const { h } = released('delete');
    await run(h);

    const lines = h.logs();
    expect(lines.map((l) => l.msg)).toStrictEqual(['released']);
    for (const line of lines) {
      expect(line).toMatchObject({ pv: pvName, namespace: 'team-a', name: 'data', uid, action: 'release' });
    }
  });

  it('a PV without a claimRef logs only its own name', async () => {
    const { h, pv } = released('delete');
    const { claimRef: _, ...spec } = pv.spec ?? {};
    h.cluster.volumes.set(pvName, { ...pv, spec });
    await run(h);

    const [line] = h.logs();
    expect(line).toMatchObject({ pv: pvName, action: 'release' });
    expect(Object.keys(line ?? {})).not.toContain('namespace');
    expect(Object.keys(line ?? {})).not.toContain('name');
    expect(Object.keys(line ?? {})).not.toContain('uid');
  });
});
