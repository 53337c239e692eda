// Pure: what the claim watcher does about one claim right now, as a complete plan. The claim
// reconciler only carries a plan out; every rule about claims is here.
import type {
  V1ObjectReference,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import { failedPrecondition, WarrenError } from '../errors.ts';
import { parseClassParameters } from '../provisioning/parameters.ts';
import type { ReleaseRequest } from '../provisioning/release.ts';
import type { ClaimFacts } from '../provisioning/types.ts';
import { serializeIntent, type VolumeIntent, volumeIntentFor } from '../provisioning/volume-intent.ts';
import {
  type CloneSource,
  clonedFromAnnotation,
  cloneSource,
  copiedFromValue,
  unsupportedDataSource,
} from './clone-plan.ts';
import {
  betaStorageProvisionerAnnotation,
  directoryFinalizer,
  intentAnnotation,
  selectedNodeAnnotation,
  storageProvisionerAnnotation,
} from './object-names.ts';
import { planResize, type ResizePlan } from './resize-plan.ts';
import type { VolumeSnapshot, VolumeSnapshotContent } from './snapshot-objects.ts';
import { buildVolume } from './volume-builder.ts';
import type { VolumeLookup } from './volume-index.ts';

export type ClaimDecision =
  /** Not ours, or nothing to do. */
  | { action: 'ignore'; reason: string }
  /** Ours, but not yet (WaitForFirstConsumer without a node, class not in the cache yet). */
  | { action: 'wait'; reason: string }
  /** Ours, asking for something Warren does not do: tell the user, do not retry hot. */
  | { action: 'reject'; reason: string }
  | { action: 'provision' }
  /**
   * Our finalizer is on the claim, its PV exists and the binder has taken it up (or the claim is
   * deleted): drop the finalizer and intent; with `bind`, also complete the claim's side of the
   * binding, as the binder would.
   */
  | { action: 'finish'; bind?: ClaimBinding }
  /** The claim is being deleted before its PV was made: release the directory, then drop the finalizer. */
  | { action: 'abandon' };

/** Everything needed to provision, in the order the steps run. */
export interface ProvisionPlan {
  intent: VolumeIntent;
  /** The intent annotation's text. */
  serializedIntent: string;
  /** Intent, finalizer and volumeName must be (re)written on the claim before the directory is made. */
  recordIntent: boolean;
  /** The intent the claim carries instead, when the plan replaces it (labels changed, or a hand edit). */
  replacesIntent?: string;
  /** The PV to create once the directory exists. */
  volume: V1PersistentVolume;
  /** A clone or restore: what is copied in before the PV exists, and whether that is done. */
  clone?: CloneSource & { copied: boolean };
}

/** After a claim was deleted mid-provisioning: release its directory, or keep it and say why. */
export type AbandonPlan =
  | {
      release: ReleaseRequest;
      /** Released only if this PV does not exist after all (a live read; the cache can lag). */
      unlessVolume: string;
      /** A clone: its partial copy (if the share's record marks one) is discarded first. */
      discardCopy: boolean;
    }
  | { keep: string };

export type ClaimPlan =
  | Exclude<ClaimDecision, { action: 'provision' } | { action: 'abandon' }>
  /** Cannot go on now: reported as a provisioning failure, retried as its kind says. */
  | { action: 'fail'; error: WarrenError }
  | { action: 'provision'; plan: ProvisionPlan }
  | { action: 'abandon'; plan: AbandonPlan }
  /** A bound claim asks for more space: expand its volume, or refuse and say why. */
  | { action: 'resize'; plan: Exclude<ResizePlan, { action: 'none' }> };

/** The claim's side of a binding: its status as the binder sets it for this PV. */
export interface ClaimBinding {
  accessModes: string[];
  capacity: Record<string, string>;
}

export interface ClaimInput {
  claim: V1PersistentVolumeClaim;
  storageClass: V1StorageClass | undefined;
  provisioner: string;
  /** Warren's PV for this claim is in the cache. */
  pvExists: boolean;
  /** That PV's provisioned-by annotation: which installation of Warren made it. */
  volumeProvisioner?: string;
  /** That PV's status.phase (Pending until the binder takes it up). */
  volumePhase?: string;
  /** That PV's claimRef uid, access modes and capacity: what completing the binding copies. */
  volumeBinding?: { claimUid?: string; accessModes?: string[]; capacity?: Record<string, string> };
  /** The PV cache, indexed: no two volumes may share, contain or lie inside one directory. */
  volumes: VolumeLookup;
  /** A clone's source claim and its PV, or a restore's VolumeSnapshot and its content, from the caches. */
  source?: {
    claim?: V1PersistentVolumeClaim;
    volume?: V1PersistentVolume;
    snapshot?: VolumeSnapshot;
    content?: VolumeSnapshotContent;
  };
  /** The PV a bound claim names, from the cache (for a resize). */
  boundVolume?: V1PersistentVolume;
  now?: Date;
}

export function pvNameFor(claim: V1PersistentVolumeClaim): string {
  return `pvc-${claim.metadata?.uid}`;
}

export function claimFacts(claim: V1PersistentVolumeClaim): ClaimFacts {
  const m = claim.metadata ?? {};
  return {
    namespace: m.namespace ?? '',
    name: m.name ?? '',
    uid: m.uid ?? '',
    labels: m.labels ?? {},
    annotations: m.annotations ?? {},
  };
}

/** namespace/name, as logs and crash points name a claim. */
export function claimName(claim: V1PersistentVolumeClaim): string {
  return `${claim.metadata?.namespace}/${claim.metadata?.name}`;
}

export function claimRef(claim: V1PersistentVolumeClaim): V1ObjectReference {
  const m = claim.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
  };
}

