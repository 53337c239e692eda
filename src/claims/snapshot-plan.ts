// Pure: what the claim watcher does about one VolumeSnapshotContent right now, as csi-snapshotter
// does for a CSI driver: take a dynamic content's snapshot, verify a pre-provisioned one, and once
// the snapshot-controller lets a content go, delete its snapshot (deletionPolicy Delete) and drop
// the finalizer. Every rule about contents is here; the snapshot reconciler only carries it out.
import type { V1ObjectReference, V1PersistentVolume } from '@kubernetes/client-node';
import { failedPrecondition, invalidArgument, notFound, WarrenError } from '../errors.ts';
import type { VolumeLocation } from '../provisioning/types.ts';
import { quote } from '../text.ts';
import {
  beingCreatedAnnotation,
  beingDeletedAnnotation,
  contentFinalizer,
  secretParameters,
  snapshotGroup,
  snapshotVersion,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
} from './snapshot-objects.ts';
import { isOurVolume, recordedLocation, recordedOnDelete } from './volume-plan.ts';

export type ContentPlan =
  | { action: 'ignore'; reason: string }
  /** Take (or finish taking) the snapshot of a volume; `markCreating` first sets being-created. */
  | {
      action: 'take';
      name: string;
      source: { volumeId: string; location: VolumeLocation };
      markCreating: boolean;
    }
  /** A pre-provisioned content: check its snapshot exists and report it. */
  | { action: 'verify'; snapshotHandle: string }
  /** The status is written; only the being-created annotation is left to remove. */
  | { action: 'finish-create' }
  /** The content may go: delete its snapshot (when given), clear the status, drop the finalizer. */
  | { action: 'release'; deleteSnapshot?: string; clearStatus: boolean; removeFinalizer: boolean }
  /** Cannot go on: written to the content's status.error and a Warning Event, retried as the kind says. */
  | { action: 'fail'; error: WarrenError };

export interface ContentInput {
  content: VolumeSnapshotContent;
  /** The content's VolumeSnapshotClass from the cache (undefined: none named, or not there). */
  snapshotClass: VolumeSnapshotClass | undefined;
  provisioner: string;
  /** The PV whose volume handle a dynamic content names, from the cache. */
  sourceVolume: V1PersistentVolume | undefined;
}

/** The snapshot's name on the share for a content: as csi-snapshotter names it (prefix + VolumeSnapshot UID). */
export const snapshotNameFor = (snapshotUid: string) => `snapshot-${snapshotUid}`;

