// Pure: what the claim watcher does about one of Warren's PVs right now, as a complete plan. The
// volume reconciler only carries a plan out.
import type { V1ObjectReference, V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { failedPrecondition, type WarrenError } from '../errors.ts';
import type { ReleaseRequest } from '../provisioning/release.ts';
import type { OnDelete, VolumeLocation } from '../provisioning/types.ts';
import { attributeLocation } from '../provisioning/volume-attributes.ts';
import { encodeVolumeId, parseVolumeId } from '../provisioning/volume-id.ts';
import { directoryFinalizer, onDeleteAnnotation, provisionedByAnnotation } from './object-names.ts';
import type { VolumeLookup } from './volume-index.ts';

export type VolumeDecision =
  | { action: 'ignore'; reason: string }
  /**
   * Still Bound, but the claim it was bound to is gone: set its phase to Released, as the binder
   * would, then release it. Planned only on a live read of the PV and of the claim.
   */
  | { action: 'mark-released' }
  /** Apply onDelete to the directory, then drop the finalizer and delete the PV (only while it holds the finalizer). */
  | { action: 'release'; onDelete: OnDelete }
  /** The PV is being deleted but its data must stay (reclaim policy Retain): only drop our finalizer. */
  | { action: 'drop-finalizer' }
  /** Released, its directory already handled (no finalizer left): only the PV object goes. */
  | { action: 'delete-pv' };

export type VolumePlan =
  | Exclude<VolumeDecision, { action: 'release' }>
  /** Cannot release: reported as VolumeFailedDelete, retried as its kind says. */
  | { action: 'fail'; onDelete: OnDelete; error: WarrenError }
  | {
      action: 'release';
      onDelete: OnDelete;
      /** What to do with the directory; absent when another volume uses it (nothing is touched). */
      release?: ReleaseRequest;
      /** Why the directory is kept against onDelete (a DirectoryKept Warning), if it is. */
      kept?: string;
      location: VolumeLocation;
    };

export function isOurVolume(pv: V1PersistentVolume, provisioner: string): boolean {
  return (
    pv.spec?.csi?.driver === provisioner &&
    pv.metadata?.annotations?.[provisionedByAnnotation] === provisioner
  );
}

/**
 * Whether the claim named by the PV's claimRef still exists: 'gone' when no claim has that name,
 * or the one that has it now has another uid (the claim was deleted and made again).
 */
export type BoundClaim = 'exists' | 'gone';

export function boundClaimOf(pv: V1PersistentVolume, found: V1PersistentVolumeClaim | undefined): BoundClaim {
  return found !== undefined && found.metadata?.uid === pv.spec?.claimRef?.uid ? 'exists' : 'gone';
}

/**
 * Whether the plan for this PV changes it or its directory: then it is planned again on a live
 * read (of the PV; for mark-released, of its claim too).
 */
export const needsLiveRead = (d: VolumeDecision): boolean =>
  d.action === 'release' || d.action === 'delete-pv' || d.action === 'mark-released';

export function volumeRef(pv: V1PersistentVolume): V1ObjectReference {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    name: pv.metadata?.name,
    uid: pv.metadata?.uid,
    resourceVersion: pv.metadata?.resourceVersion,
  };
}

export function planVolume(
  pv: V1PersistentVolume,
  provisioner: string,
  volumes: VolumeLookup,
  claim: BoundClaim,
): VolumePlan {
  const decision = decideVolume(pv, provisioner, claim);
  if (decision.action !== 'release') return decision;
  const { onDelete } = decision;
  let location: VolumeLocation;
  try {
    location = recordedLocation(pv, onDelete);
  } catch (err) {
    return { action: 'fail', onDelete, error: err as WarrenError };
  }
  const sharer = volumes.overlapping(location, provisioner, pv.metadata?.name ?? '');
  // recordedLocation checked the handle against the attributes, and decideVolume found Warren's
  // finalizer and onDelete record: what Warren recorded before ownership records existed.
  const release = {
    location,
    onDelete,
    onlyIfEmpty: false,
    volumeId: pv.spec?.csi?.volumeHandle ?? '',
    name: pv.metadata?.name ?? '',
    legacy: { createdAt: createdAt(pv) },
  };
  if (!sharer) return { action: 'release', onDelete, location, release };
  return {
    action: 'release',
    onDelete,
    location,
    ...(onDelete === 'retain'
      ? {}
      : {
          kept: `directory ${location.subDir} is also used by PV ${sharer}; kept it instead of applying onDelete ${onDelete}`,
        }),
  };
}

