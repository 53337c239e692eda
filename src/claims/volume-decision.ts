// Pure: what should the controller do about one of Warren's PVs right now?
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { directoryFinalizer, onDeleteAnnotation, provisionedByAnnotation } from '../provisioning/names.ts';
import type { OnDelete } from '../provisioning/types.ts';
import { parseVolumeId } from '../provisioning/volume-id.ts';

export type VolumeDecision =
  | { action: 'ignore'; reason: string }
  /** Apply onDelete to the directory, then drop the finalizer and delete the PV (only while it holds the finalizer). */
  | { action: 'release'; onDelete: OnDelete }
  /** The PV is being deleted but its data must stay (reclaim policy Retain): only drop our finalizer. */
  | { action: 'drop-finalizer' }
  /** Released, its directory already handled (no finalizer left): only the PV object goes. */
  | { action: 'delete-pv' };

export function isOurVolume(pv: V1PersistentVolume, provisioner: string): boolean {
  return (
    pv.spec?.csi?.driver === provisioner &&
    pv.metadata?.annotations?.[provisionedByAnnotation] === provisioner
  );
}

export function decideVolume(pv: V1PersistentVolume, provisioner: string): VolumeDecision {
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
  // A Bound volume is never released, even if someone deletes the PV object: pv-protection holds it.
  const released = phase === 'Released' || phase === 'Failed' || (deleting && phase !== 'Bound');
  if (!released) return { action: 'ignore', reason: `phase ${phase ?? 'unknown'}` };
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
