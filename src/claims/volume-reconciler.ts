// Reconciles one of Warren's PVs: when it is released (reclaim policy Delete), apply its
// recorded onDelete to its own directory, then let the PV go.
import type { V1ObjectReference, V1PersistentVolume } from '@kubernetes/client-node';
import { errorKind, failedPrecondition } from '../errors.ts';
import { attributeKeys } from '../provisioning/names.ts';
import type { OnDelete, VolumeLocation } from '../provisioning/types.ts';
import { releaseVolumeDirectory } from '../provisioning/volume-directory.ts';
import { encodeVolumeId } from '../provisioning/volume-id.ts';
import type { ReconcileDeps } from './deps.ts';
import { countRetries, retryFor } from './retries.ts';
import { overlappingVolume } from './shared-directory.ts';
import { decideVolume, type VolumeDecision } from './volume-decision.ts';
import type { Outcome } from './work-queue.ts';

export async function reconcileVolume(deps: ReconcileDeps, name: string): Promise<Outcome> {
  const pv = deps.volumes.get(name);
  if (!pv) return 'done';
  const decision = decideVolume(pv, deps.provisioner);
  const log = deps.log.child({ pv: name, ...claimKeys(pv), action: decision.action });
  return countRetries(deps.metrics, log, async () => {
    if (decision.action !== 'release' && decision.action !== 'delete-pv') {
      return act(deps, name, pv, decision, log);
    }
    // The cache can lag behind the finalizer this controller removed a moment ago, and a second
    // release of a path that a new claim has just taken would touch that claim's directory:
    // a directory is released only as the PV is now.
    const live = await deps.writes.readVolume(name);
    return live ? act(deps, name, live, decideVolume(live, deps.provisioner), log) : 'done';
  });
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
  name: string,
  pv: V1PersistentVolume,
  decision: VolumeDecision,
  log: ReconcileDeps['log'],
): Promise<Outcome> {
  if (decision.action === 'ignore') return 'done';
  if (decision.action === 'delete-pv') {
    await deps.writes.deleteVolume(name);
    log.info('released PV without our finalizer (its directory was handled before); deleted the PV');
    return 'done';
  }
  if (decision.action === 'drop-finalizer') {
    await deps.writes.removeVolumeFinalizer(pv);
    log.info('PV deleted with reclaim policy Retain; directory kept');
    return 'done';
  }
  const started = performance.now();
  try {
    const location = recordedLocation(pv, decision.onDelete);
    const sharer = overlappingVolume(location, deps.volumes.list(), deps.provisioner, name);
    if (sharer && decision.onDelete !== 'retain') {
      const text = `directory ${location.subDir} is also used by PV ${sharer}; kept it instead of applying onDelete ${decision.onDelete}`;
      await deps.events.record(volumeRef(pv), 'Warning', 'DirectoryKept', text);
      log.warn({ subDir: location.subDir, sharer }, text);
    }
    const outcome = sharer
      ? { result: 'retained' as const }
      : await releaseVolumeDirectory(deps.store, location, decision.onDelete, deps.now());
    deps.crashPoint('after-release');
    await deps.writes.removeVolumeFinalizer(pv);
    await deps.writes.deleteVolume(name);
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.releases.inc({ action: decision.onDelete, result: 'success' });
    deps.metrics.releaseSeconds.observe({ action: decision.onDelete, result: 'success' }, seconds);
    log.info({ subDir: location.subDir, ...outcome, seconds }, 'released');
    return 'done';
  } catch (err) {
    deps.metrics.releases.inc({ action: decision.onDelete, result: 'failed' });
    const text = err instanceof Error ? err.message : String(err);
    if (errorKind(err) !== 'Aborted')
      await deps.events.record(volumeRef(pv), 'Warning', 'VolumeFailedDelete', text);
    log.warn({ err: text, kind: errorKind(err) }, 'release failed; will retry');
    return retryFor(err);
  }
}

/**
 * The location comes from the PV's attributes, and is trusted only if it encodes to the PV's
 * own volume handle: a hand-edited or hand-made PV cannot point Warren at another directory.
 */
export function recordedLocation(pv: V1PersistentVolume, onDelete: OnDelete): VolumeLocation {
  const attrs = pv.spec?.csi?.volumeAttributes ?? {};
  const location: VolumeLocation = {
    server: attrs[attributeKeys.server] ?? '',
    share: attrs[attributeKeys.share] ?? '',
    subDir: attrs[attributeKeys.subDir] ?? '',
  };
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

function volumeRef(pv: V1PersistentVolume): V1ObjectReference {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    name: pv.metadata?.name,
    uid: pv.metadata?.uid,
    resourceVersion: pv.metadata?.resourceVersion,
  };
}