export function planClaim(input: ClaimInput): ClaimPlan {
  const className = input.claim.spec?.storageClassName;
  const unbound = className ? input.volumes.unboundOfClass(className) : undefined;
  const decision = decideClaim({ ...input, ...(unbound ? { unboundVolumeOfClass: unbound } : {}) });
  if (decision.action === 'abandon') return { action: 'abandon', plan: planAbandon(input) };
  if (decision.action === 'ignore' && input.claim.spec?.volumeName) {
    try {
      const resize = planResize({
        claim: input.claim,
        volume: input.boundVolume,
        storageClass: input.storageClass,
        provisioner: input.provisioner,
        now: input.now ?? new Date(),
      });
      if (resize.action !== 'none') return { action: 'resize', plan: resize };
    } catch (err) {
      if (err instanceof WarrenError) return { action: 'fail', error: err };
      throw err;
    }
  }
  if (decision.action !== 'provision') return decision;
  // decideClaim provisions only with a class of ours in hand.
  const storageClass = input.storageClass as V1StorageClass;
  try {
    return { action: 'provision', plan: planProvision(input, storageClass) };
  } catch (err) {
    if (err instanceof WarrenError) return { action: 'fail', error: err };
    throw err;
  }
}

/*
 * Crash safety, and how the claim is pre-bound so that the binder does less than for a PV made
 * by hand.
 *
 * The steps, with a crash point after each (crash-points.ts):
 *   1. record the intent: our finalizer, the intent annotation (the whole VolumeIntent: where the
 *      directory goes, with which policy) and spec.volumeName `pvc-<claim uid>`, in one
 *      resourceVersion-guarded patch of the claim;
 *   2. make the directory (its ownership record on the share is written first);
 *   3. create the PV `pvc-<claim uid>`, its claimRef naming the claim's uid;
 *   4. once the binder has taken up the PV (its phase is Bound), finish: drop the finalizer and
 *      the intent from the claim, and in the same write (a patch of the status subresource, which
 *      takes metadata too) complete the claim's side of the binding as the binder writes it: its
 *      bind-completed annotation and status Bound with the PV's access modes and capacity.
 * kube-controller-manager's binder then finds the pair bound and writes nothing more: one write of
 * its own per claim (the PV's phase) where it binds a pre-bound pair with three (PV phase, claim
 * annotations, claim phase). Its client is limited to 20 writes/s, and the binding of a burst of
 * claims waits on those writes.
 * Why not before the PV's phase is Bound: the binder marks a claim Lost (a terminal phase, with a
 * Warning that its data is lost) when a claim with bind-completed names a PV missing from its own
 * cache. It writes the PV's phase from that cache, so once the phase is Bound the PV is there.
 *
 * Why volumeName in step 1: a claim that names a PV which does not exist yet is one the binder
 * leaves alone (it keeps it Pending). The binder's first sync of a new claim comes as the claim is
 * created, though, before Warren's write can: it then writes its provisioner annotation (and an
 * Event) from what it read, which fails with a conflict once Warren's write is in (measured, 600
 * claims at once: 571 such writes, 465 of them 409). A provisioner cannot avoid these two writes;
 * only a claim created pre-bound (the floor of `npm run bench`) does.
 * A PV that appears for a claim already naming it does not make the binder sync the claim again;
 * step 4 is the claim update that would. Without step 4 the binder bound the claim only at its
 * next periodic resync (measured before step 4 completed the binding: the first of 300 claims Bound
 * 26 s after its PV had its phase, every one of them waiting for the 15 s resync).
 * Step 1 ends its reconcile: steps 2 and 3 run when the claim's update comes back through the
 * informer, behind the intents of the claims queued meanwhile, so that each claim of a burst is
 * pre-bound as early as it can be.
 * Warren acts on a claim of its class without waiting for the binder to name it, except while a PV
 * of that class is bound to no claim: the binder might bind the claim to that PV, so Warren leaves
 * the claim to the binder until the binder names Warren.
 *
 * Intent before directory: no directory is made (2) before the claim names it (1), and while the
 * finalizer is on the claim the claim cannot disappear, so the intent is readable until Warren
 * lets it go. From step 3 on, the PV names the same directory and the same claim, and its own
 * release path (volume-plan.ts) owns the directory once the PV is Released; so the intent may go.
 *
 * No orphan: a restarted controller (or the replica that takes over the lease) finds every
 * crash point's state and carries on from it:
 *   after-intent    intent, no directory: provision again (same intent, same place);
 *   after-directory directory, no PV: provision again; the directory is adopted, the PV created;
 *   after-volume    PV, intent still on the claim: wait for the binder to take up the PV, then
 *                   finish (and complete the binding); if the claim is deleted first, finish too,
 *                   and the PV (Released without its claim) releases the directory by its own path;
 *   after-finish    nothing of Warren's on the claim, which names its PV: nothing to do (the binder
 *                   completes any binding Warren did not).
 * A claim deleted before its PV exists is abandoned: its directory is released only if it matches
 * the recorded intent, is empty, is no other volume's, and a live read (not the cache, which can
 * lag) finds no PV for the claim; if the PV exists after all, the directory is left to the PV.
 * A claim that names a PV but holds no finalizer of ours is never provisioned, even if that PV is
 * not in the cache: it is bound by hand, or its PV was made and the cache has not shown it yet.
 *
 * No duplicate: the PV's name is the claim's uid, so a second create answers 409 and is checked to
 * be this claim's; the directory is ensured (made or adopted) under its ownership record; and one
 * reconcile runs per claim at a time, with leader election so one replica works at a time.
 *
 * One holder: the finalizer's name is the same for every installation of Warren, so a controller
 * finishes or abandons only a claim whose finalizer is its own (its PV's provisioned-by annotation,
 * before the PV its StorageClass): another installation sharing the cluster would otherwise drop
 * the intent of a claim whose controller is down, or release its directory.
 */
