// Pure: whether a claim's dataSource names a claim Warren can clone, and where its data is.
// Every rule about clone sources is here; a refused source is an error saying what to change.
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { failedPrecondition, invalidArgument, unavailable, type WarrenError } from '../errors.ts';
import type { VolumeLocation } from '../provisioning/types.ts';
import { quantityBytes } from './quantity.ts';
import { isOurVolume, recordedLocation, recordedOnDelete } from './volume-plan.ts';

/** The claim a clone copies, and the directory holding its data. */
export interface CloneSource {
  namespace: string;
  name: string;
  location: VolumeLocation;
}

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
  if (source.kind !== 'PersistentVolumeClaim' || source.apiGroup !== '') {
    return `data source ${source.kind} ${source.name} is not supported; Warren clones PersistentVolumeClaims (dataSource kind PersistentVolumeClaim)`;
  }
  if (source.namespace !== ns) {
    return `data source claim ${source.namespace}/${source.name} is in another namespace; a clone's source must be in the claim's own namespace (${ns})`;
  }
  return undefined;
}

/** The source of a clone, checked; an error names what is wrong with it. */
export function cloneSource(input: {
  claim: V1PersistentVolumeClaim;
  provisioner: string;
  source: V1PersistentVolumeClaim | undefined;
  sourceVolume: V1PersistentVolume | undefined;
  /** This clone's intent is recorded: its copy may be running or done (the source then held). */
  underWay: boolean;
}): CloneSource | WarrenError {
  const { claim, provisioner, source, sourceVolume } = input;
  const namespace = claim.metadata?.namespace ?? '';
  const name = dataSourceOf(claim)?.name ?? '';
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
    return { namespace, name, location: recordedLocation(sourceVolume, recordedOnDelete(sourceVolume)) };
  } catch (err) {
    return err as WarrenError;
  }
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
