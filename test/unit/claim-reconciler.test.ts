import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { claimFacts, pvNameFor } from '../../src/claims/claim-plan.ts';
import { directoryFinalizer, intentAnnotation } from '../../src/claims/object-names.ts';
import { buildVolume } from '../../src/claims/volume-builder.ts';
import { unavailable, WarrenError } from '../../src/errors.ts';
import { archiveNameFor } from '../../src/provisioning/directory-backend.ts';
import { ownerKey } from '../../src/provisioning/ownership.ts';
import { locationDigest } from '../../src/provisioning/volume-id.ts';
import { serializeIntent } from '../../src/provisioning/volume-intent.ts';
import {
  cacheOf,
  claim,
  counts,
  deletedAt,
  deletedMidProvisioning,
  type Harness,
  harness,
  now,
  planFor,
  provisioner,
  pvName,
  type RecordedEvent,
  reconcileAsQueued,
  root,
  server,
  sharingVolume,
  storageClass,
  subDir,
  uid,
  volumeFor,
} from './reconcile-fixtures.ts';

const run = (h: Harness) => reconcileAsQueued(h, 'team-a', 'data');
const dir = `${root}/${subDir}`;
const claimKey = 'team-a/data';

describe('reconcileClaim: provisioning', () => {
  it('records the intent, makes the directory and the PV, and leaves the claim to the binder', async () => {
    const sc = storageClass();
    const h = harness({ claims: [claim()], classes: [sc] });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([
      { op: 'recordIntent', key: claimKey },
      { op: 'createVolume', key: pvName },
    ]);
    expect(h.cluster.events).toStrictEqual<RecordedEvent[]>([
      {
        kind: 'PersistentVolumeClaim',
        name: 'data',
        type: 'Normal',
        reason: 'Provisioning',
        message: `creating directory ${subDir} on nfs.example.com:/export`,
      },
      {
        kind: 'PersistentVolumeClaim',
        name: 'data',
        type: 'Normal',
        reason: 'ProvisioningSucceeded',
        message: `volume ${pvName} provisioned at nfs.example.com:/export/${subDir} (directory created)`,
      },
    ]);
    const location = { server, share: '/export', subDir };
    const owner = ownerKey(location);
    const volumeId = planFor(claim(), sc).volumeId;
    // When the share's ownership records began (whether a directory there may be adopted), then
    // who owns the directory, recorded before it is made.
    expect(h.backend.calls).toStrictEqual([
      { op: 'getRecord', args: [root, 'ownership-since'] },
      { op: 'putRecord', args: [root, 'ownership-since', { since: now.toISOString() }] },
      { op: 'getRecord', args: [root, owner] },
      { op: 'exists', args: [root, subDir] },
      { op: 'putRecord', args: [root, owner, { volumeId, name: pvName, location, created: true }] },
      { op: 'ensureDirectory', args: [root, subDir, { mode: 0o777 }] },
    ]);
    expect(h.backend.entries.get(dir)).toStrictEqual({
      kind: 'dir',
      mode: 0o777,
      uid: undefined,
      gid: undefined,
    });
    expect(h.cluster.volumes.get(pvName)).toStrictEqual(
      buildVolume({ claim: claim(), storageClass: sc, provisioner, intent: planFor(claim(), sc) }),
    );
    // Pre-bound to the PV; the intent and finalizer stay until the binder has taken up the PV.
    expect(h.cluster.claims.get(claimKey)).toStrictEqual({
      ...claim(),
      metadata: {
        ...claim().metadata,
        resourceVersion: '2',
        finalizers: [directoryFinalizer],
        annotations: {
          ...claim().metadata?.annotations,
          [intentAnnotation]: serializeIntent(planFor(claim(), sc)),
        },
      },
      spec: { ...claim().spec, volumeName: pvName },
    });
    expect(h.crashPoints).toStrictEqual(['after-intent', 'after-directory', 'after-volume']);
    expect(await counts(h.deps.metrics.provisions)).toStrictEqual({ success: 1 });
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({});
  });

  it('after a restart with the intent already recorded, neither records it again nor announces it', async () => {
    const sc = storageClass();
    const recorded = claim({
      finalizers: [directoryFinalizer],
      annotations: { [intentAnnotation]: serializeIntent(planFor(claim(), sc)) },
      preBound: true,
    });
    const h = harness({ claims: [recorded], classes: [sc] });
    h.backend.plant(dir, { kind: 'dir', mode: 0o777 });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([{ op: 'createVolume', key: pvName }]);
    expect(h.cluster.events.map((e) => [e.reason, e.message])).toStrictEqual([
      [
        'ProvisioningSucceeded',
        `volume ${pvName} provisioned at nfs.example.com:/export/${subDir} (directory existed)`,
      ],
    ]);
    expect(h.crashPoints).toStrictEqual(['after-directory', 'after-volume']);
  });

  it.each([
    {
      name: "older than the share's ownership records: adopted as made by Warren",
      createdAt: '2025-05-01T00:00:00Z',
      created: true,
    },
    {
      name: "newer than the share's ownership records: recorded as found, never Warren's to remove",
      createdAt: '2025-06-01T12:00:01Z',
      created: false,
    },
  ])('a directory already there for a claim $name', async ({ createdAt, created }) => {
    const sc = storageClass();
    const base = claim({
      finalizers: [directoryFinalizer],
      annotations: { [intentAnnotation]: serializeIntent(planFor(claim(), sc)) },
      preBound: true,
    });
    const recorded = { ...base, metadata: { ...base.metadata, creationTimestamp: new Date(createdAt) } };
    const h = harness({ claims: [recorded], classes: [sc] });
    h.backend.plant(dir, { kind: 'dir', mode: 0o777 });

    expect(await run(h)).toBe('done');

    const location = { server, share: '/export', subDir };
    expect(await h.deps.store.backend.getRecord(root, ownerKey(location))).toMatchObject({ created });
  });

  it.each<{
    name: string;
    storageClass: V1StorageClass;
    outcome: 'retry-fast' | 'retry-slow';
    message: string;
    writes: Harness['cluster']['writes'];
    backendOps: string[];
  }>([
    {
      name: 'an unknown parameter',
      storageClass: storageClass({ colour: 'blue' }),
      outcome: 'retry-slow',
      message:
        'unknown StorageClass parameter "colour"; known parameters: server, share, subDir, onDelete, mode, uid, gid (names are case-insensitive). Warren retries with growing pauses, at most 5 minutes apart, until this is fixed',
      writes: [],
      backendOps: [],
    },
    {
      name: 'a share no --share flag covers',
      storageClass: storageClass({ share: '/elsewhere' }),
      outcome: 'retry-slow',
      message:
        'no --share flag covers nfs.example.com:/elsewhere; start the controller with --share nfs.example.com:/elsewhere=/some/local/dir ' +
        'and mount that export there (configured: nfs.example.com:/export). Warren retries with growing pauses, at most 5 minutes apart, until this is fixed',
      writes: [],
      backendOps: [],
    },
  ])('$name: ProvisioningFailed, nothing written, slow retry counted', async (c) => {
    const h = harness({ claims: [claim()], classes: [c.storageClass] });

    expect(await run(h)).toBe(c.outcome);

    expect(h.cluster.events).toStrictEqual<RecordedEvent[]>([
      {
        kind: 'PersistentVolumeClaim',
        name: 'data',
        type: 'Warning',
        reason: 'ProvisioningFailed',
        message: c.message,
      },
    ]);
    expect(h.cluster.writes).toStrictEqual(c.writes);
    expect(h.backend.calls.map((call) => call.op)).toStrictEqual(c.backendOps);
    expect(await counts(h.deps.metrics.provisions)).toStrictEqual({ failed: 1 });
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({ slow: 1 });
  });

  it('a share that does not answer: ProvisioningFailed after the intent, fast retry counted once', async () => {
    const h = harness({ claims: [claim()], classes: [storageClass()] });
    h.backend.failNext('ensureDirectory', unavailable('stale file handle'));

    expect(await run(h)).toBe('retry-fast');

    expect(h.cluster.writes).toStrictEqual([{ op: 'recordIntent', key: claimKey }]);
    expect(h.cluster.events.map((e) => [e.reason, e.message])).toStrictEqual([
      ['Provisioning', `creating directory ${subDir} on nfs.example.com:/export`],
      ['ProvisioningFailed', 'stale file handle. Warren retries automatically within 30 s'],
    ]);
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({ fast: 1 });
  });

  it('a conflict while recording the intent: no ProvisioningFailed event, fast retry counted', async () => {
    const h = harness({ claims: [claim()], classes: [storageClass()] });
    h.cluster.failNext('recordIntent', new WarrenError('Aborted', 'the object changed meanwhile'));

    expect(await run(h)).toBe('retry-fast');

    expect(h.cluster.events.map((e) => e.reason)).toStrictEqual(['Provisioning']);
    expect(h.backend.calls).toStrictEqual([]);
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({ fast: 1 });
  });

  it('a PV of that name bound to another claim: ProvisioningFailed, slow retry', async () => {
    const sc = storageClass();
    const other = volumeFor(claim(), sc, 'Bound');
    const foreign = {
      ...other,
      spec: { ...other.spec, claimRef: { ...other.spec?.claimRef, uid: 'someone-else' } },
    };
    const h = harness({ claims: [claim()], classes: [sc] });
    // Not in the cache yet (so the decision is to provision), but there on create.
    h.cluster.volumes.set(pvName, foreign);
    h.deps.volumes = cacheOf(new Map());

    expect(await run(h)).toBe('retry-slow');

    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual(['recordIntent', 'createVolume']);
    expect(h.cluster.events.at(-1)?.message).toBe(
      `PersistentVolume ${pvName} exists but is bound to another claim; delete it or the claim. Warren retries with growing pauses, at most 5 minutes apart, until this is fixed`,
    );
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({ slow: 1 });
  });
});