/** The PV's creationTimestamp; a PV without one is taken as made now (it cannot predate anything). */
function createdAt(pv: V1PersistentVolume): Date {
  const at = pv.metadata?.creationTimestamp;
  const date = at ? new Date(at) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : new Date(8.64e15);
}

export function decideVolume(pv: V1PersistentVolume, provisioner: string, claim: BoundClaim): VolumeDecision {
  if (!isOurVolume(pv, provisioner)) return { action: 'ignore', reason: 'not provisioned by us' };
  const meta = pv.metadata ?? {};
  const holdsFinalizer = (meta.finalizers ?? []).includes(directoryFinalizer);
  const phase = pv.status?.phase;
  const deleting = Boolean(meta.deletionTimestamp);
  if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') {
    return deleting && holdsFinalizer
      ? { action: 'drop-finalizer' }
      : { action: 'ignore', reason: `reclaim policy ${pv.spec?.persistentVolumeReclaimPolicy}` };
  }
  // Deleting the PV object alone never releases a Bound volume (pv-protection holds it); its
  // claim going does.
  const released = phase === 'Released' || phase === 'Failed' || (deleting && phase !== 'Bound');
  if (!released) {
    // Its claim is gone, so it is released in all but its phase. The binder writes that phase
    // at its own pace (three requests per PV, within kube-controller-manager's 20 a second);
    // Warren writes it as soon as it has read that the claim is gone.
    const ref = pv.spec?.claimRef;
    const boundToClaim = Boolean(ref?.uid && ref.name && ref.namespace);
    if (phase === 'Bound' && boundToClaim && claim === 'gone' && holdsFinalizer)
      return { action: 'mark-released' };
    return { action: 'ignore', reason: `phase ${phase ?? 'unknown'}` };
  }
  // The finalizer goes only once the directory has been handled: without it, only the PV is left
  // (the controller stopped between the two steps, or someone removed the finalizer by hand).
  if (!holdsFinalizer) {
    // A PV that `warren controller` built (it records onDelete on every one) carries the
    // finalizer from birth; one without that record came another way (the CSI Controller
    // service behind external-provisioner, or by hand): whoever made it deletes it.
    if (!meta.annotations?.[onDeleteAnnotation]) {
      return { action: 'ignore', reason: 'not made by warren controller (no finalizer, no onDelete record)' };
    }
    return deleting
      ? { action: 'ignore', reason: 'being deleted, directory already handled' }
      : { action: 'delete-pv' };
  }
  return { action: 'release', onDelete: recordedOnDelete(pv) };
}

/**
 * The volume handle (immutable once the PV exists) is the record of onDelete; the annotation
 * is its readable copy. When neither can be read, keep the data.
 */
export function recordedOnDelete(pv: V1PersistentVolume): OnDelete {
  try {
    return parseVolumeId(pv.spec?.csi?.volumeHandle ?? '').onDelete;
  } catch {
    const annotated = pv.metadata?.annotations?.[onDeleteAnnotation];
    return annotated === 'delete' || annotated === 'archive' ? annotated : 'retain';
  }
}

/**
 * The location comes from the PV's attributes, and is trusted only if it encodes to the PV's
 * own volume handle: a hand-edited or hand-made PV cannot point Warren at another directory.
 */
export function recordedLocation(pv: V1PersistentVolume, onDelete: OnDelete): VolumeLocation {
  const location = attributeLocation(pv.spec?.csi?.volumeAttributes);
  const handle = pv.spec?.csi?.volumeHandle;
  let expected: string | undefined;
  try {
    expected = encodeVolumeId(location, onDelete);
  } catch {
    expected = undefined;
  }
  if (!handle || expected !== handle) {
    throw failedPrecondition(
      `PV ${pv.metadata?.name}: volumeAttributes (server/share/subDir/onDelete) do not match volumeHandle ${handle}; refusing to touch any directory`,
    );
  }
  return location;
}
