// Carries out a clone's (or restore's) copy step before its PV is made: hold the source claim, mark
// and make the target, copy in the copy lane (not in a work-queue worker; the copier runs it in a
// copy worker process, share-copies.ts), and on the claim's next reconcile take the result:
// a failed copy is discarded (release.ts) and retried from the start, a complete one recorded.
// A restore copies a snapshot's tree the same way: a full copy, linked to nothing.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { WarrenError } from '../errors.ts';
import { beginCopy, copyPaths, endCopy } from '../provisioning/clone-directory.ts';
import type { ShareRoot } from '../provisioning/directory-backend.ts';
import { discardPartialCopy } from '../provisioning/release.ts';
import { restorePaths } from '../provisioning/snapshot-restore.ts';
import { errorMessage } from '../text.ts';
import { claimName, claimRef, type ProvisionPlan } from './claim-plan.ts';
import { cloneSourceFinalizer, copiedFromValue, describeSource, sourceStillCopied } from './clone-plan.ts';
import type { ReconcileDeps } from './deps.ts';
import { claimKey } from './queue-keys.ts';

type Clone = NonNullable<ProvisionPlan['clone']>;

/** 'copied' once the directory holds the whole copy (go on to the PV); 'copying' while the lane works. */
export async function copyForClone(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  plan: ProvisionPlan,
  share: ShareRoot,
  owner: Parameters<typeof beginCopy>[4],
  log: ReconcileDeps['log'],
): Promise<{ step: 'copied'; claim: V1PersistentVolumeClaim } | { step: 'copying' }> {
  const clone = plan.clone as Clone;
  const { location } = plan.intent;
  const from = describeSource(clone);
  if (clone.copied) {
    await endCopy(deps.store, share, location);
    return { step: 'copied', claim };
  }
  const key = claimKey(claim.metadata?.namespace ?? '', claim.metadata?.name ?? '');
  const state = deps.copies.peek(key);
  if (state?.state === 'queued' || state?.state === 'running') {
    log.debug({ from }, 'copy still running');
    return { step: 'copying' };
  }
  if (state?.state === 'failed') {
    deps.copies.forget(key);
    deps.metrics.clones.inc({ result: 'failed' });
    const discarded = await discardPartialCopy(deps.store, {
      location,
      volumeId: plan.intent.volumeId,
      name: owner.name,
    }).catch((err: unknown) => {
      // The share that stopped the copy often cannot be reached to remove it either (a frozen
      // server): say both. The partial-copy mark stays, so a later try copies over it.
      throw new WarrenError(
        err instanceof WarrenError ? err.kind : 'Internal',
        `copy from ${from} failed: ${errorMessage(state.error)}. Its partial copy cannot be removed yet ` +
          `(${errorMessage(err)}); the next try copies over it`,
        { cause: err },
      );
    });
    log.warn({ from, err: errorMessage(state.error), discarded }, 'copy failed; partial copy discarded');
    const kind = state.error instanceof WarrenError ? state.error.kind : 'Internal';
    throw new WarrenError(
      kind,
      `copy from ${from} failed (the partial copy was removed; it starts again): ${errorMessage(state.error)}`,
      { cause: state.error },
    );
  }
  if (state?.state === 'done') {
    deps.copies.forget(key);
    const updated = await deps.writes.markCloned(claim, copiedFromValue(clone));
    deps.crashPoint('after-copy', claimName(claim));
    await endCopy(deps.store, share, location);
    deps.metrics.clones.inc({ result: 'success' });
    const { stats } = state;
    await deps.events.record(
      claimRef(claim),
      'Normal',
      'CloneCompleted',
      `copied ${from} in ${state.seconds.toFixed(1)} s: ${stats.files} files, ${stats.directories} directories, ` +
        `${stats.symlinks} symbolic links, ${stats.hardLinks} hard links, ${stats.bytes} bytes` +
        (stats.skipped.length > 0
          ? `; not copied (sockets, FIFOs, devices): ${stats.skipped.slice(0, 5).join(', ')}`
          : ''),
    );
    log.info({ from, ...stats, skipped: stats.skipped.length, seconds: state.seconds }, 'copy complete');
    return { step: 'copied', claim: updated };
  }
  // Nothing known in this process: start (or, after a restart, start over the partial copy).
  let paths: { source: string; target: string };
  let begun: 'fresh' | 'resumed';
  let what: string;
  if (clone.kind === 'PersistentVolumeClaim') {
    const source = deps.claims.get(clone.name, clone.namespace);
    if (source) await deps.writes.setClaimFinalizer(source, cloneSourceFinalizer, true);
    paths = await copyPaths(deps.store, clone.location, { share, location }); // the source is there
    begun = await beginCopy(deps.store, share, plan.intent, clone.location, owner);
    what = clone.location.subDir;
  } else {
    // The snapshot-controller's own finalizer keeps the VolumeSnapshot while a claim restores it.
    // A full copy of the snapshot's tree (no link to it): writes to the restore never reach a snapshot.
    paths = await restorePaths(deps.store, clone.snapshotHandle, { share, location });
    begun = await beginCopy(deps.store, share, plan.intent, { snapshotId: clone.snapshotHandle }, owner);
    what = `snapshot ${clone.snapshotHandle}`;
  }
  await deps.events.record(
    claimRef(claim),
    'Normal',
    'CloneStarted',
    `copying ${from} (${what}) into ${location.subDir}${begun === 'resumed' ? ', over a copy that was cut off' : ''}`,
  );
  deps.copies.submit(key, async () => {
    deps.metrics.copiesRunning.inc();
    try {
      return await deps.copier.copy(paths.source, paths.target, (bytes) =>
        deps.metrics.cloneBytes.inc(bytes),
      );
    } finally {
      deps.metrics.copiesRunning.dec();
    }
  });
  log.info({ from, begun }, 'copy started');
  return { step: 'copying' };
}

/** After a clone's PV exists (or its claim is gone): let the source go once no clone still copies it. */
export async function releaseCloneSource(
  deps: ReconcileDeps,
  claim: V1PersistentVolumeClaim,
  source: { namespace: string; name: string },
): Promise<void> {
  const held = deps.claims.get(source.name, source.namespace);
  if (!held?.metadata?.finalizers?.includes(cloneSourceFinalizer)) return;
  const others = deps.claims.list().filter((c) => c.metadata?.uid !== claim.metadata?.uid);
  if (sourceStillCopied(source, others, (c) => Boolean(deps.volumes.get(`pvc-${c.metadata?.uid}`)))) return;
  await deps.writes.setClaimFinalizer(held, cloneSourceFinalizer, false);
}
