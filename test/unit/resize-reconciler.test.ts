import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { reconcileClaim } from '../../src/claims/claim-reconciler.ts';
import { WarrenError } from '../../src/errors.ts';
import {
  claim,
  counts,
  type Harness,
  harness,
  now,
  pvName,
  type RecordedEvent,
  storageClass,
  volumeFor,
} from './reconcile-fixtures.ts';

const expandable: V1StorageClass = { ...storageClass(), allowVolumeExpansion: true };
const claimKey = 'team-a/data';
const run = (h: Harness) => reconcileClaim(h.deps, 'team-a', 'data');
const onClaim = (type: RecordedEvent['type'], reason: string, message: string): RecordedEvent => ({
  kind: 'PersistentVolumeClaim',
  name: 'data',
  type,
  reason,
  message,
});

function bound(requested: string, capacity: string): V1PersistentVolumeClaim {
  const c = claim();
  return {
    ...c,
    spec: { ...c.spec, volumeName: pvName, resources: { requests: { storage: requested } } },
    status: { phase: 'Bound', capacity: { storage: capacity } },
  };
}

function pvOf(size: string): V1PersistentVolume {
  const pv = volumeFor(claim(), expandable, 'Bound');
  return { ...pv, spec: { ...pv.spec, capacity: { storage: size } } };
}

describe('reconcileClaim: resize', () => {
  it('marks the claim, sets the PV capacity, marks it finished, with Events', async () => {
    const h = harness({ claims: [bound('3Gi', '1Gi')], classes: [expandable], volumes: [pvOf('1Gi')] });
    expect(await run(h)).toBe('done');
    expect(h.cluster.writes).toStrictEqual([
      { op: 'patchClaimStatus', key: claimKey },
      { op: 'setVolumeCapacity', key: pvName },
      { op: 'patchClaimStatus', key: claimKey },
    ]);
    expect(h.cluster.volumes.get(pvName)?.spec?.capacity).toStrictEqual({ storage: '3Gi' });
    expect(h.cluster.claims.get(claimKey)?.status).toStrictEqual({
      phase: 'Bound',
      capacity: { storage: '3Gi' },
      conditions: [],
      allocatedResources: { storage: '3Gi' },
      allocatedResourceStatuses: undefined,
    });
    expect(h.cluster.events).toStrictEqual([
      onClaim('Normal', 'Resizing', `resizing volume ${pvName} from 1Gi to 3Gi`),
      onClaim('Normal', 'VolumeResizeSuccessful', `volume ${pvName} resized from 1Gi to 3Gi`),
    ]);
    expect(h.crashPoints).toStrictEqual(['after-resize-started', 'after-volume-capacity']);
    expect(await counts(h.deps.metrics.resizes)).toStrictEqual({ success: 1 });
    // Done: a second pass changes nothing.
    expect(await run(h)).toBe('done');
    expect(h.cluster.writes).toHaveLength(3);
  });

  it('a shrink below the volume keeps the volume and tells the user', async () => {
    const h = harness({ claims: [bound('5Gi', '1Gi')], classes: [expandable], volumes: [pvOf('10Gi')] });
    expect(await run(h)).toBe('done');
    expect(h.cluster.writes).toStrictEqual([{ op: 'patchClaimStatus', key: claimKey }]);
    expect(h.cluster.volumes.get(pvName)?.spec?.capacity).toStrictEqual({ storage: '10Gi' });
    expect(h.cluster.claims.get(claimKey)?.status?.capacity).toStrictEqual({ storage: '10Gi' });
    expect(h.cluster.events).toStrictEqual([
      onClaim(
        'Warning',
        'VolumeResizeFailed',
        `requested 5Gi is less than the 10Gi volume ${pvName} already has; Warren never shrinks a volume, the claim keeps 10Gi`,
      ),
    ]);
    expect(await counts(h.deps.metrics.resizes)).toStrictEqual({ refused: 1 });
  });

  it('a class that does not allow expansion: refused once, recorded on the claim', async () => {
    const h = harness({ claims: [bound('3Gi', '1Gi')], classes: [storageClass()], volumes: [pvOf('1Gi')] });
    expect(await run(h)).toBe('done');
    expect(await run(h)).toBe('done');
    const message = `StorageClass warren does not allow volume expansion; set allowVolumeExpansion: true on it to resize volume ${pvName} to 3Gi`;
    expect(h.cluster.writes).toStrictEqual([{ op: 'patchClaimStatus', key: claimKey }]);
    expect(h.cluster.events).toStrictEqual([onClaim('Warning', 'VolumeResizeFailed', message)]);
    expect(h.cluster.claims.get(claimKey)?.status).toMatchObject({
      allocatedResourceStatuses: { storage: 'ControllerResizeInfeasible' },
      conditions: [{ type: 'ControllerResizeError', status: 'True', message, lastTransitionTime: now }],
    });
    expect(h.cluster.volumes.get(pvName)?.spec?.capacity).toStrictEqual({ storage: '1Gi' });
  });

  it('a failed PV write is reported and retried; the retry does not mark the claim again', async () => {
    const h = harness({ claims: [bound('3Gi', '1Gi')], classes: [expandable], volumes: [pvOf('1Gi')] });
    h.cluster.failNext('setVolumeCapacity', new WarrenError('Unavailable', 'apiserver away'));
    expect(await run(h)).toBe('retry-fast');
    expect(h.cluster.events.at(-1)).toStrictEqual(
      onClaim('Warning', 'VolumeResizeFailed', 'apiserver away. Warren retries automatically within 30 s'),
    );
    expect(await run(h)).toBe('done');
    expect(h.cluster.writes.map((w) => w.op)).toStrictEqual([
      'patchClaimStatus',
      'setVolumeCapacity',
      'setVolumeCapacity',
      'patchClaimStatus',
    ]);
    expect(h.cluster.claims.get(claimKey)?.status?.capacity).toStrictEqual({ storage: '3Gi' });
    expect(await counts(h.deps.metrics.resizes)).toStrictEqual({ failed: 1, success: 1 });
  });
});