describe('reconcileClaim: a missing StorageClass', () => {
  it('missing when deciding: waits without a retry (the class informer re-queues the claim)', async () => {
    const h = harness({ claims: [claim()] });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes).toStrictEqual([]);
    expect(h.cluster.events).toStrictEqual([]);
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({});
  });
});

describe('reconcileClaim: nothing or little to do', () => {
  it('a claim not in the cache is done', async () => {
    const h = harness();
    expect(await run(h)).toBe('done');
    expect(h.cluster.writes).toStrictEqual([]);
  });

  it('a Block claim is rejected once per reconcile, without a retry', async () => {
    const c = claim();
    const block = { ...c, spec: { ...c.spec, volumeMode: 'Block' } };
    const h = harness({ claims: [block], classes: [storageClass()] });

    expect(await run(h)).toBe('done');

    // What happened, what to change, and that Warren will not try again.
    expect(h.cluster.events.map((e) => [e.type, e.reason, e.message])).toStrictEqual([
      [
        'Warning',
        'ProvisioningFailed',
        'volumeMode Block is not supported by an NFS volume; use volumeMode Filesystem. ' +
          'Warren will not retry this claim: create it again as the message says',
      ],
    ]);
    expect(await counts(h.deps.metrics.provisions)).toStrictEqual({ rejected: 1 });
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({});
  });

  it.each<{
    name: string;
    claim: V1PersistentVolumeClaim;
    volumePhase: string;
    writes: string[];
    crashPoints: string[];
  }>([
    {
      name: 'pre-bound, PV not yet taken up by the binder (Pending): nothing is written',
      claim: claim({
        finalizers: [directoryFinalizer],
        annotations: { [intentAnnotation]: '{}' },
        preBound: true,
      }),
      volumePhase: 'Pending',
      writes: [],
      crashPoints: [],
    },
    {
      name: 'pre-bound, PV Bound by the binder: the finalizer goes as the claim side of the binding is written',
      claim: claim({
        finalizers: [directoryFinalizer],
        annotations: { [intentAnnotation]: '{}' },
        preBound: true,
      }),
      volumePhase: 'Bound',
      writes: ['completeBinding'],
      crashPoints: ['after-finish'],
    },
    {
      name: 'Bound: the hand-over is finished by dropping the finalizer',
      claim: claim({
        finalizers: [directoryFinalizer],
        annotations: { [intentAnnotation]: '{}' },
        bound: true,
      }),
      volumePhase: 'Bound',
      writes: ['clearIntent'],
      crashPoints: ['after-finish'],
    },
    {
      name: 'deleted before it was Bound: the finalizer goes, the PV releases the directory',
      claim: claim({
        finalizers: [directoryFinalizer],
        annotations: { [intentAnnotation]: '{}' },
        deleting: true,
      }),
      volumePhase: 'Pending',
      writes: ['clearIntent'],
      crashPoints: ['after-finish'],
    },
  ])('the PV exists, claim $name', async (c) => {
    const sc = storageClass();
    const h = harness({ claims: [c.claim], classes: [sc], volumes: [volumeFor(claim(), sc, c.volumePhase)] });

    expect(await run(h)).toBe('done');

    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual(c.writes);
    expect(h.crashPoints).toStrictEqual(c.crashPoints);
    expect(h.backend.calls).toStrictEqual([]);
    const after = h.cluster.claims.get(claimKey);
    if (c.claim.metadata?.deletionTimestamp)
      expect(after).toBeUndefined(); // its last finalizer went
    else if (c.writes.length > 0) {
      expect(after?.metadata?.finalizers).toStrictEqual([]);
      expect(after?.metadata?.annotations).not.toHaveProperty(intentAnnotation);
    } else expect(after).toStrictEqual(c.claim);
    if (c.writes.includes('completeBinding')) {
      // As the binder writes a claim it binds: the PV's access modes and capacity.
      const pv = h.cluster.volumes.get(pvNameFor(c.claim));
      expect(after?.metadata?.annotations?.['pv.kubernetes.io/bind-completed']).toBe('yes');
      expect(after?.status).toStrictEqual({
        phase: 'Bound',
        accessModes: pv?.spec?.accessModes,
        capacity: pv?.spec?.capacity,
      });
      expect(after?.status?.accessModes).toStrictEqual(['ReadWriteMany']);
    }
  });

  it('a failure to finish the hand-over is logged and retried, counted like any other', async () => {
    const sc = storageClass();
    const held = claim({ finalizers: [directoryFinalizer], bound: true });
    const h = harness({ claims: [held], classes: [sc], volumes: [volumeFor(claim(), sc, 'Bound')] });
    h.cluster.failNext('clearIntent', unavailable('could not remove the finalizer: connection reset'));

    expect(await run(h)).toBe('retry-fast');

    expect(await counts(h.deps.metrics.retries)).toStrictEqual({ fast: 1 });
    expect(h.logs().filter((l) => l.level === 40)).toMatchObject([
      { msg: 'reconcile failed; will retry', err: 'could not remove the finalizer: connection reset' },
    ]);
  });
});

