// Pure: whether a claim's dataSource names a claim Warren can clone or a VolumeSnapshot it can
// restore, and where that data is. Every rule about copy sources is here; a refused source is an
// error saying what to change. A restore is a clone whose source is a snapshot: the same copy.
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { failedPrecondition, invalidArgument, unavailable, type WarrenError } from '../errors.ts';
import type { VolumeLocation } from '../provisioning/types.ts';
import { quantityBytes } from './quantity.ts';
import { snapshotGroup, type VolumeSnapshot, type VolumeSnapshotContent } from './snapshot-objects.ts';
import { isOurVolume, recordedLocation, recordedOnDelete } from './volume-plan.ts';

/** What a clone copies: a claim and the directory holding its data, or a snapshot by its handle. */
export type CloneSource =
  | { kind: 'PersistentVolumeClaim'; namespace: string; name: string; location: VolumeLocation }
  | { kind: 'VolumeSnapshot'; namespace: string; name: string; snapshotHandle: string };

/** How Events and logs name a copy's source. */
export const describeSource = (s: { kind: string; namespace: string; name: string }) =>
  `${s.kind === 'VolumeSnapshot' ? 'VolumeSnapshot' : 'claim'} ${s.namespace}/${s.name}`;

/** The clonedFromAnnotation value for a source (a claim's stays namespace/name, as before snapshots). */
export const copiedFromValue = (s: { kind: string; namespace: string; name: string }) =>
  s.kind === 'VolumeSnapshot' ? `VolumeSnapshot/${s.namespace}/${s.name}` : `${s.namespace}/${s.name}`;

/** On a source claim while a clone of it is being copied (external-provisioner's cloning protection). */
export const cloneSourceFinalizer = 'warren.dev/clone-source';
/** On a clone once its copy is complete (before its PV exists): the copy is not made again. */
export const clonedFromAnnotation = 'warren.dev/cloned-from';

/** The data source a claim names, if any: kind, name and (for dataSourceRef) namespace. */
export function dataSourceOf(
  claim: V1PersistentVolumeClaim,
): { kind: string; apiGroup: string; name: string; namespace: string } | undefined {
  const ref = claim.spec?.dataSourceRef;
  const source = ref ?? claim.spec?.dataSource;
  if (!source) return undefined;
  return {
    kind: source.kind,
    apiGroup: source.apiGroup ?? '',
    name: source.name,
    namespace: ref?.namespace ?? claim.metadata?.namespace ?? '',
  };
}

/** A data source Warren does not handle at all: the reason, for a ProvisioningFailed Event. */
export function unsupportedDataSource(claim: V1PersistentVolumeClaim): string | undefined {
  const source = dataSourceOf(claim);
  if (!source) return undefined;
  const ns = claim.metadata?.namespace ?? '';
  const claimSource = source.kind === 'PersistentVolumeClaim' && source.apiGroup === '';
  const snapshotSource = source.kind === 'VolumeSnapshot' && source.apiGroup === snapshotGroup;
  if (!claimSource && !snapshotSource) {
    return `data source ${source.kind} ${source.name}${source.apiGroup ? ` (apiGroup ${source.apiGroup})` : ''} is not supported; Warren clones PersistentVolumeClaims (dataSource kind PersistentVolumeClaim) and restores VolumeSnapshots (kind VolumeSnapshot, apiGroup ${snapshotGroup})`;
  }
  if (source.namespace !== ns) {
    return `data source ${describeSource(source)} is in another namespace; a clone's or restore's source must be in the claim's own namespace (${ns})`;
  }
  return undefined;
}

/** The source of a clone or restore, checked; an error names what is wrong with it. */
export function cloneSource(input: {
  claim: V1PersistentVolumeClaim;
  provisioner: string;
  source: V1PersistentVolumeClaim | undefined;
  sourceVolume: V1PersistentVolume | undefined;
  /** This clone's intent is recorded: its copy may be running or done (the source then held). */
  underWay: boolean;
  snapshot?: VolumeSnapshot;
  content?: VolumeSnapshotContent;
}): CloneSource | WarrenError {
  const { claim, provisioner, source, sourceVolume } = input;
  const namespace = claim.metadata?.namespace ?? '';
  const name = dataSourceOf(claim)?.name ?? '';
  if (dataSourceOf(claim)?.kind === 'VolumeSnapshot') return restoreSource({ ...input, namespace, name });
  const what = `source claim ${namespace}/${name}`;
  if (!source) return failedPrecondition(`${what} not found; create it or fix spec.dataSource`);
  // A source deleted mid-copy stays (cloneSourceFinalizer) until the clone has its PV: the clone
  // under way goes on. A clone not begun yet is not started from a source on its way out.
  const held = source.metadata?.finalizers?.includes(cloneSourceFinalizer) ?? false;
  if (source.metadata?.deletionTimestamp && !(held && input.underWay)) {
    return failedPrecondition(`${what} is being deleted; a clone is not started from it`);
  }
  if (source.status?.phase !== 'Bound' || !source.spec?.volumeName) {
    return failedPrecondition(
      `${what} is ${source.status?.phase ?? 'Pending'}; a clone waits until its source is Bound`,
    );
  }
  if (!sourceVolume) return unavailable(`PV ${source.spec.volumeName} of ${what} is not in the cache yet`);
  if (!isOurVolume(sourceVolume, provisioner)) {
    return invalidArgument(
      `${what} is not a volume of ${provisioner} (its PV ${source.spec.volumeName} is ${sourceVolume.spec?.csi?.driver ?? 'not a CSI volume'}); Warren clones only its own volumes`,
    );
  }
  const wanted = claim.spec?.resources?.requests?.storage ?? '0';
  const has = source.status?.capacity?.storage ?? sourceVolume.spec?.capacity?.storage ?? '0';
  try {
    if (quantityBytes(wanted) < quantityBytes(has)) {
      return invalidArgument(
        `the clone asks for ${wanted}, less than the ${has} of ${what}; request at least ${has}`,
      );
    }
    return {
      kind: 'PersistentVolumeClaim',
      namespace,
      name,
      location: recordedLocation(sourceVolume, recordedOnDelete(sourceVolume)),
    };
  } catch (err) {
    return err as WarrenError;
  }
}