export function planContent(input: ContentInput): ContentPlan {
  const { content, snapshotClass, provisioner } = input;
  const spec = content.spec ?? {};
  const meta = content.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const source = spec.source ?? {};
  if (spec.driver !== provisioner)
    return { action: 'ignore', reason: `content is for driver ${spec.driver}` };
  if (!source.volumeHandle && !source.snapshotHandle) {
    return { action: 'ignore', reason: 'content names neither a volume nor a snapshot' };
  }
  if (snapshotClass && snapshotClass.driver !== provisioner) {
    return { action: 'ignore', reason: `its class is for driver ${snapshotClass.driver}` };
  }
  const preProvisioned = Boolean(source.snapshotHandle);

  // Being deleted: released once the snapshot-controller says so, but a snapshot being taken is
  // finished first (its copy may be running), as csi-snapshotter does; the release follows.
  const unbound = preProvisioned && !spec.volumeSnapshotRef?.uid;
  const creating = !unbound && annotations[beingCreatedAnnotation] !== undefined;
  if (meta.deletionTimestamp && !creating) {
    if (!unbound && annotations[beingDeletedAnnotation] === undefined) {
      return { action: 'ignore', reason: 'waiting for the snapshot-controller to release it' };
    }
    const handle = content.status?.snapshotHandle;
    const deleteSnapshot = spec.deletionPolicy === 'Delete' && handle ? handle : undefined;
    const removeFinalizer = meta.finalizers?.includes(contentFinalizer) ?? false;
    if (!deleteSnapshot && !removeFinalizer) return { action: 'ignore', reason: 'nothing left to release' };
    return {
      action: 'release',
      ...(deleteSnapshot ? { deleteSnapshot } : {}),
      clearStatus: Boolean(deleteSnapshot),
      removeFinalizer,
    };
  }

  if (content.status?.readyToUse === true) {
    if (annotations[beingCreatedAnnotation] !== undefined) return { action: 'finish-create' };
    return { action: 'ignore', reason: 'snapshot is ready' };
  }
  if (source.snapshotHandle) return { action: 'verify', snapshotHandle: source.snapshotHandle };

  const name = meta.name ?? '';
  const className = spec.volumeSnapshotClassName;
  if (!className) {
    return {
      action: 'fail',
      error: invalidArgument(
        `content ${name} names no VolumeSnapshotClass; a dynamic snapshot needs one (set spec.volumeSnapshotClassName of the VolumeSnapshot)`,
      ),
    };
  }
  if (!snapshotClass) {
    return {
      action: 'fail',
      error: failedPrecondition(`VolumeSnapshotClass ${className} not found; create it or name another`),
    };
  }
  const unknown = unknownParameters(snapshotClass.parameters);
  if (unknown.length > 0) {
    return {
      action: 'fail',
      error: invalidArgument(
        `VolumeSnapshotClass ${className} has parameters ${unknown.map((k) => quote(k)).join(', ')} that Warren does not know; ` +
          'Warren snapshots take no parameters (only the csi.storage.k8s.io/snapshotter-* secret names, which it does not need); remove them',
      ),
    };
  }
  const uid = spec.volumeSnapshotRef?.uid;
  if (!uid) {
    return {
      action: 'fail',
      error: invalidArgument(`content ${name} has no spec.volumeSnapshotRef.uid; it names no VolumeSnapshot`),
    };
  }
  const volumeId = source.volumeHandle ?? '';
  const pv = input.sourceVolume;
  if (!pv || !isOurVolume(pv, provisioner)) {
    return {
      action: 'fail',
      error: notFound(
        `no PersistentVolume of ${provisioner} has volume handle ${quote(volumeId)}; the snapshot's source volume is gone`,
      ),
    };
  }
  let location: VolumeLocation;
  try {
    location = recordedLocation(pv, recordedOnDelete(pv));
  } catch (err) {
    if (err instanceof WarrenError) return { action: 'fail', error: err };
    throw err;
  }
  return {
    action: 'take',
    name: snapshotNameFor(uid),
    source: { volumeId, location },
    markCreating: annotations[beingCreatedAnnotation] === undefined,
  };
}

/** Parameters Warren does not accept: anything but the secret names csi-snapshotter reads. */
export function unknownParameters(parameters: Record<string, string> | undefined): string[] {
  const known = new Set<string>(secretParameters);
  return Object.keys(parameters ?? {})
    .filter((k) => !known.has(k))
    .sort();
}

/** What a taken snapshot writes to the content's status (creationTime in nanoseconds, whole seconds). */
export function readyStatus(snapshot: { snapshotId: string; createdAt: Date; sizeBytes: number }) {
  const seconds = Math.floor(snapshot.createdAt.getTime() / 1000);
  return {
    snapshotHandle: snapshot.snapshotId,
    // Whole seconds times 1e9 is exact in a double (a multiple of 512); VolumeSnapshot shows seconds anyway.
    creationTime: seconds * 1e9,
    ...(snapshot.sizeBytes > 0 ? { restoreSize: snapshot.sizeBytes } : {}),
    readyToUse: true,
    error: null,
  };
}

export function contentRef(content: VolumeSnapshotContent): V1ObjectReference {
  const m = content.metadata ?? {};
  return {
    apiVersion: `${snapshotGroup}/${snapshotVersion}`,
    kind: 'VolumeSnapshotContent',
    name: m.name,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
  };
}