export function decideClaim(
  input: Omit<ClaimInput, 'volumes'> & { unboundVolumeOfClass?: string },
): ClaimDecision {
  const { claim, storageClass, provisioner, pvExists } = input;
  const meta = claim.metadata ?? {};
  const annotations = meta.annotations ?? {};
  const holdsFinalizer = (meta.finalizers ?? []).includes(directoryFinalizer);
  const named = annotations[storageProvisionerAnnotation] ?? annotations[betaStorageProvisionerAnnotation];

  if (holdsFinalizer) {
    // Every installation of Warren uses the same finalizer: only the one that holds it lets it go.
    const holder = finalizerHolder(input, named);
    if (holder !== provisioner) {
      return { action: 'ignore', reason: `claim holds the finalizer for provisioner ${holder}` };
    }
    if (pvExists) {
      const phase = claim.status?.phase;
      const taken = ['Bound', 'Released', 'Failed'].includes(input.volumePhase ?? '');
      if (meta.deletionTimestamp || phase === 'Bound' || phase === 'Lost') return { action: 'finish' };
      if (taken) {
        const bind = bindingFor(input);
        return bind ? { action: 'finish', bind } : { action: 'finish' };
      }
      return {
        action: 'wait',
        reason: 'volume exists; waiting for the binder to take it up (PV phase Bound)',
      };
    }
    if (meta.deletionTimestamp) return { action: 'abandon' };
  }
  if (meta.deletionTimestamp) return { action: 'ignore', reason: 'claim is being deleted' };
  const volumeName = claim.spec?.volumeName;
  // Our own pre-binding (step 1) is carried on only while our finalizer says provisioning is under way.
  if (volumeName && !(holdsFinalizer && volumeName === pvNameFor(claim)))
    return { action: 'ignore', reason: `claim is bound to ${volumeName}` };
  if (pvExists) return { action: 'ignore', reason: 'volume already exists; waiting for the binder' };

  if (named !== undefined && named !== provisioner && !holdsFinalizer)
    return { action: 'ignore', reason: `claim is for provisioner ${named}` };
  if (!storageClass)
    return { action: 'wait', reason: `StorageClass "${claim.spec?.storageClassName ?? ''}" not found` };
  if (storageClass.provisioner !== provisioner) {
    return {
      action: 'ignore',
      reason: `StorageClass ${storageClass.metadata?.name} is for ${storageClass.provisioner}`,
    };
  }
  if (named === undefined && !holdsFinalizer && input.unboundVolumeOfClass) {
    return {
      action: 'ignore',
      reason: `PV ${input.unboundVolumeOfClass} of the claim's class is bound to no claim; the binder may bind the claim to it`,
    };
  }
  if (claim.spec?.volumeMode === 'Block') {
    return {
      action: 'reject',
      reason: 'volumeMode Block is not supported by an NFS volume; use volumeMode Filesystem',
    };
  }
  const unsupported = unsupportedDataSource(claim);
  if (unsupported) return { action: 'reject', reason: unsupported };
  if (storageClass.volumeBindingMode === 'WaitForFirstConsumer' && !annotations[selectedNodeAnnotation]) {
    return { action: 'wait', reason: 'WaitForFirstConsumer: no node selected yet' };
  }
  return { action: 'provision' };
}

