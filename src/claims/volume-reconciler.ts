// Carries out the plan for one of Warren's PVs (volume-plan.ts decides everything): when it is
// released, apply its recorded onDelete to its own directory, then let the PV go.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { releaseDirectory } from '../provisioning/release.ts';
import type { ReconcileDeps } from './deps.ts';
import { reportFailure } from './report-failure.ts';
import { countRetries } from './retries.ts';
import {
  type BoundClaim,
  boundClaimOf,
  decideVolume,
  needsLiveRead,
  planVolume,
  type VolumePlan,
  volumeRef,
} from './volume-plan.ts';
import type { Outcome } from './work-queue.ts';

export async function reconcileVolume(deps: ReconcileDeps, name: string): Promise<Outcome> {
  const cached = deps.volumes.get(name);
  if (!cached) return 'done';
  const claimInCache = cachedClaim(deps, cached);
  const cachedDecision = decideVolume(cached, deps.provisioner, claimInCache);
  const log = deps.log.child({ pv: name, ...claimKeys(cached), action: cachedDecision.action });
  return countRetries(deps.metrics, log, async () => {
    // The cache can lag behind the finalizer this controller removed a moment ago, and a second
    // release of a path that a new claim has just taken would touch that claim's directory:
    // a directory is released, or a PV changed or deleted, only as the PV is now.
    if (!needsLiveRead(cachedDecision))
      return act(deps, cached, planVolume(cached, deps.provisioner, deps.volumeIndex, claimInCache), log);
    const pv = await deps.writes.readVolume(name);
    if (!pv) return 'done';
    // And a claim is taken for gone only when the API server says so.
    const inCache = cachedClaim(deps, pv);
    const claim =
      decideVolume(pv, deps.provisioner, inCache).action === 'mark-released'
        ? await liveClaim(deps, pv)
        : inCache;
    return act(deps, pv, planVolume(pv, deps.provisioner, deps.volumeIndex, claim), log);
  });
}

/** The PV's claim as the claim cache has it (which can lag: a claim just made may be missing). */
function cachedClaim(deps: ReconcileDeps, pv: V1PersistentVolume): BoundClaim {
  const ref = pv.spec?.claimRef;
  return boundClaimOf(pv, ref?.name ? deps.claims.get(ref.name, ref.namespace) : undefined);
}

async function liveClaim(deps: ReconcileDeps, pv: V1PersistentVolume): Promise<BoundClaim> {
  const ref = pv.spec?.claimRef;
  return boundClaimOf(pv, await deps.writes.readClaim(ref?.namespace ?? '', ref?.name ?? ''));
}

/** The claim's keys as the claim reconciler logs them (namespace, name, uid), where the PV has them. */
function claimKeys(pv: V1PersistentVolume): Record<string, string> {
  const ref = pv.spec?.claimRef;
  return {
    ...(ref?.namespace ? { namespace: ref.namespace } : {}),
    ...(ref?.name ? { name: ref.name } : {}),
    ...(ref?.uid ? { uid: ref.uid } : {}),
  };
}

async function act(
  deps: ReconcileDeps,
  pv: V1PersistentVolume,
  plan: VolumePlan,
  log: ReconcileDeps['log'],
): Promise<Outcome> {
  const name = pv.metadata?.name ?? '';
  switch (plan.action) {
    case 'ignore':
      return 'done';
    case 'mark-released': {
      const released = await deps.writes.markVolumeReleased(pv);
      if (!released) return 'done';
      log.info('its claim is gone (read live); marked the PV Released');
      // The write's answer is the PV as it is now: Released, so planned as any released PV.
      return act(deps, released, planVolume(released, deps.provisioner, deps.volumeIndex, 'gone'), log);
    }
    case 'delete-pv':
      await deps.writes.deleteVolume(name);
      log.info('released PV without our finalizer (its directory was handled before); deleted the PV');
      return 'done';
    case 'drop-finalizer':
      await deps.writes.removeVolumeFinalizer(pv);
      log.info('PV deleted with reclaim policy Retain; directory kept');
      return 'done';
    case 'fail':
      return reportFailure(deps, log, {
        step: { operation: 'release', onDelete: plan.onDelete },
        object: volumeRef(pv),
        err: plan.error,
      });
    case 'release':
      break;
  }
  const started = performance.now();
  try {
    if (plan.kept) {
      await deps.events.record(volumeRef(pv), 'Warning', 'DirectoryKept', plan.kept);
      log.warn({ subDir: plan.location.subDir }, plan.kept);
    }
    const outcome = plan.release
      ? await releaseDirectory(deps.store, plan.release, deps.now())
      : { result: 'retained' as const };
    if (outcome.result === 'not-ours') {
      const { server, share, subDir } = plan.location;
      const text = `directory ${subDir} on ${server}:${share} left untouched instead of onDelete ${plan.onDelete}: ${outcome.why}`;
      await deps.events.record(volumeRef(pv), 'Warning', 'DirectoryKept', text);
      log.warn({ subDir, why: outcome.why }, "directory kept: not Warren's to delete");
    }
    deps.crashPoint('after-release', pv.metadata?.name ?? '');
    await deps.writes.removeVolumeFinalizer(pv);
    await deps.writes.deleteVolume(name);
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.releases.inc({ action: plan.onDelete, result: 'success' });
    deps.metrics.releaseSeconds.observe({ action: plan.onDelete, result: 'success' }, seconds);
    log.info({ subDir: plan.location.subDir, ...outcome, seconds }, 'released');
    return 'done';
  } catch (err) {
    return reportFailure(deps, log, {
      step: { operation: 'release', onDelete: plan.onDelete },
      object: volumeRef(pv),
      err,
    });
  }
}
