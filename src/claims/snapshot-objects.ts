// The snapshot.storage.k8s.io/v1 objects as Warren reads them (only the fields it uses), and the
// names the snapshot-controller's protocol gives its annotations, finalizers and parameters.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export const snapshotGroup = 'snapshot.storage.k8s.io';
export const snapshotVersion = 'v1';

export interface VolumeSnapshotContent {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
  spec?: {
    driver?: string;
    deletionPolicy?: 'Delete' | 'Retain' | string;
    source?: { volumeHandle?: string; snapshotHandle?: string };
    volumeSnapshotClassName?: string;
    volumeSnapshotRef?: { namespace?: string; name?: string; uid?: string };
    sourceVolumeMode?: string;
  };
  status?: {
    snapshotHandle?: string;
    /** Nanoseconds since the epoch. */
    creationTime?: number;
    /** Bytes. */
    restoreSize?: number;
    readyToUse?: boolean;
    error?: { time?: string; message?: string };
  };
}

export interface VolumeSnapshotClass {
  metadata?: V1ObjectMeta;
  driver?: string;
  deletionPolicy?: string;
  parameters?: Record<string, string>;
}

export interface VolumeSnapshot {
  metadata?: V1ObjectMeta;
  spec?: {
    source?: { persistentVolumeClaimName?: string; volumeSnapshotContentName?: string };
    volumeSnapshotClassName?: string;
  };
  status?: {
    boundVolumeSnapshotContentName?: string;
    readyToUse?: boolean;
    restoreSize?: string;
    error?: { message?: string };
  };
}

/** The snapshot-controller puts it on every content it binds; the driver's side removes it once the content may go. */
export const contentFinalizer = 'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection';
/** Set by the snapshot-controller once the content's VolumeSnapshot is being deleted. */
export const beingDeletedAnnotation = 'snapshot.storage.kubernetes.io/volumesnapshot-being-deleted';
/** Set by the driver's side while it takes the snapshot: the content is not deleted meanwhile. */
export const beingCreatedAnnotation = 'snapshot.storage.kubernetes.io/volumesnapshot-being-created';
/** VolumeSnapshotClass parameters naming the driver's secrets (csi-snapshotter reads them; Warren needs none). */
export const secretParameters = [
  'csi.storage.k8s.io/snapshotter-secret-name',
  'csi.storage.k8s.io/snapshotter-secret-namespace',
  'csi.storage.k8s.io/snapshotter-list-secret-name',
  'csi.storage.k8s.io/snapshotter-list-secret-namespace',
] as const;

export const contentsPath = `/apis/${snapshotGroup}/${snapshotVersion}/volumesnapshotcontents`;
export const classesPath = `/apis/${snapshotGroup}/${snapshotVersion}/volumesnapshotclasses`;
export const snapshotsPath = `/apis/${snapshotGroup}/${snapshotVersion}/volumesnapshots`;