/**
 * The claim's side of the binding, when the binder has bound our PV to this claim (its phase Bound,
 * its claimRef this claim's uid) and the claim names it; the binder sets the claim's access modes
 * and capacity to the PV's. Otherwise nothing: the binder finishes the claim itself.
 */
function bindingFor(input: Omit<ClaimInput, 'volumes'>): ClaimBinding | undefined {
  const { claim, volumePhase, volumeBinding } = input;
  if (volumePhase !== 'Bound' || claim.spec?.volumeName !== pvNameFor(claim)) return undefined;
  const { claimUid, accessModes, capacity } = volumeBinding ?? {};
  if (!claimUid || claimUid !== claim.metadata?.uid || !accessModes?.length || !capacity?.storage)
    return undefined;
  return { accessModes, capacity };
}

/**
 * Which provisioner's finalizer a claim holds: the one that made its PV; before the PV, the one its
 * StorageClass names (the intent was recorded for that class), or the binder's annotation when the
 * class is gone. Only with none of these is it taken to be ours (a claim deleted with its class).
 */
function finalizerHolder(input: Omit<ClaimInput, 'volumes'>, named: string | undefined): string {
  if (input.pvExists && input.volumeProvisioner !== undefined) return input.volumeProvisioner;
  return input.storageClass?.provisioner ?? named ?? input.provisioner;
}

