// Carries out the plan for one claim (claim-plan.ts decides everything): provision its directory
// and PV, finish the hand-over, or release the directory of a claim deleted mid-flight.
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { ownershipEra } from '../provisioning/ownership.ts';
import { discardPartialCopy, releaseDirectory } from '../provisioning/release.ts';
import { ensureVolumeDirectory, openShare } from '../provisioning/volume-directory.ts';
import {
  type AbandonPlan,
  type ClaimBinding,
  claimName,
  claimRef,
  type ProvisionPlan,
  planClaim,
  pvNameFor,
  volumeConflict,
} from './claim-plan.ts';
import { copyForClone, releaseCloneSource } from './clone-copy.ts';
import { dataSourceOf, describeSource } from './clone-plan.ts';
import type { ReconcileDeps } from './deps.ts';
import { provisionedByAnnotation } from './object-names.ts';
import { reportFailure } from './report-failure.ts';
import { resize } from './resize-reconciler.ts';
import { countRetries } from './retries.ts';
import type { Outcome } from './work-queue.ts';

type Log = ReconcileDeps['log'];

export async function reconcileClaim(deps: ReconcileDeps, namespace: string, name: string): Promise<Outcome> {
  const claim = deps.claims.get(name, namespace);
  if (!claim) return 'done';
  const storageClass = claim.spec?.storageClassName
    ? deps.classes.get(claim.spec.storageClassName)
    : undefined;
  const plan = planClaim({
    claim,
    storageClass,
    provisioner: deps.provisioner,
    ...volumeFacts(deps.volumes.get(pvNameFor(claim))),
    volumes: deps.volumeIndex,
    ...sourceOf(deps, claim),
    ...(claim.spec?.volumeName ? { boundVolume: deps.volumes.get(claim.spec.volumeName) } : {}),
    now: deps.now(),
  });
  // The volume reconciler logs a PV's claim under the same keys, so one query finds both.
  const log = deps.log.child({ namespace, name, uid: claim.metadata?.uid, action: plan.action });
  return countRetries(deps.metrics, log, async () => {
    switch (plan.action) {
      case 'ignore':
      case 'wait':
        log.debug({ reason: plan.reason }, 'nothing to do');
        return 'done';
      case 'reject':
        deps.metrics.provisions.inc({ result: 'rejected' });
        await deps.events.record(
          claimRef(claim),
          'Warning',
          'ProvisioningFailed',
          `${plan.reason}. Warren will not retry this claim: create it again as the message says`,
        );
        log.info({ reason: plan.reason }, 'claim rejected');
        return 'done';
      case 'fail':
        return reportFailure(deps, log, {
          step: { operation: 'provision' },
          object: claimRef(claim),
          err: plan.error,
        });
      case 'finish':
        await finish(deps, claim, plan.bind);
        return 'done';
      case 'abandon':
        return abandon(deps, claim, plan.plan, log);
      case 'provision':
        return provision(deps, claim, plan.plan, log);
      case 'resize':
        return resize(deps, claim, plan.plan, log);
    }
  });
}

/** Record the intent, make the directory, create the PV: a crash point after each. */
async function provision(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  plan: ProvisionPlan,
  log: Log,
): Promise<Outcome> {
  const started = performance.now();
  const { intent } = plan;
  const { location } = intent;
  try {
    const share = await openShare(deps.store, location.server, location.share); // fail before writing anything
    if (plan.recordIntent) {
      if (plan.replacesIntent !== undefined) {
        log.warn(
          { recorded: plan.replacesIntent, planned: plan.serializedIntent },
          'recorded intent differs from the plan (claim labels changed, or the annotation was edited); recording the plan',
        );
      }
      const where = `${location.server}:${location.share}`;
      // Normal Events are not waited for: they go out beside the provisioning, not before it.
      void deps.events.record(
        claimRef(claim),
        'Normal',
        'Provisioning',
        `creating directory ${location.subDir} on ${where}`,
      );
      await deps.writes.recordIntent(claim, plan.serializedIntent, pvNameFor(claim));
      deps.crashPoint('after-intent', claimName(claim));
      // The rest waits for the claim's own update to come back through the informer, behind the
      // intents of the claims queued meanwhile: each claim is pre-bound as early as possible,
      // before the binder's first sync of it (see claim-plan.ts).
      return 'done';
    }
    const now = deps.now();
    const owner = {
      name: plan.volume.metadata?.name ?? '',
      // A directory already there is adopted as Warren's only for a claim older than the share's
      // ownership records: Warren may then have made it before it recorded what it makes. For a
      // later claim, Warren records ownership before it makes a directory, so one already there
      // without a record is not Warren's (and is never removed).
      adoptExisting: createdBefore(claim, await ownershipEra(deps.store.backend, share.recordRoot, now)),
      now,
    };
    let made: string;
    if (plan.clone) {
      const copy = await copyForClone(deps, claim, plan, share, owner, log);
      if (copy.step === 'copying') return 'done'; // the lane re-queues the claim when the copy settles
      claim = copy.claim;
      made = `copied from ${describeSource(plan.clone)}`;
    } else {
      made = await ensureVolumeDirectory(deps.store, share, intent, owner);
    }
    deps.crashPoint('after-directory', claimName(claim));
    const created = await deps.writes.createVolume(plan.volume);
    const conflict = created.result === 'exists' ? volumeConflict(created.existing, claim) : undefined;
    if (conflict) throw conflict;
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.provisions.inc({ result: 'success' });
    deps.metrics.provisionSeconds.observe({ result: 'success' }, seconds);
    const pvName = plan.volume.metadata?.name;
    if (created.result === 'created') {
      const where = `${location.server}:${location.share}/${location.subDir}`;
      void deps.events.record(
        claimRef(claim),
        'Normal',
        'ProvisioningSucceeded',
        `volume ${pvName} provisioned at ${where} (directory ${made})`,
      );
    }
    deps.crashPoint('after-volume', claimName(claim));
    // The intent stays until the binder has taken up the PV ('finish'): see claim-plan.ts.
    if (plan.clone?.kind === 'PersistentVolumeClaim') await releaseCloneSource(deps, claim, plan.clone);
    log.info({ pv: pvName, subDir: location.subDir, directory: made, seconds }, 'provisioned');
    return 'done';
  } catch (err) {
    return reportFailure(deps, log, {
      step: { operation: 'provision' },
      object: claimRef(claim),
      err,
      startedMs: started,
    });
  }
}