const abandonedRecord = {
  op: 'deleteRecord',
  args: [root, locationDigest({ server, share: '/export', subDir })],
};
const abandonedOwner = { op: 'deleteRecord', args: [root, ownerKey({ server, share: '/export', subDir })] };
const ownerRead = { op: 'getRecord', args: [root, ownerKey({ server, share: '/export', subDir })] };

/** What provisioning recorded before it made the directory of the claim's intent. */
async function ownedByThisVolume(h: Harness, sc: V1StorageClass) {
  const intent = planFor(claim(), sc);
  await h.backend.putRecord(root, ownerKey(intent.location), {
    volumeId: intent.volumeId,
    location: intent.location,
    created: true,
  });
  h.backend.calls.length = 0;
}

describe('reconcileClaim: the claim was deleted after its intent was recorded', () => {
  it.each<{
    name: string;
    onDelete: string;
    /** What is in the directory besides itself. */
    content?: boolean;
    backendOp: string;
    /** The entries below the share root afterwards. */
    after: string[];
  }>([
    {
      name: 'delete removes the empty directory',
      onDelete: 'delete',
      backendOp: 'removeEmptyDirectory',
      after: [],
    },
    {
      name: 'delete keeps a directory that has content',
      onDelete: 'delete',
      content: true,
      backendOp: 'removeEmptyDirectory',
      after: [dir, `${dir}/old-data`],
    },
    {
      name: 'archive renames it',
      onDelete: 'archive',
      content: true,
      backendOp: 'archiveDirectory',
      after: [
        `${root}/${archiveNameFor(subDir, now, 0)}`,
        `${root}/${archiveNameFor(subDir, now, 0)}/old-data`,
      ],
    },
    { name: 'retain keeps it', onDelete: 'retain', backendOp: '', after: [dir] },
  ])('onDelete $onDelete: $name, then the finalizer goes', async (c) => {
    const sc = storageClass({ onDelete: c.onDelete });
    const h = harness({ claims: [deletedMidProvisioning(sc)], classes: [sc] });
    h.backend.plant(dir, { kind: 'dir', mode: 0o777 });
    if (c.content) h.backend.plant(`${dir}/old-data`, { kind: 'file', content: 'x' });
    await ownedByThisVolume(h, sc);

    expect(await run(h)).toBe('done');

    const released =
      c.backendOp === ''
        ? []
        : [
            {
              op: c.backendOp,
              args: c.backendOp === 'archiveDirectory' ? [root, subDir, now] : [root, subDir],
            },
          ];
    // The location and ownership records go too, unless the directory had to stay.
    const recordGone = c.content && c.onDelete === 'delete' ? [] : [abandonedRecord, abandonedOwner];
    expect(h.backend.calls).toStrictEqual([ownerRead, ...released, ...recordGone]);
    expect(
      [...h.backend.entries.keys()].filter((k) => k !== root && !k.startsWith(`${root}/.warren`)),
    ).toStrictEqual(c.after);
    expect(h.cluster.writes).toStrictEqual([
      { op: 'readVolume', key: pvName },
      { op: 'clearIntent', key: claimKey },
    ]);
    // pvc-protection still holds the claim; our finalizer and the intent are gone.
    expect(h.cluster.claims.get(claimKey)?.metadata).toMatchObject({
      finalizers: ['kubernetes.io/pvc-protection'],
      deletionTimestamp: deletedAt,
    });
    expect(h.cluster.claims.get(claimKey)?.metadata?.annotations).not.toHaveProperty(intentAnnotation);
    expect(await counts(h.deps.metrics.retries)).toStrictEqual({});
  });

  const sc = storageClass();
  const elsewhere = {
    ...planFor(claim(), sc),
    location: { server: 'nfs.example.com', share: '/export', subDir: 'x' },
  };
  const sharer = sharingVolume(sc);

  it.each<{
    name: string;
    claim: V1PersistentVolumeClaim;
    classes: V1StorageClass[];
    cached?: ReturnType<typeof volumeFor>[];
    live?: ReturnType<typeof volumeFor>[];
    writes: string[];
  }>([
    {
      name: 'the recorded intent is not the plan (edited annotation)',
      claim: deletedMidProvisioning(sc, serializeIntent(elsewhere)),
      classes: [sc],
      writes: ['clearIntent'],
    },
    {
      name: 'no intent is recorded',
      claim: claim({ finalizers: [directoryFinalizer], deleting: true }),
      classes: [sc],
      writes: ['clearIntent'],
    },
    {
      name: 'the class is gone, so the plan cannot be made',
      claim: deletedMidProvisioning(sc),
      classes: [],
      writes: ['clearIntent'],
    },
    {
      name: 'the class parameters no longer parse',
      claim: deletedMidProvisioning(sc),
      classes: [storageClass({ colour: 'blue' })],
      writes: ['clearIntent'],
    },
    {
      name: 'another PV uses the directory',
      claim: deletedMidProvisioning(sc),
      classes: [sc],
      cached: [sharer],
      writes: ['clearIntent'],
    },
    {
      name: 'our PV exists after all (the cache lags)',
      claim: deletedMidProvisioning(sc),
      classes: [sc],
      live: [volumeFor(claim(), sc, 'Pending')],
      writes: ['readVolume', 'clearIntent'],
    },
  ])('leaves the directory alone when $name, and drops the finalizer', async (c) => {
    const h = harness({
      claims: [c.claim],
      classes: c.classes,
      volumes: [...(c.cached ?? []), ...(c.live ?? [])],
    });
    h.deps.volumes = cacheOf(new Map((c.cached ?? []).map((pv) => [pv.metadata?.name ?? '', pv])));
    h.backend.plant(dir, { kind: 'dir', mode: 0o777 });

    expect(await run(h)).toBe('done');

    expect(h.backend.calls).toStrictEqual([]);
    expect(h.backend.entries.has(dir)).toBe(true);
    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual(c.writes);
    expect(h.cluster.events).toStrictEqual([]);
  });

  it.each<{
    name: string;
    fail: (h: Harness) => void;
    shares?: Harness['deps']['store']['shares'];
    outcome: 'retry-fast' | 'retry-slow';
    retries: Record<string, number>;
    writes: string[];
  }>([
    {
      name: 'the share does not answer',
      fail: (h) => h.backend.failNext('removeEmptyDirectory', unavailable('stale file handle')),
      outcome: 'retry-fast',
      retries: { fast: 1 },
      writes: ['readVolume'],
    },
    {
      name: 'no --share flag covers the share any more',
      fail: (h) => {
        h.deps.store = { ...h.deps.store, shares: [] };
      },
      outcome: 'retry-slow',
      retries: { slow: 1 },
      writes: ['readVolume'],
    },
    {
      name: 'the finalizer cannot be removed',
      fail: (h) => h.cluster.failNext('clearIntent', unavailable('connection reset')),
      outcome: 'retry-fast',
      retries: { fast: 1 },
      writes: ['readVolume', 'clearIntent'],
    },
  ])('a failure ($name) keeps the finalizer and is a counted retry', async (c) => {
    const sc = storageClass();
    const deleted = deletedMidProvisioning(sc);
    const h = harness({ claims: [deleted], classes: [sc] });
    await ownedByThisVolume(h, sc);
    c.fail(h);

    expect(await run(h)).toBe(c.outcome);

    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual(c.writes);
    expect(h.cluster.claims.get(claimKey)).toStrictEqual(deleted);
    expect(await counts(h.deps.metrics.retries)).toStrictEqual(c.retries);
    expect(
      h
        .logs()
        .filter((l) => l.level === 40)
        .map((l) => l.msg),
    ).toStrictEqual(['could not clean up after a deleted claim; will retry']);
  });
});

describe('reconcileClaim: logs', () => {
  it("every line carries the claim's namespace, name and uid as fields of their own", async () => {
    const h = harness({ claims: [claim()], classes: [storageClass()] });
    await run(h);

    const lines = h.logs();
    expect(lines.map((l) => l.msg)).toStrictEqual(['provisioned']);
    for (const line of lines) {
      expect(line).toMatchObject({ namespace: 'team-a', name: 'data', uid, action: 'provision' });
      expect(line).not.toHaveProperty('claim');
    }
  });

  it('claimFacts reads what the template may use', () => {
    expect(claimFacts(claim())).toStrictEqual({
      namespace: 'team-a',
      name: 'data',
      uid,
      labels: {},
      annotations: { 'volume.kubernetes.io/storage-provisioner': provisioner },
    });
  });
});
