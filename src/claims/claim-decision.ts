// Pure: what should the controller do about this claim right now?
import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import {
  betaStorageProvisionerAnnotation,
  directoryFinalizer,
  selectedNodeAnnotation,
  storageProvisionerAnnotation,
} from '../provisioning/names.ts';

export type ClaimDecision =
  /** Not ours, or nothing to do. */
  | { action: 'ignore'; reason: string }
  /** Ours, but not yet (WaitForFirstConsumer without a node, class not in the cache yet). */
  | { action: 'wait'; reason: string }
  /** Ours, asking for something Warren does not do: tell the user, do not retry hot. */
  | { action: 'reject'; reason: string }
  | { action: 'provision' }
  /** Our finalizer is on the claim and its PV exists: the hand-over is complete, drop the finalizer. */
  | { action: 'finish' }
  /** The claim is being deleted before its PV was made: release the directory, then drop the finalizer. */
  | { action: 'abandon' };

export function pvNameFor(claim: V1PersistentVolumeClaim): string {
  return `pvc-${claim.metadata?.uid}`;
}

export function decideClaim(input: {
  claim: V1PersistentVolumeClaim;
  storageClass: V1StorageClass | undefined;
  provisioner: string;
  pvExists: boolean;
}): ClaimDecision {
  const { claim, storageClass, provisioner, pvExists } = input;
  const meta = claim.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const holdsFinalizer = (meta.finalizers ?? []).includes(directoryFinalizer);

  if (holdsFinalizer) {
    if (pvExists) return { action: 'finish' };
    if (meta.deletionTimestamp) return { action: 'abandon' };
  }
  if (meta.deletionTimestamp) return { action: 'ignore', reason: 'claim is being deleted' };
  if (claim.spec?.volumeName)
    return { action: 'ignore', reason: `claim is bound to ${claim.spec.volumeName}` };
  if (pvExists) return { action: 'ignore', reason: 'volume already exists; waiting for the binder' };

  const named = annotations[storageProvisionerAnnotation] ?? annotations[betaStorageProvisionerAnnotation];
  if (named !== provisioner && !holdsFinalizer) {
    return {
      action: 'ignore',
      reason: named ? `claim is for provisioner ${named}` : 'claim names no provisioner yet',
    };
  }
  if (!storageClass)
    return { action: 'wait', reason: `StorageClass "${claim.spec?.storageClassName ?? ''}" not found` };
  if (storageClass.provisioner !== provisioner) {
    return {
      action: 'ignore',
      reason: `StorageClass ${storageClass.metadata?.name} is for ${storageClass.provisioner}`,
    };
  }
  if (claim.spec?.volumeMode === 'Block') {
    return {
      action: 'reject',
      reason: 'volumeMode Block is not supported by an NFS volume; use volumeMode Filesystem',
    };
  }
  const source = claim.spec?.dataSourceRef ?? claim.spec?.dataSource;
  if (source) {
    return {
      action: 'reject',
      reason: `cloning or restoring from a data source (${source.kind} ${source.name}) is not supported; remove spec.dataSource`,
    };
  }
  if (storageClass.volumeBindingMode === 'WaitForFirstConsumer' && !annotations[selectedNodeAnnotation]) {
    return { action: 'wait', reason: 'WaitForFirstConsumer: no node selected yet' };
  }
  return { action: 'provision' };
}