/**
 * The PV exists: the intent and finalizer go (with `bind`, as the claim's binding is completed), and
 * so does a clone's hold on its source.
 */
async function finish(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  bind: ClaimBinding | undefined,
): Promise<void> {
  if (bind) await deps.writes.completeBinding(claim, bind);
  else await deps.writes.clearIntent(claim);
  deps.crashPoint('after-finish', claimName(claim));
  await releaseSourceOf(deps, claim);
}

/** Release (or keep) the directory of a claim deleted before its PV existed, then drop the intent. */
async function abandon(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  plan: AbandonPlan,
  log: Log,
): Promise<Outcome> {
  try {
    if ('keep' in plan) {
      log.warn({ why: plan.keep }, 'claim deleted mid-provisioning; leaving any directory in place');
    } else if (await deps.writes.readVolume(plan.unlessVolume)) {
      // The cache lags: the PV exists after all, and its own release will handle the directory.
      log.info(
        { pv: plan.unlessVolume },
        'claim deleted mid-provisioning, but its PV exists; leaving the directory to it',
      );
    } else {
      if (plan.discardCopy) {
        const { location, volumeId, name } = plan.release;
        const discarded = await discardPartialCopy(deps.store, { location, volumeId, name: name ?? '' });
        log.info({ discarded }, 'clone deleted mid-copy; partial copy handled');
      }
      const outcome = await releaseDirectory(deps.store, plan.release, deps.now());
      log.info(
        { subDir: plan.release.location.subDir, ...outcome },
        'claim deleted before its volume was made; directory released',
      );
    }
    await deps.writes.clearIntent(claim);
    await releaseSourceOf(deps, claim);
    return 'done';
  } catch (err) {
    return reportFailure(deps, log, { step: { operation: 'abandon' }, object: claimRef(claim), err });
  }
}

function createdBefore(claim: V1PersistentVolumeClaim, era: Date): boolean {
  const at = claim.metadata?.creationTimestamp;
  const created = at ? new Date(at).getTime() : Number.NaN;
  return !Number.isNaN(created) && created < era.getTime();
}

/** Whether the claim's PV is in the cache, which provisioner made it, its phase and binding. */
function volumeFacts(pv: V1PersistentVolume | undefined) {
  const by = pv?.metadata?.annotations?.[provisionedByAnnotation];
  const phase = pv?.status?.phase;
  const spec = pv?.spec;
  return {
    pvExists: pv !== undefined,
    ...(by !== undefined ? { volumeProvisioner: by } : {}),
    ...(phase !== undefined ? { volumePhase: phase } : {}),
    ...(spec
      ? {
          volumeBinding: {
            ...(spec.claimRef?.uid ? { claimUid: spec.claimRef.uid } : {}),
            ...(spec.accessModes ? { accessModes: spec.accessModes } : {}),
            ...(spec.capacity ? { capacity: spec.capacity } : {}),
          },
        }
      : {}),
  };
}

/** A clone's source claim and its PV, or a restore's VolumeSnapshot and its content, from the caches. */
function sourceOf(deps: ReconcileDeps, claim: V1PersistentVolumeClaim) {
  const source = dataSourceOf(claim);
  if (source?.kind === 'VolumeSnapshot') {
    const snapshot = deps.snapshotApi?.snapshots.get(source.name, source.namespace);
    const contentName = snapshot?.status?.boundVolumeSnapshotContentName;
    const content = contentName ? deps.snapshotApi?.contents.get(contentName) : undefined;
    return { source: { ...(snapshot ? { snapshot } : {}), ...(content ? { content } : {}) } };
  }
  if (source?.kind !== 'PersistentVolumeClaim') return {};
  const sourceClaim = deps.claims.get(source.name, source.namespace);
  const volumeName = sourceClaim?.spec?.volumeName;
  return {
    source: { claim: sourceClaim, volume: volumeName ? deps.volumes.get(volumeName) : undefined },
  };
}

/** A clone that needs its source no more lets it go (if no other clone still copies it). */
async function releaseSourceOf(deps: ReconcileDeps, claim: V1PersistentVolumeClaim): Promise<void> {
  const source = dataSourceOf(claim);
  if (source?.kind === 'PersistentVolumeClaim') await releaseCloneSource(deps, claim, source);
}
