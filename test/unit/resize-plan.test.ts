import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planClaim } from '../../src/claims/claim-plan.ts';
import { planResize, type ResizePlan, withResizeConditions } from '../../src/claims/resize-plan.ts';
import { volumeLookupOf } from '../../src/claims/volume-index.ts';
import { claim, now, provisioner, pvName, storageClass, uid, volumeFor } from './reconcile-fixtures.ts';

const earlier = new Date('2025-06-01T11:00:00.000Z');
const expandable: V1StorageClass = { ...storageClass(), allowVolumeExpansion: true };

/** Our claim, bound to its PV, asking for `requested` with `capacity` in its status. */
function bound(
  requested: string,
  capacity: string,
  status: Partial<NonNullable<V1PersistentVolumeClaim['status']>> = {},
): V1PersistentVolumeClaim {
  const c = claim();
  return {
    ...c,
    spec: { ...c.spec, volumeName: pvName, resources: { requests: { storage: requested } } },
    status: { phase: 'Bound', capacity: { storage: capacity }, ...status },
  };
}

function pvOf(size: string, changes: Partial<V1PersistentVolume['spec']> = {}): V1PersistentVolume {
  const pv = volumeFor(claim(), expandable, 'Bound');
  return { ...pv, spec: { ...pv.spec, capacity: { storage: size }, ...changes } };
}

/** The plan for `c` with `pv`; the class is `expandable` unless given (undefined included). */
const plan = (
  c: V1PersistentVolumeClaim,
  pv: V1PersistentVolume | undefined = pvOf('1Gi'),
  ...sc: [V1StorageClass?]
) => planResize({ claim: c, volume: pv, storageClass: sc.length ? sc[0] : expandable, provisioner, now });

const finished = (to: string) => ({
  conditions: [],
  allocatedResources: { storage: to },
  allocatedResourceStatuses: { storage: null },
  capacity: { storage: to },
});

describe('planResize', () => {
  it.each<[string, V1PersistentVolumeClaim, V1PersistentVolume | undefined, ResizePlan]>([
    [
      'the claim asks for what it has',
      bound('1Gi', '1Gi'),
      pvOf('1Gi'),
      { action: 'none', reason: 'no resize requested' },
    ],
    [
      'the claim asks for less than it has',
      bound('1Gi', '2Gi'),
      pvOf('2Gi'),
      { action: 'none', reason: 'no resize requested' },
    ],
    [
      'the same size spelt another way',
      bound('1024Mi', '1Gi'),
      pvOf('1Gi'),
      { action: 'none', reason: 'no resize requested' },
    ],
    [
      'the claim is not bound yet',
      { ...bound('2Gi', '1Gi'), status: { phase: 'Pending' } },
      pvOf('1Gi'),
      { action: 'none', reason: 'claim is not bound' },
    ],
    [
      'the claim is being deleted',
      { ...bound('2Gi', '1Gi'), metadata: { ...claim().metadata, deletionTimestamp: now } },
      pvOf('1Gi'),
      { action: 'none', reason: 'claim is being deleted' },
    ],
    [
      'the PV is not in the cache',
      bound('2Gi', '1Gi'),
      undefined,
      { action: 'none', reason: `PV ${pvName} is not in the cache` },
    ],
    [
      "the PV is another driver's",
      bound('2Gi', '1Gi'),
      pvOf('1Gi', { csi: { driver: 'other.example.com', volumeHandle: 'x' } }),
      { action: 'none', reason: 'not a volume of ours' },
    ],
    [
      'the PV is bound to another claim',
      bound('2Gi', '1Gi'),
      pvOf('1Gi', { claimRef: { uid: 'someone-else' } }),
      { action: 'none', reason: 'PV is bound to another claim' },
    ],
  ])('nothing to do when %s', (_what, c, pv, expected) => {
    expect(planResize({ claim: c, volume: pv, storageClass: expandable, provisioner, now })).toStrictEqual(
      expected,
    );
  });

  it('expands: in progress, then the PV, then finished (as external-resizer marks a claim)', () => {
    expect(plan(bound('2Gi', '1Gi'))).toStrictEqual<ResizePlan>({
      action: 'expand',
      plan: {
        volume: pvName,
        from: '1Gi',
        to: '2Gi',
        markInProgress: {
          conditions: [{ type: 'Resizing', status: 'True', lastTransitionTime: now }],
          allocatedResources: { storage: '2Gi' },
          allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
        },
        volumeCapacity: '2Gi',
        finish: finished('2Gi'),
      },
    });
  });

  it('resumes a resize already marked in progress without marking it again', () => {
    const c = bound('2Gi', '1Gi', {
      conditions: [{ type: 'Resizing', status: 'True', lastTransitionTime: earlier }],
      allocatedResources: { storage: '2Gi' },
      allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
    });
    expect(plan(c)).toStrictEqual<ResizePlan>({
      action: 'expand',
      plan: { volume: pvName, from: '1Gi', to: '2Gi', volumeCapacity: '2Gi', finish: finished('2Gi') },
    });
  });

  it('only finishes when the PV already has the size (cut off after the PV step)', () => {
    const c = bound('2Gi', '1Gi', {
      allocatedResources: { storage: '2Gi' },
      allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
    });
    expect(plan(c, pvOf('2Gi'))).toStrictEqual<ResizePlan>({
      action: 'expand',
      plan: { volume: pvName, from: '1Gi', to: '2Gi', finish: finished('2Gi') },
    });
  });

  it("refuses a shrink below the size the volume has: the claim keeps the volume's size", () => {
    expect(plan(bound('5Gi', '1Gi'), pvOf('10Gi'))).toStrictEqual<ResizePlan>({
      action: 'expand',
      plan: {
        volume: pvName,
        from: '1Gi',
        to: '10Gi',
        finish: finished('10Gi'),
        shrinkRefused: `requested 5Gi is less than the 10Gi volume ${pvName} already has; Warren never shrinks a volume, the claim keeps 10Gi`,
      },
    });
  });

  it.each<[string, V1StorageClass | undefined, string]>([
    [
      'a class without allowVolumeExpansion',
      storageClass(),
      `StorageClass warren does not allow volume expansion; set allowVolumeExpansion: true on it to resize volume ${pvName} to 2Gi`,
    ],
    [
      'a class set to false',
      { ...storageClass(), allowVolumeExpansion: false },
      `StorageClass warren does not allow volume expansion; set allowVolumeExpansion: true on it to resize volume ${pvName} to 2Gi`,
    ],
    ['a missing class', undefined, `StorageClass "warren" not found; cannot expand volume ${pvName} to 2Gi`],
  ])('refuses with %s, marking the claim infeasible', (_what, sc, message) => {
    expect(plan(bound('2Gi', '1Gi'), pvOf('1Gi'), sc)).toStrictEqual<ResizePlan>({
      action: 'refuse',
      volume: pvName,
      message,
      status: {
        conditions: [{ type: 'ControllerResizeError', status: 'True', message, lastTransitionTime: now }],
        allocatedResourceStatuses: { storage: 'ControllerResizeInfeasible' },
      },
    });
  });

  it('does not refuse twice: the refusal on the claim is the record', () => {
    const first = plan(bound('2Gi', '1Gi'), pvOf('1Gi'), storageClass());
    if (first.action !== 'refuse') throw new Error('expected a refusal');
    const told = bound('2Gi', '1Gi', {
      conditions: first.status.conditions,
      allocatedResourceStatuses: { storage: 'ControllerResizeInfeasible' },
    });
    expect(plan(told, pvOf('1Gi'), storageClass())).toStrictEqual<ResizePlan>({
      action: 'none',
      reason: 'refusal already recorded on the claim',
    });
    // Allowing expansion afterwards expands, clearing the error condition.
    const after = plan(told, pvOf('1Gi'), expandable);
    expect(after.action === 'expand' && after.plan.markInProgress?.conditions).toStrictEqual([
      { type: 'Resizing', status: 'True', lastTransitionTime: now },
    ]);
  });

  it('refuses a quantity it cannot read', () => {
    expect(() => plan(bound('2Gi', '1Gi'), pvOf('lots'))).toThrow(/"lots" is not a storage quantity/);
  });
});

