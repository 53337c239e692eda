// Everything a reconcile needs, as one plain record (fakes replace any part in tests).
import type {
  ObjectCache,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { SnapshotInfo } from '../provisioning/snapshots.ts';
import type { TreeCopier } from '../provisioning/tree-copy.ts';
import type { VolumeStore } from '../provisioning/volume-directory.ts';
import type { ClusterWrites } from './cluster-writes.ts';
import type { CopyLane } from './copy-lane.ts';
import type { EventRecorder } from './event-recorder.ts';
import type { Metrics } from './metrics.ts';
import type { VolumeSnapshot, VolumeSnapshotClass, VolumeSnapshotContent } from './snapshot-objects.ts';
import type { SnapshotWrites } from './snapshot-writes.ts';
import type { VolumeLookup } from './volume-index.ts';

/** The VolumeSnapshot API's side: present only where its CRDs are installed. */
export interface SnapshotApi {
  contents: ObjectCache<VolumeSnapshotContent>;
  classes: ObjectCache<VolumeSnapshotClass>;
  snapshots: ObjectCache<VolumeSnapshot>;
  writes: SnapshotWrites;
  /** Snapshots are taken here, as clones are copied in `copies`: never in a worker. */
  lane: CopyLane<SnapshotInfo>;
}

export interface ReconcileDeps {
  provisioner: string;
  claims: ObjectCache<V1PersistentVolumeClaim>;
  classes: ObjectCache<V1StorageClass>;
  volumes: ObjectCache<V1PersistentVolume>;
  /** The same PVs, indexed for the plans (volume-index.ts). */
  volumeIndex: VolumeLookup;
  writes: ClusterWrites;
  events: EventRecorder;
  store: VolumeStore;
  /** Clones: the copy engine and the lane its copies run in. */
  copier: TreeCopier;
  copies: CopyLane;
  /** Undefined when the cluster has no VolumeSnapshot CRDs. */
  snapshotApi?: SnapshotApi;
  metrics: Metrics;
  log: Logger;
  now: () => Date;
  /** Test hook: named points where a crash is injected (see crash-points.ts), and the object there (namespace/name, or a cluster-scoped name). */
  crashPoint: (name: CrashPoint, object: string) => void;
}

export type CrashPoint =
  | 'after-intent'
  | 'after-directory'
  | 'after-volume'
  | 'after-finish'
  | 'after-release'
  | 'after-resize-started'
  | 'after-volume-capacity'
  | 'after-copy'
  | 'after-snapshot-status';