/**
 * A VolumeSnapshot to restore, checked as external-provisioner checks one: ready, bound to a
 * content of this driver that is bound back to it, and no larger than the claim asks for. A
 * snapshot not ready yet is waited for (a fast retry; its changes re-queue the claim too).
 */
function restoreSource(input: {
  claim: V1PersistentVolumeClaim;
  provisioner: string;
  snapshot?: VolumeSnapshot;
  content?: VolumeSnapshotContent;
  namespace: string;
  name: string;
}): CloneSource | WarrenError {
  const { claim, provisioner, snapshot, content, namespace, name } = input;
  const what = `VolumeSnapshot ${namespace}/${name}`;
  if (!snapshot) return failedPrecondition(`${what} not found; create it or fix spec.dataSource`);
  if (snapshot.metadata?.deletionTimestamp) return failedPrecondition(`${what} is being deleted`);
  // A content of another driver is refused at once: it will never be ours, ready or not.
  const contentName = snapshot.status?.boundVolumeSnapshotContentName;
  const bound = content && contentName && content.metadata?.name === contentName ? content : undefined;
  const driver = bound?.spec?.driver;
  if (bound && driver !== provisioner) {
    return invalidArgument(
      `${what} is a snapshot of driver ${driver ?? '(none)'}; Warren restores only its own snapshots (driver ${provisioner})`,
    );
  }
  if (snapshot.status?.readyToUse !== true) {
    const error = snapshot.status?.error?.message;
    return unavailable(
      `${what} is not ready to use yet${error ? ` (${error})` : ''}; the restore waits for it and starts once it is`,
    );
  }
  if (!bound) {
    return unavailable(
      `the VolumeSnapshotContent ${contentName ?? '(none)'} of ${what} is not in the cache yet`,
    );
  }
  if (bound.spec?.volumeSnapshotRef?.uid !== snapshot.metadata?.uid) {
    return invalidArgument(
      `VolumeSnapshotContent ${contentName} is bound to another VolumeSnapshot than ${what}`,
    );
  }
  const snapshotHandle = bound.status?.snapshotHandle ?? bound.spec?.source?.snapshotHandle;
  if (!snapshotHandle)
    return unavailable(`VolumeSnapshotContent ${contentName} of ${what} has no snapshot handle yet`);
  const wanted = claim.spec?.resources?.requests?.storage ?? '0';
  try {
    const size =
      bound.status?.restoreSize ??
      (snapshot.status.restoreSize ? quantityBytes(snapshot.status.restoreSize) : 0);
    if (quantityBytes(wanted) < size) {
      return invalidArgument(
        `the restore asks for ${wanted}, less than the restoreSize ${snapshot.status.restoreSize ?? `${size} bytes`} of ${what}; request at least that`,
      );
    }
  } catch (err) {
    return err as WarrenError;
  }
  return { kind: 'VolumeSnapshot', namespace, name, snapshotHandle };
}

/**
 * Whether a source claim's finalizer can go: no claim of the namespace still waits for a copy of
 * it (a clone without a PV yet, not being deleted with nothing left to copy).
 */
export function sourceStillCopied(
  source: { namespace: string; name: string },
  claims: readonly V1PersistentVolumeClaim[],
  pvExists: (claim: V1PersistentVolumeClaim) => boolean,
): boolean {
  return claims.some((c) => {
    const s = dataSourceOf(c);
    return (
      c.metadata?.namespace === source.namespace &&
      s?.kind === 'PersistentVolumeClaim' &&
      s.name === source.name &&
      !c.metadata?.deletionTimestamp &&
      !pvExists(c)
    );
  });
}
