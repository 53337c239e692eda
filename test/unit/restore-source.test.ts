// A restore's source, case by case: the VolumeSnapshot and its content as the caches hold them,
// and the exact error (kind and words) for every refusal.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { cloneSource } from '../../src/claims/clone-plan.ts';
import type { VolumeSnapshot, VolumeSnapshotContent } from '../../src/claims/snapshot-objects.ts';
import { WarrenError } from '../../src/errors.ts';

const provisioner = 'nfs.warren.dev';
const claim = (storage = '1Gi'): V1PersistentVolumeClaim => ({
  metadata: { namespace: 'team-a', name: 'restored', uid: 'c-1' },
  spec: {
    resources: { requests: { storage } },
    dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap' },
  },
});
const snapshot = (status: VolumeSnapshot['status'] = {}, deleting = false): VolumeSnapshot => ({
  metadata: {
    namespace: 'team-a',
    name: 'snap',
    uid: 's-1',
    ...(deleting ? { deletionTimestamp: new Date(0) } : {}),
  },
  status: { boundVolumeSnapshotContentName: 'content-1', readyToUse: true, restoreSize: '1Ki', ...status },
});
const content = (
  shape: { driver?: string; uid?: string; restoreSize?: number } = {},
): VolumeSnapshotContent => ({
  metadata: { name: 'content-1' },
  spec: { driver: shape.driver ?? provisioner, volumeSnapshotRef: { uid: shape.uid ?? 's-1' } },
  status: {
    snapshotHandle: 's1#nfs#/export#snapshot-s-1',
    readyToUse: true,
    restoreSize: shape.restoreSize ?? 1024,
  },
});

const run = (input: {
  claim?: V1PersistentVolumeClaim;
  snapshot?: VolumeSnapshot;
  content?: VolumeSnapshotContent;
}) => {
  const got = cloneSource({
    claim: input.claim ?? claim(),
    provisioner,
    source: undefined,
    sourceVolume: undefined,
    underWay: false,
    ...(input.snapshot ? { snapshot: input.snapshot } : {}),
    ...(input.content ? { content: input.content } : {}),
  });
  return got instanceof WarrenError ? `${got.kind}: ${got.message}` : got;
};

describe('cloneSource for a VolumeSnapshot', () => {
  it('a ready snapshot of this driver, bound both ways, no larger than the claim: restored', () => {
    expect(run({ snapshot: snapshot(), content: content() })).toStrictEqual({
      kind: 'VolumeSnapshot',
      namespace: 'team-a',
      name: 'snap',
      snapshotHandle: 's1#nfs#/export#snapshot-s-1',
    });
  });

  it.each<[string, Parameters<typeof run>[0], string]>([
    [
      'missing',
      {},
      'FailedPrecondition: VolumeSnapshot team-a/snap not found; create it or fix spec.dataSource',
    ],
    [
      'being deleted',
      { snapshot: snapshot({}, true), content: content() },
      'FailedPrecondition: VolumeSnapshot team-a/snap is being deleted',
    ],
    [
      'of another driver (even before it is ready)',
      { snapshot: snapshot({ readyToUse: false }), content: content({ driver: 'other.csi' }) },
      'InvalidArgument: VolumeSnapshot team-a/snap is a snapshot of driver other.csi; Warren restores only its own snapshots (driver nfs.warren.dev)',
    ],
    [
      'not ready, with its error',
      { snapshot: snapshot({ readyToUse: false, error: { message: 'share full' } }), content: content() },
      'Unavailable: VolumeSnapshot team-a/snap is not ready to use yet (share full); the restore waits for it and starts once it is',
    ],
    [
      'ready, its content not in the cache',
      { snapshot: snapshot() },
      'Unavailable: the VolumeSnapshotContent content-1 of VolumeSnapshot team-a/snap is not in the cache yet',
    ],
    [
      'bound to a content that names another VolumeSnapshot',
      { snapshot: snapshot(), content: content({ uid: 's-2' }) },
      'InvalidArgument: VolumeSnapshotContent content-1 is bound to another VolumeSnapshot than VolumeSnapshot team-a/snap',
    ],
    [
      'larger than the claim',
      { claim: claim('512'), snapshot: snapshot(), content: content() },
      'InvalidArgument: the restore asks for 512, less than the restoreSize 1Ki of VolumeSnapshot team-a/snap; request at least that',
    ],
  ])('refuses a snapshot %s', (_name, input, expected) => {
    expect(run(input)).toBe(expected);
  });
});
