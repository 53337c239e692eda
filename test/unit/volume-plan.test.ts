import type { V1PersistentVolume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { volumeLookupOf } from '../../src/claims/volume-index.ts';
import {
  type BoundClaim,
  boundClaimOf,
  decideVolume,
  isOurVolume,
  planVolume,
  recordedOnDelete,
  type VolumeDecision,
} from '../../src/claims/volume-plan.ts';
import type { OnDelete, VolumeLocation } from '../../src/provisioning/types.ts';
import { encodeVolumeId } from '../../src/provisioning/volume-id.ts';

const provisioner = 'nfs.warren.dev';
const finalizer = 'warren.dev/directory';
const provisionedBy = 'pv.kubernetes.io/provisioned-by';
const onDeleteAnnotation = 'warren.dev/on-delete';
const location: VolumeLocation = { server: 'nfs.example.com', share: '/export', subDir: 'team-a-data-pvc-1' };

interface VolumeShape {
  reclaim?: string;
  phase?: string;
  deleting?: boolean;
  finalizers?: string[];
  driver?: string;
  annotations?: Record<string, string>;
  handle?: string;
  /** The uid in its claimRef (team-a/data); null: no claimRef at all. */
  claimUid?: string | null;
}

function volume(shape: VolumeShape = {}): V1PersistentVolume {
  return {
    metadata: {
      name: 'pvc-1',
      creationTimestamp: new Date('2025-01-01T00:00:00Z'),
      annotations: shape.annotations ?? { [provisionedBy]: provisioner, [onDeleteAnnotation]: 'archive' },
      finalizers: shape.finalizers ?? ['kubernetes.io/pv-protection', finalizer],
      ...(shape.deleting ? { deletionTimestamp: new Date('2025-01-02T03:04:05Z') } : {}),
    },
    spec: {
      ...(shape.reclaim === undefined ? {} : { persistentVolumeReclaimPolicy: shape.reclaim }),
      ...(shape.claimUid === null
        ? {}
        : { claimRef: { namespace: 'team-a', name: 'data', uid: shape.claimUid ?? 'uid-1' } }),
      csi: {
        driver: shape.driver ?? provisioner,
        volumeHandle: shape.handle ?? encodeVolumeId(location, 'archive'),
      },
    },
    ...(shape.phase ? { status: { phase: shape.phase } } : {}),
  };
}

describe('decideVolume', () => {
  it.each<{ name: string; pv: V1PersistentVolume; claim?: BoundClaim; expected: VolumeDecision }>([
    // Reclaim policy Delete.
    {
      name: 'Delete + Released: release with the recorded onDelete',
      pv: volume({ reclaim: 'Delete', phase: 'Released' }),
      expected: { action: 'release', onDelete: 'archive' },
    },
    {
      name: 'Delete + Failed: release',
      pv: volume({ reclaim: 'Delete', phase: 'Failed' }),
      expected: { action: 'release', onDelete: 'archive' },
    },
    {
      name: 'Delete + Bound: ignore',
      pv: volume({ reclaim: 'Delete', phase: 'Bound' }),
      expected: { action: 'ignore', reason: 'phase Bound' },
    },
    // Its claim gone while the PV is still Bound (the binder has not written Released yet).
    {
      name: 'Delete + Bound, claim gone: mark it Released',
      pv: volume({ reclaim: 'Delete', phase: 'Bound' }),
      claim: 'gone',
      expected: { action: 'mark-released' },
    },
    {
      name: 'Delete + Bound and being deleted, claim gone: mark it Released',
      pv: volume({ reclaim: 'Delete', phase: 'Bound', deleting: true }),
      claim: 'gone',
      expected: { action: 'mark-released' },
    },
    {
      name: 'Delete + Bound, claim gone, no claimRef: ignore (bound to nothing it could lose)',
      pv: volume({ reclaim: 'Delete', phase: 'Bound', claimUid: null }),
      claim: 'gone',
      expected: { action: 'ignore', reason: 'phase Bound' },
    },
    {
      name: 'Delete + Bound, claim gone, claimRef without uid: ignore (pre-bound, never bound)',
      pv: volume({ reclaim: 'Delete', phase: 'Bound', claimUid: '' }),
      claim: 'gone',
      expected: { action: 'ignore', reason: 'phase Bound' },
    },
    {
      name: 'Delete + Bound, claim gone, claimRef without a name: ignore (no claim to read)',
      pv: (() => {
        const pv = volume({ reclaim: 'Delete', phase: 'Bound' });
        if (pv.spec?.claimRef) pv.spec.claimRef.name = '';
        return pv;
      })(),
      claim: 'gone',
      expected: { action: 'ignore', reason: 'phase Bound' },
    },
    {
      name: 'Delete + Bound, claim gone, without our finalizer: ignore (not ours to release)',
      pv: volume({ reclaim: 'Delete', phase: 'Bound', finalizers: ['kubernetes.io/pv-protection'] }),
      claim: 'gone',
      expected: { action: 'ignore', reason: 'phase Bound' },
    },
    {
      name: 'Retain + Bound, claim gone: ignore (the binder releases it; the data stays)',
      pv: volume({ reclaim: 'Retain', phase: 'Bound' }),
      claim: 'gone',
      expected: { action: 'ignore', reason: 'reclaim policy Retain' },
    },
    {
      name: 'Delete + Available, claim gone: ignore',
      pv: volume({ reclaim: 'Delete', phase: 'Available' }),
      claim: 'gone',
      expected: { action: 'ignore', reason: 'phase Available' },
    },
    {
      name: 'Delete + Released, claim gone: release',
      pv: volume({ reclaim: 'Delete', phase: 'Released' }),
      claim: 'gone',
      expected: { action: 'release', onDelete: 'archive' },
    },
    {
      name: 'Delete + Available: ignore',
      pv: volume({ reclaim: 'Delete', phase: 'Available' }),
      expected: { action: 'ignore', reason: 'phase Available' },
    },
    {
      name: 'Delete + Pending: ignore',
      pv: volume({ reclaim: 'Delete', phase: 'Pending' }),
      expected: { action: 'ignore', reason: 'phase Pending' },
    },
    {
      name: 'Delete + no status: ignore with phase unknown',
      pv: volume({ reclaim: 'Delete' }),
      expected: { action: 'ignore', reason: 'phase unknown' },
    },
    {
      name: 'Delete + Available + being deleted: release',
      pv: volume({ reclaim: 'Delete', phase: 'Available', deleting: true }),
      expected: { action: 'release', onDelete: 'archive' },
    },
    {
      name: 'Delete + Released + being deleted: release',
      pv: volume({ reclaim: 'Delete', phase: 'Released', deleting: true }),
      expected: { action: 'release', onDelete: 'archive' },
    },
    {
      name: 'Delete + Bound + being deleted: ignore (pv-protection holds it)',
      pv: volume({ reclaim: 'Delete', phase: 'Bound', deleting: true }),
      expected: { action: 'ignore', reason: 'phase Bound' },
    },
    {
      name: 'Delete + Released without our finalizer (directory already handled): delete only the PV',
      pv: volume({ reclaim: 'Delete', phase: 'Released', finalizers: ['kubernetes.io/pv-protection'] }),
      expected: { action: 'delete-pv' },
    },
    {
      name: 'Delete + Released, made by external-provisioner (no finalizer, no onDelete record): ignore',
      pv: volume({
        reclaim: 'Delete',
        phase: 'Released',
        finalizers: ['kubernetes.io/pv-protection', 'external-provisioner.volume.kubernetes.io/finalizer'],
        annotations: { [provisionedBy]: provisioner },
      }),
      expected: {
        action: 'ignore',
        reason: 'not made by warren controller (no finalizer, no onDelete record)',
      },
    },
    {
      name: 'Delete + being deleted without our finalizer: ignore (it goes by itself)',
      pv: volume({
        reclaim: 'Delete',
        phase: 'Released',
        deleting: true,
        finalizers: ['kubernetes.io/pv-protection'],
      }),
      expected: { action: 'ignore', reason: 'being deleted, directory already handled' },
    },
    // Reclaim policy Retain.
    {
      name: 'Retain + Released: ignore',
      pv: volume({ reclaim: 'Retain', phase: 'Released' }),
      expected: { action: 'ignore', reason: 'reclaim policy Retain' },
    },
    {
      name: 'Retain + being deleted with our finalizer: drop the finalizer',
      pv: volume({ reclaim: 'Retain', phase: 'Released', deleting: true }),
      expected: { action: 'drop-finalizer' },
    },
    {
      name: 'Retain + being deleted without our finalizer: ignore',
      pv: volume({
        reclaim: 'Retain',
        phase: 'Released',
        deleting: true,
        finalizers: ['kubernetes.io/pv-protection'],
      }),
      expected: { action: 'ignore', reason: 'reclaim policy Retain' },
    },
    {
      name: 'Recycle is treated like Retain',
      pv: volume({ reclaim: 'Recycle', phase: 'Released' }),
      expected: { action: 'ignore', reason: 'reclaim policy Recycle' },
    },
    // Not ours.
    {
      name: 'another CSI driver: ignore',
      pv: volume({ reclaim: 'Delete', phase: 'Released', driver: 'nfs.csi.k8s.io' }),
      expected: { action: 'ignore', reason: 'not provisioned by us' },
    },
    {
      name: 'our driver but no provisioned-by annotation (pre-provisioned by hand): ignore',
      pv: volume({ reclaim: 'Delete', phase: 'Released', annotations: {} }),
      expected: { action: 'ignore', reason: 'not provisioned by us' },
    },
    {
      name: 'provisioned-by another provisioner: ignore',
      pv: volume({
        reclaim: 'Delete',
        phase: 'Released',
        annotations: { [provisionedBy]: 'other.example.com' },
      }),
      expected: { action: 'ignore', reason: 'not provisioned by us' },
    },
  ])('$name', ({ pv, claim = 'exists', expected }) => {
    expect(decideVolume(pv, provisioner, claim)).toEqual(expected);
  });

  it('ignores a PV with no csi section at all', () => {
    const pv: V1PersistentVolume = {
      metadata: { name: 'nfs-static', annotations: { [provisionedBy]: provisioner } },
      spec: { persistentVolumeReclaimPolicy: 'Delete', nfs: { server: 'nfs', path: '/export' } },
      status: { phase: 'Released' },
    };
    expect(decideVolume(pv, provisioner, 'exists')).toEqual({
      action: 'ignore',
      reason: 'not provisioned by us',
    });
  });
});

describe('isOurVolume', () => {
  it.each<[string, VolumeShape, string, boolean]>([
    ['our driver and annotation', {}, provisioner, true],
    ['another driver', { driver: 'nfs.csi.k8s.io' }, provisioner, false],
    ['no annotation', { annotations: {} }, provisioner, false],
    ['asked about another provisioner name', {}, 'other.warren.dev', false],
  ])('%s -> %s', (_name, shape, asked, expected) => {
    expect(isOurVolume(volume(shape), asked)).toBe(expected);
  });
});

describe('recordedOnDelete', () => {
  const longLocation: VolumeLocation = { ...location, subDir: `deep/${'x'.repeat(150)}` };

  it.each<[string, VolumeShape, OnDelete]>([
    ['compact handle: delete', { handle: encodeVolumeId(location, 'delete') }, 'delete'],
    ['compact handle: retain', { handle: encodeVolumeId(location, 'retain') }, 'retain'],
    ['compact handle: archive', { handle: encodeVolumeId(location, 'archive') }, 'archive'],
    ['digest handle: delete', { handle: encodeVolumeId(longLocation, 'delete') }, 'delete'],
    ['digest handle: archive', { handle: encodeVolumeId(longLocation, 'archive') }, 'archive'],
    [
      'the handle wins over a different annotation',
      { handle: encodeVolumeId(location, 'retain'), annotations: { [onDeleteAnnotation]: 'delete' } },
      'retain',
    ],
    [
      'unreadable handle: falls back to annotation delete',
      { handle: 'not-a-warren-id', annotations: { [onDeleteAnnotation]: 'delete' } },
      'delete',
    ],
    [
      'unreadable handle: falls back to annotation archive',
      { handle: '9#d#x', annotations: { [onDeleteAnnotation]: 'archive' } },
      'archive',
    ],
    [
      'unreadable handle and unknown annotation value: retain',
      { handle: 'nope', annotations: { [onDeleteAnnotation]: 'shred' } },
      'retain',
    ],
    [
      'unreadable handle and annotation in another case: retain',
      { handle: 'nope', annotations: { [onDeleteAnnotation]: 'Delete' } },
      'retain',
    ],
    ['unreadable handle and no annotation: retain', { handle: 'nope', annotations: {} }, 'retain'],
  ])('%s', (_name, shape, expected) => {
    expect(recordedOnDelete(volume(shape))).toBe(expected);
  });

  it('the long location really uses the digest form', () => {
    expect(encodeVolumeId(longLocation, 'delete')).toMatch(/^2#d#[A-Za-z0-9_-]{32}$/);
  });

  it('keeps the data when the PV has no handle and no annotation', () => {
    expect(recordedOnDelete({ metadata: { name: 'pvc-1' }, spec: {} })).toBe('retain');
  });

  it('release carries the handle onDelete, not the annotation', () => {
    const pv = volume({
      reclaim: 'Delete',
      phase: 'Released',
      handle: encodeVolumeId(location, 'delete'),
      annotations: { [provisionedBy]: provisioner, [onDeleteAnnotation]: 'retain' },
    });
    expect(decideVolume(pv, provisioner, 'exists')).toEqual({ action: 'release', onDelete: 'delete' });
  });
});

describe('boundClaimOf', () => {
  const pv = volume({ claimUid: 'uid-1' });
  const found = (uid: string) => ({ metadata: { namespace: 'team-a', name: 'data', uid } });
  it.each<{ name: string; claim: ReturnType<typeof found> | undefined; expected: BoundClaim }>([
    { name: 'no claim of that name: gone', claim: undefined, expected: 'gone' },
    { name: 'the claim it was bound to: exists', claim: found('uid-1'), expected: 'exists' },
    { name: 'a new claim of the same name: gone', claim: found('uid-2'), expected: 'gone' },
  ])('$name', ({ claim, expected }) => {
    expect(boundClaimOf(pv, claim)).toBe(expected);
  });
});

describe('planVolume', () => {
  const released = (
    attributes: Record<string, string>,
    onDelete: OnDelete = 'archive',
  ): V1PersistentVolume => {
    const pv = volume({ reclaim: 'Delete', phase: 'Released', handle: encodeVolumeId(location, onDelete) });
    return {
      ...pv,
      spec: {
        ...pv.spec,
        csi: {
          ...pv.spec?.csi,
          driver: provisioner,
          volumeHandle: pv.spec?.csi?.volumeHandle ?? '',
          volumeAttributes: attributes,
        },
      },
    };
  };
  const attributes = { server: location.server, share: location.share, subDir: location.subDir };
  const sharer: V1PersistentVolume = {
    metadata: { name: 'pvc-2' },
    spec: {
      csi: {
        driver: provisioner,
        volumeHandle: 'y',
        volumeAttributes: { ...attributes, subDir: `${location.subDir}/x` },
      },
    },
  };

  it('a released PV whose attributes match its handle: release exactly its directory', () => {
    expect(planVolume(released(attributes), provisioner, volumeLookupOf([]), 'gone')).toStrictEqual({
      action: 'release',
      onDelete: 'archive',
      location,
      release: {
        location,
        onDelete: 'archive',
        onlyIfEmpty: false,
        volumeId: encodeVolumeId(location, 'archive'),
        name: 'pvc-1',
        legacy: { createdAt: new Date('2025-01-01T00:00:00Z') },
      },
    });
  });

  it('another PV inside its directory: touch nothing and say why', () => {
    expect(planVolume(released(attributes), provisioner, volumeLookupOf([sharer]), 'gone')).toStrictEqual({
      action: 'release',
      onDelete: 'archive',
      location,
      kept: `directory ${location.subDir} is also used by PV pvc-2; kept it instead of applying onDelete archive`,
    });
  });

  it('retain with a sharer: nothing to say, nothing touched', () => {
    const pv = released(attributes, 'retain');
    expect(planVolume(pv, provisioner, volumeLookupOf([sharer]), 'gone')).toStrictEqual({
      action: 'release',
      onDelete: 'retain',
      location,
    });
  });

  it.each([
    ['another subDir', { ...attributes, subDir: 'elsewhere' }],
    ['the share root', { ...attributes, subDir: '' }],
    ['another share', { ...attributes, share: '/' }],
    ['no attributes', {}],
  ])('attributes naming %s: fail, touching nothing', (_what, attrs) => {
    const plan = planVolume(released(attrs), provisioner, volumeLookupOf([]), 'gone');
    expect(plan).toMatchObject({
      action: 'fail',
      onDelete: 'archive',
      error: { kind: 'FailedPrecondition' },
    });
    expect(plan.action === 'fail' && plan.error.message).toContain('refusing to touch any directory');
  });
});
