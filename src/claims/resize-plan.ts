// Pure: what the claim watcher does about a resize of a bound claim, as external-resizer does it
// for a CSI driver: mark the claim in progress, set the PV's capacity, mark it finished (NFS needs
// no node step). A request below the volume's size is refused (Warren never shrinks a volume).
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimCondition,
  V1StorageClass,
} from '@kubernetes/client-node';
import { quantityBytes } from './quantity.ts';
import { isOurVolume } from './volume-plan.ts';

/** The claim status fields a resize writes, as a merge patch (null removes a map entry). */
export interface ResizeStatusPatch {
  conditions: V1PersistentVolumeClaimCondition[];
  allocatedResources?: Record<string, string>;
  allocatedResourceStatuses: Record<string, string | null>;
  capacity?: Record<string, string>;
}

export interface ExpandPlan {
  volume: string;
  from: string;
  /** The capacity the claim ends with. */
  to: string;
  /** Written first, with a Resizing Event; absent when the claim already says so (a resumed resize). */
  markInProgress?: ResizeStatusPatch;
  /** The PV's new spec.capacity.storage; absent when the PV already has it. */
  volumeCapacity?: string;
  /** Written last, with a VolumeResizeSuccessful Event. */
  finish: ResizeStatusPatch;
  /** A Warning to record as well: the request is below the size the volume already has. */
  shrinkRefused?: string;
}

export type ResizePlan =
  | { action: 'none'; reason: string }
  /** Cannot resize as asked: the claim is marked infeasible and the user told once. */
  | { action: 'refuse'; volume: string; message: string; status: ResizeStatusPatch }
  | { action: 'expand'; plan: ExpandPlan };

export interface ResizeInput {
  claim: V1PersistentVolumeClaim;
  /** The PV the claim is bound to, from the cache. */
  volume: V1PersistentVolume | undefined;
  storageClass: V1StorageClass | undefined;
  provisioner: string;
  now: Date;
}

/** Condition types of a resize (external-resizer's and the kubelet's); a resize replaces all of them. */
export const resizeConditionTypes = [
  'Resizing',
  'FileSystemResizePending',
  'ControllerResizeError',
  'NodeResizeError',
] as const;

const inProgress = 'ControllerResizeInProgress';
const infeasible = 'ControllerResizeInfeasible';

export function planResize(input: ResizeInput): ResizePlan {
  const { claim, volume, storageClass, provisioner, now } = input;
  const meta = claim.metadata ?? {};
  if (meta.deletionTimestamp) return { action: 'none', reason: 'claim is being deleted' };
  const volumeName = claim.spec?.volumeName;
  if (!volumeName || claim.status?.phase !== 'Bound') return { action: 'none', reason: 'claim is not bound' };
  if (!volume) return { action: 'none', reason: `PV ${volumeName} is not in the cache` };
  if (!isOurVolume(volume, provisioner)) return { action: 'none', reason: 'not a volume of ours' };
  if (volume.spec?.claimRef?.uid !== meta.uid)
    return { action: 'none', reason: 'PV is bound to another claim' };

  const requested = claim.spec?.resources?.requests?.storage;
  const current = claim.status?.capacity?.storage;
  const volumeSize = volume.spec?.capacity?.storage;
  if (!requested || !current || !volumeSize) return { action: 'none', reason: 'no sizes to compare' };
  const wanted = quantityBytes(requested);
  const has = quantityBytes(current);
  const volumeHas = quantityBytes(volumeSize);
  if (wanted <= has) return { action: 'none', reason: 'no resize requested' };

  const status = claim.status ?? {};
  const conditions = status.conditions ?? [];
  const markedInProgress =
    status.allocatedResourceStatuses?.storage === inProgress &&
    status.allocatedResources?.storage === requested;
  const finish = (to: string): ResizeStatusPatch => ({
    conditions: withResizeConditions(conditions, []),
    allocatedResources: { ...status.allocatedResources, storage: to },
    allocatedResourceStatuses: { storage: null },
    capacity: { ...status.capacity, storage: to },
  });

  if (volumeHas >= wanted) {
    // The PV is already as large (a resize cut off after its PV step) or larger: finish at its size.
    return {
      action: 'expand',
      plan: {
        volume: volumeName,
        from: current,
        to: volumeHas === wanted ? requested : volumeSize,
        finish: finish(volumeHas === wanted ? requested : volumeSize),
        ...(volumeHas > wanted
          ? {
              shrinkRefused: `requested ${requested} is less than the ${volumeSize} volume ${volumeName} already has; Warren never shrinks a volume, the claim keeps ${volumeSize}`,
            }
          : {}),
      },
    };
  }

  const className = claim.spec?.storageClassName ?? '';
  const refusal = !storageClass
    ? `StorageClass ${JSON.stringify(className)} not found; cannot expand volume ${volumeName} to ${requested}`
    : storageClass.allowVolumeExpansion !== true
      ? `StorageClass ${className} does not allow volume expansion; set allowVolumeExpansion: true on it to resize volume ${volumeName} to ${requested}`
      : undefined;
  if (refusal) {
    const told =
      status.allocatedResourceStatuses?.storage === infeasible &&
      conditions.some((c) => c.type === 'ControllerResizeError' && c.message === refusal);
    if (told) return { action: 'none', reason: 'refusal already recorded on the claim' };
    return {
      action: 'refuse',
      volume: volumeName,
      message: refusal,
      status: {
        conditions: withResizeConditions(conditions, [
          { type: 'ControllerResizeError', status: 'True', message: refusal, lastTransitionTime: now },
        ]),
        allocatedResourceStatuses: { storage: infeasible },
      },
    };
  }
  return {
    action: 'expand',
    plan: {
      volume: volumeName,
      from: current,
      to: requested,
      ...(markedInProgress
        ? {}
        : {
            markInProgress: {
              conditions: withResizeConditions(conditions, [
                { type: 'Resizing', status: 'True', lastTransitionTime: now },
              ]),
              allocatedResources: { ...status.allocatedResources, storage: requested },
              allocatedResourceStatuses: { storage: inProgress },
            },
          }),
      volumeCapacity: requested,
      finish: finish(requested),
    },
  };
}

/**
 * The claim's conditions with every resize condition replaced by `resize`; a condition that is
 * already there with the same status keeps its transition time (as Kubernetes merges them).
 */
export function withResizeConditions(
  conditions: readonly V1PersistentVolumeClaimCondition[],
  resize: readonly V1PersistentVolumeClaimCondition[],
): V1PersistentVolumeClaimCondition[] {
  const isResize = (c: V1PersistentVolumeClaimCondition) =>
    (resizeConditionTypes as readonly string[]).includes(c.type);
  const kept = conditions.filter((c) => !isResize(c));
  const merged = resize.map((c) => {
    const old = conditions.find((o) => o.type === c.type && o.status === c.status);
    return old?.lastTransitionTime ? { ...c, lastTransitionTime: old.lastTransitionTime } : c;
  });
  return [...kept, ...merged];
}
