// Reconciles one claim: provision its directory and PV, finish the hand-over, or clean up
// after a claim deleted mid-flight. Decisions are pure (provisioning/*-decision.ts); this
// file only reads the caches, calls them, and acts.
import type { V1ObjectReference, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { errorKind, failedPrecondition } from '../errors.ts';
import { directoryFinalizer, intentAnnotation } from '../provisioning/names.ts';
import { parseClassParameters } from '../provisioning/parameters.ts';
import type { ClaimFacts } from '../provisioning/types.ts';
import { ensureVolumeDirectory, recordRoot, shareRootOf } from '../provisioning/volume-directory.ts';
import { locationDigest } from '../provisioning/volume-id.ts';
import { planVolume, serializeIntent, type VolumeIntent } from '../provisioning/volume-intent.ts';
import { type ClaimDecision, decideClaim, pvNameFor } from './claim-decision.ts';
import type { ReconcileDeps } from './deps.ts';
import { countRetries, errorMessage, retryFor } from './retries.ts';
import { overlappingVolume } from './shared-directory.ts';
import { buildVolume } from './volume-builder.ts';
import type { Outcome } from './work-queue.ts';

export async function reconcileClaim(deps: ReconcileDeps, namespace: string, name: string): Promise<Outcome> {
  const claim = deps.claims.get(name, namespace);
  if (!claim) return 'done';
  const className = claim.spec?.storageClassName ?? '';
  const storageClass = className ? deps.classes.get(className) : undefined;
  const pvExists = Boolean(deps.volumes.get(pvNameFor(claim)));
  const decision = decideClaim({ claim, storageClass, provisioner: deps.provisioner, pvExists });
  // The volume reconciler logs a PV's claim under the same keys, so one query finds both.
  const log = deps.log.child({ namespace, name, uid: claim.metadata?.uid, action: decision.action });
  return countRetries(deps.metrics, log, () => act(deps, claim, decision, log));
}

async function act(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  decision: ClaimDecision,
  log: ReconcileDeps['log'],
): Promise<Outcome> {
  switch (decision.action) {
    case 'ignore':
    case 'wait':
      log.debug({ reason: decision.reason }, 'nothing to do');
      return 'done';
    case 'reject':
      deps.metrics.provisions.inc({ result: 'rejected' });
      await deps.events.record(claimRef(claim), 'Warning', 'ProvisioningFailed', decision.reason);
      log.info({ reason: decision.reason }, 'claim rejected');
      return 'done';
    case 'finish':
      await deps.writes.clearIntent(claim);
      return 'done';
    case 'abandon':
      return abandon(deps, claim, log);
    case 'provision':
      return provision(deps, claim, log);
  }
}

async function provision(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  log: ReconcileDeps['log'],
): Promise<Outcome> {
  const started = performance.now();
  const storageClass = deps.classes.get(claim.spec?.storageClassName ?? '');
  if (!storageClass) {
    // Deleted between the decision and now; the next reconcile decides again.
    log.info('StorageClass left the cache while provisioning started; will retry');
    return 'retry-fast';
  }
  try {
    const intent = planFor(claim, storageClass);
    await shareRootOf(deps.store, intent.location.server, intent.location.share); // fail before writing anything
    const sharer = overlappingVolume(
      intent.location,
      deps.volumes.list(),
      deps.provisioner,
      pvNameFor(claim),
    );
    if (sharer) {
      throw failedPrecondition(
        `directory ${intent.location.subDir} on ${intent.location.server}:${intent.location.share} is, contains or lies inside the directory of PV ${sharer}; ` +
          'give each claim its own directory (e.g. include ${pv.metadata.name} in subDir), or wait until that volume is released',
      );
    }
    const serialized = serializeIntent(intent);
    const recorded = claim.metadata?.annotations?.[intentAnnotation];
    if (recorded !== serialized || !claim.metadata?.finalizers?.includes(directoryFinalizer)) {
      if (recorded !== undefined && recorded !== serialized) {
        log.warn(
          { recorded, planned: serialized },
          'recorded intent differs from the plan (claim labels changed, or the annotation was edited); recording the plan',
        );
      }
      await deps.events.record(
        claimRef(claim),
        'Normal',
        'Provisioning',
        `creating directory ${intent.location.subDir} on ${intent.location.server}:${intent.location.share}`,
      );
      claim = await deps.writes.recordIntent(claim, serialized);
      deps.crashPoint('after-intent');
    }
    const made = await ensureVolumeDirectory(deps.store, intent);
    deps.crashPoint('after-directory');
    const pv = buildVolume({ claim, storageClass, provisioner: deps.provisioner, intent });
    const created = await deps.writes.createVolume(pv);
    if (created.result === 'exists' && created.existing.spec?.claimRef?.uid !== claim.metadata?.uid) {
      throw failedPrecondition(
        `PersistentVolume ${pv.metadata?.name} exists but is bound to another claim; delete it or the claim`,
      );
    }
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.provisions.inc({ result: 'success' });
    deps.metrics.provisionSeconds.observe({ result: 'success' }, seconds);
    if (created.result === 'created') {
      const where = `${intent.location.server}:${intent.location.share}/${intent.location.subDir}`;
      await deps.events.record(
        claimRef(claim),
        'Normal',
        'ProvisioningSucceeded',
        `volume ${pv.metadata?.name} provisioned at ${where} (directory ${made})`,
      );
    }
    deps.crashPoint('after-volume');
    await deps.writes.clearIntent(claim);
    log.info(
      { pv: pv.metadata?.name, subDir: intent.location.subDir, directory: made, seconds },
      'provisioned',
    );
    return 'done';
  } catch (err) {
    return failed(deps, claim, log, err, started);
  }
}

/**
 * The claim was deleted before its PV existed, so no pod can have written to the directory.
 * Only a directory that matches the plan is touched, and `delete` only removes it while it is
 * empty: a template may map a new claim onto an older claim's directory, whose data stays.
 */
async function abandon(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  log: ReconcileDeps['log'],
): Promise<Outcome> {
  try {
    const recorded = claim.metadata?.annotations?.[intentAnnotation];
    const storageClass = deps.classes.get(claim.spec?.storageClassName ?? '');
    let intent: VolumeIntent | undefined;
    try {
      intent = storageClass ? planFor(claim, storageClass) : undefined;
    } catch {
      intent = undefined;
    }
    const sharer =
      intent && overlappingVolume(intent.location, deps.volumes.list(), deps.provisioner, pvNameFor(claim));
    if (!intent || recorded !== serializeIntent(intent)) {
      log.warn(
        { recorded },
        'claim deleted mid-provisioning, but its intent cannot be confirmed; leaving any directory in place',
      );
    } else if (sharer || (await deps.writes.readVolume(pvNameFor(claim)))) {
      // Our PV exists after all (the cache lags), or another volume uses the place: touch nothing.
      log.info({ sharer }, 'claim deleted mid-provisioning; its directory is in use, leaving it in place');
    } else {
      const root = await shareRootOf(deps.store, intent.location.server, intent.location.share);
      const subDir = intent.location.subDir;
      const outcome =
        intent.onDelete === 'retain'
          ? 'retained'
          : intent.onDelete === 'archive'
            ? await deps.store.backend.archiveDirectory(root, subDir, deps.now())
            : await deps.store.backend.removeEmptyDirectory(root, subDir);
      // The location record (kept for digest volume ids) has no volume left to serve.
      if (outcome !== 'not-empty') {
        await deps.store.backend.deleteRecord(recordRoot(deps.store, root), locationDigest(intent.location));
      }
      log.info({ subDir, outcome }, 'claim deleted before its volume was made; directory released');
    }
    await deps.writes.clearIntent(claim);
    return 'done';
  } catch (err) {
    log.warn({ err: errorMessage(err), kind: errorKind(err) }, 'could not clean up after a deleted claim');
    return retryFor(err);
  }
}

function planFor(claim: V1PersistentVolumeClaim, storageClass: V1StorageClass): VolumeIntent {
  return planVolume(parseClassParameters(storageClass.parameters), claimFacts(claim), pvNameFor(claim));
}

async function failed(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  log: ReconcileDeps['log'],
  err: unknown,
  started: number,
): Promise<Outcome> {
  const kind = errorKind(err);
  deps.metrics.provisions.inc({ result: 'failed' });
  deps.metrics.provisionSeconds.observe({ result: 'failed' }, (performance.now() - started) / 1000);
  if (kind !== 'Aborted') {
    await deps.events.record(claimRef(claim), 'Warning', 'ProvisioningFailed', errorMessage(err));
  }
  log.warn({ err: errorMessage(err), kind }, 'provisioning failed; will retry');
  return retryFor(err);
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