describe('withResizeConditions', () => {
  const other = { type: 'ModifyVolumeError', status: 'True' };
  it.each([
    [
      'replaces resize conditions, keeps others',
      [other, { type: 'FileSystemResizePending', status: 'True' }],
      [{ type: 'Resizing', status: 'True', lastTransitionTime: now }],
      [other, { type: 'Resizing', status: 'True', lastTransitionTime: now }],
    ],
    [
      'keeps the transition time of an unchanged condition',
      [{ type: 'Resizing', status: 'True', lastTransitionTime: earlier }],
      [{ type: 'Resizing', status: 'True', lastTransitionTime: now }],
      [{ type: 'Resizing', status: 'True', lastTransitionTime: earlier }],
    ],
    [
      'removes them all when finished',
      [
        { type: 'Resizing', status: 'True' },
        { type: 'ControllerResizeError', status: 'True' },
      ],
      [],
      [],
    ],
  ])('%s', (_what, conditions, resize, expected) => {
    expect(withResizeConditions(conditions, resize)).toStrictEqual(expected);
  });
});

describe('planClaim routes a bound claim to its resize', () => {
  it.each([
    ['a resize', bound('2Gi', '1Gi'), 'resize'],
    ['no resize', bound('1Gi', '1Gi'), 'ignore'],
  ])('%s', (_what, c, action) => {
    const pv = pvOf('1Gi');
    const result = planClaim({
      claim: c,
      storageClass: expandable,
      provisioner,
      pvExists: true,
      volumes: volumeLookupOf([pv]),
      boundVolume: pv,
      now,
    });
    expect(result.action).toBe(action);
  });

  it('a bad quantity is a failure to report', () => {
    const pv = pvOf('lots');
    const result = planClaim({
      claim: bound('2Gi', '1Gi'),
      storageClass: expandable,
      provisioner,
      pvExists: true,
      volumes: volumeLookupOf([pv]),
      boundVolume: pv,
      now,
    });
    expect(result.action === 'fail' && result.error.kind).toBe('InvalidArgument');
  });
});

void uid;