function intentFor(claim: V1PersistentVolumeClaim, storageClass: V1StorageClass): VolumeIntent {
  return volumeIntentFor(parseClassParameters(storageClass.parameters), claimFacts(claim), pvNameFor(claim));
}

function planProvision(input: ClaimInput, storageClass: V1StorageClass): ProvisionPlan {
  const { claim, provisioner, volumes } = input;
  const intent = intentFor(claim, storageClass);
  const { location } = intent;
  const sharer = volumes.overlapping(location, provisioner, pvNameFor(claim));
  if (sharer) {
    throw failedPrecondition(
      `directory ${location.subDir} on ${location.server}:${location.share} is, contains or lies inside the directory of PV ${sharer}; ` +
        'give each claim its own directory (e.g. include ${pv.metadata.name} in subDir), or wait until that volume is released',
    );
  }
  const serializedIntent = serializeIntent(intent);
  const recorded = claim.metadata?.annotations?.[intentAnnotation];
  const holdsFinalizer = claim.metadata?.finalizers?.includes(directoryFinalizer) ?? false;
  let clone: ProvisionPlan['clone'];
  if (claim.spec?.dataSourceRef ?? claim.spec?.dataSource) {
    const source = cloneSource({
      claim,
      provisioner,
      source: input.source?.claim,
      sourceVolume: input.source?.volume,
      underWay: recorded === serializedIntent && holdsFinalizer,
      ...(input.source?.snapshot ? { snapshot: input.source.snapshot } : {}),
      ...(input.source?.content ? { content: input.source.content } : {}),
    });
    if (source instanceof WarrenError) throw source;
    const copied = claim.metadata?.annotations?.[clonedFromAnnotation] === copiedFromValue(source);
    clone = { ...source, copied };
  }
  return {
    ...(clone ? { clone } : {}),
    intent,
    serializedIntent,
    recordIntent:
      recorded !== serializedIntent || !holdsFinalizer || claim.spec?.volumeName !== pvNameFor(claim),
    ...(recorded !== undefined && recorded !== serializedIntent ? { replacesIntent: recorded } : {}),
    volume: buildVolume({ claim, storageClass, provisioner, intent }),
  };
}

/**
 * The claim was deleted before its PV existed, so no pod can have written to the directory.
 * Only a directory that matches the recorded intent is released, only while empty, and only while
 * no other volume uses the place.
 */
function planAbandon(input: ClaimInput): AbandonPlan {
  const { claim, storageClass, provisioner, volumes } = input;
  const recorded = claim.metadata?.annotations?.[intentAnnotation];
  let intent: VolumeIntent | undefined;
  try {
    intent = storageClass ? intentFor(claim, storageClass) : undefined;
  } catch {
    intent = undefined;
  }
  if (!intent || recorded !== serializeIntent(intent)) {
    return { keep: 'its recorded intent cannot be confirmed against its StorageClass' };
  }
  const sharer = volumes.overlapping(intent.location, provisioner, pvNameFor(claim));
  if (sharer) return { keep: `PV ${sharer} uses the same place` };
  return {
    // No adoption: a claim mid-provisioning across the upgrade leaves its (empty) directory behind.
    release: {
      location: intent.location,
      onDelete: intent.onDelete,
      onlyIfEmpty: true,
      volumeId: intent.volumeId,
      name: pvNameFor(claim),
    },
    unlessVolume: pvNameFor(claim),
    discardCopy: Boolean(claim.spec?.dataSourceRef ?? claim.spec?.dataSource),
  };
}

/** When creating the PV found one already there: a problem unless it is this claim's own. */
export function volumeConflict(
  existing: V1PersistentVolume,
  claim: V1PersistentVolumeClaim,
): WarrenError | undefined {
  if (existing.spec?.claimRef?.uid === claim.metadata?.uid) return undefined;
  return failedPrecondition(
    `PersistentVolume ${existing.metadata?.name} exists but is bound to another claim; delete it or the claim`,
  );
}
