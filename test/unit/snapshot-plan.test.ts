// The VolumeSnapshotContent plan, case by case: which contents are Warren's, when a snapshot is
// taken, verified or released, and every refusal with the words the user reads.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { provisionedByAnnotation } from '../../src/claims/object-names.ts';
import {
  beingCreatedAnnotation,
  beingDeletedAnnotation,
  contentFinalizer,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
} from '../../src/claims/snapshot-objects.ts';
import { type ContentPlan, planContent, readyStatus } from '../../src/claims/snapshot-plan.ts';
import { encodeVolumeId } from '../../src/provisioning/volume-id.ts';

const provisioner = 'nfs.warren.dev';
const location = { server: 'nfs.example.com', share: '/export', subDir: 'team-a-data' };
const volumeId = encodeVolumeId(location, 'delete');
const pv: V1PersistentVolume = {
  metadata: { name: 'pvc-1', annotations: { [provisionedByAnnotation]: provisioner } },
  spec: {
    csi: {
      driver: provisioner,
      volumeHandle: volumeId,
      volumeAttributes: { server: location.server, share: location.share, subDir: location.subDir },
    },
  },
};
const snapshotClass: VolumeSnapshotClass = { metadata: { name: 'warren' }, driver: provisioner };
const deleted = new Date('2025-06-01T12:00:00Z');

function content(shape: {
  driver?: string;
  snapshotHandle?: string;
  className?: string | null;
  uid?: string;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deleting?: boolean;
  policy?: string;
  status?: VolumeSnapshotContent['status'];
}): VolumeSnapshotContent {
  return {
    metadata: {
      name: 'snapcontent-1',
      annotations: shape.annotations ?? {},
      finalizers: shape.finalizers ?? [contentFinalizer],
      ...(shape.deleting ? { deletionTimestamp: deleted } : {}),
    },
    spec: {
      driver: shape.driver ?? provisioner,
      deletionPolicy: shape.policy ?? 'Delete',
      source: shape.snapshotHandle ? { snapshotHandle: shape.snapshotHandle } : { volumeHandle: volumeId },
      ...(shape.className === null ? {} : { volumeSnapshotClassName: shape.className ?? 'warren' }),
      volumeSnapshotRef: { namespace: 'team-a', name: 'snap', uid: shape.uid ?? 'u-1' },
    },
    ...(shape.status ? { status: shape.status } : {}),
  };
}

const plan = (
  c: VolumeSnapshotContent,
  given: { cls?: VolumeSnapshotClass | undefined; volume?: V1PersistentVolume | undefined } = {},
) =>
  planContent({
    content: c,
    snapshotClass: 'cls' in given ? given.cls : snapshotClass,
    provisioner,
    sourceVolume: 'volume' in given ? given.volume : pv,
  });

const failure = (p: ContentPlan) => (p.action === 'fail' ? `${p.error.kind}: ${p.error.message}` : p.action);
const being = { [beingCreatedAnnotation]: 'yes' };
const released = { [beingDeletedAnnotation]: 'yes' };
const ready = { snapshotHandle: 's1#h', readyToUse: true, creationTime: 1e18, restoreSize: 10 };

describe('planContent', () => {
  it.each<[string, VolumeSnapshotContent, ContentPlan]>([
    [
      'a new dynamic content: take it, marking it being-created first',
      content({}),
      { action: 'take', name: 'snapshot-u-1', source: { volumeId, location }, markCreating: true },
    ],
    [
      'a content already being created (a restart): take it again, mark nothing',
      content({ annotations: being }),
      { action: 'take', name: 'snapshot-u-1', source: { volumeId, location }, markCreating: false },
    ],
    [
      'a content whose earlier attempt failed: take it again',
      content({ status: { readyToUse: false, error: { message: 'full' } } }),
      { action: 'take', name: 'snapshot-u-1', source: { volumeId, location }, markCreating: true },
    ],
    [
      'ready, still marked being-created: drop the mark',
      content({ annotations: being, status: ready }),
      { action: 'finish-create' },
    ],
    ['ready: nothing', content({ status: ready }), { action: 'ignore', reason: 'snapshot is ready' }],
    [
      'another driver: not ours',
      content({ driver: 'other.csi' }),
      { action: 'ignore', reason: 'content is for driver other.csi' },
    ],
    [
      'pre-provisioned, not yet reported: verify it',
      content({ snapshotHandle: 's1#x' }),
      { action: 'verify', snapshotHandle: 's1#x' },
    ],
    [
      'deleted but not yet released by the snapshot-controller: wait',
      content({ deleting: true, status: ready }),
      { action: 'ignore', reason: 'waiting for the snapshot-controller to release it' },
    ],
    [
      'released with deletionPolicy Delete: delete the snapshot, clear the status, drop the finalizer',
      content({ deleting: true, annotations: released, status: ready }),
      { action: 'release', deleteSnapshot: 's1#h', clearStatus: true, removeFinalizer: true },
    ],
    [
      'released with deletionPolicy Retain: keep the snapshot, drop the finalizer',
      content({ deleting: true, annotations: released, policy: 'Retain', status: ready }),
      { action: 'release', clearStatus: false, removeFinalizer: true },
    ],
    [
      'released while its snapshot is being taken: finish taking it first',
      content({ deleting: true, annotations: { ...released, ...being } }),
      { action: 'take', name: 'snapshot-u-1', source: { volumeId, location }, markCreating: false },
    ],
    [
      'released after a delete that cleared the status: only the finalizer',
      content({ deleting: true, annotations: released }),
      { action: 'release', clearStatus: false, removeFinalizer: true },
    ],
    [
      'released, nothing left: nothing',
      content({ deleting: true, annotations: released, finalizers: [] }),
      { action: 'ignore', reason: 'nothing left to release' },
    ],
    [
      'a pre-provisioned content bound to no VolumeSnapshot, deleted: released at once',
      content({ snapshotHandle: 's1#x', uid: '', deleting: true, status: { snapshotHandle: 's1#x' } }),
      { action: 'release', deleteSnapshot: 's1#x', clearStatus: true, removeFinalizer: true },
    ],
  ])('%s', (_name, c, expected) => {
    expect(plan(c)).toStrictEqual(expected);
  });

  it.each<[string, ContentPlan, string]>([
    [
      'no class',
      plan(content({ className: null })),
      'InvalidArgument: content snapcontent-1 names no VolumeSnapshotClass; a dynamic snapshot needs one (set spec.volumeSnapshotClassName of the VolumeSnapshot)',
    ],
    [
      'a class not in the cache',
      plan(content({}), { cls: undefined }),
      'FailedPrecondition: VolumeSnapshotClass warren not found; create it or name another',
    ],
    [
      'a class with parameters Warren does not know',
      plan(content({}), {
        cls: {
          ...snapshotClass,
          parameters: { compress: 'yes', 'csi.storage.k8s.io/snapshotter-secret-name': 's' },
        },
      }),
      'InvalidArgument: VolumeSnapshotClass warren has parameters "compress" that Warren does not know; Warren snapshots take no parameters (only the csi.storage.k8s.io/snapshotter-* secret names, which it does not need); remove them',
    ],
    [
      'the source PV gone',
      plan(content({}), { volume: undefined }),
      `NotFound: no PersistentVolume of ${provisioner} has volume handle "${volumeId}"; the snapshot's source volume is gone`,
    ],
    [
      'no VolumeSnapshot uid',
      plan(content({ uid: '' })),
      'InvalidArgument: content snapcontent-1 has no spec.volumeSnapshotRef.uid; it names no VolumeSnapshot',
    ],
  ])('refuses %s', (_name, p, expected) => {
    expect(failure(p)).toBe(expected);
  });

  it('ignores a content whose class is for another driver', () => {
    expect(plan(content({}), { cls: { ...snapshotClass, driver: 'other.csi' } })).toStrictEqual({
      action: 'ignore',
      reason: 'its class is for driver other.csi',
    });
  });
});

describe('readyStatus', () => {
  it('reports the handle, whole-second creationTime in nanoseconds, the size, and ready', () => {
    const status = readyStatus({
      snapshotId: 's1#h',
      createdAt: new Date('2025-06-01T12:00:00.987Z'),
      sizeBytes: 4096,
    });
    expect(status).toStrictEqual({
      snapshotHandle: 's1#h',
      creationTime: 1748779200 * 1e9,
      restoreSize: 4096,
      readyToUse: true,
      error: null,
    });
    expect(Number.isInteger(status.creationTime / 1e9)).toBe(true);
    expect(JSON.stringify(status.creationTime)).toBe('1748779200000000000');
  });

  it('leaves restoreSize out for an empty snapshot (as csi-snapshotter does for size 0)', () => {
    expect(readyStatus({ snapshotId: 'h', createdAt: new Date(0), sizeBytes: 0 })).not.toHaveProperty(
      'restoreSize',
    );
  });
});
