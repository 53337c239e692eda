// Carries out the plan for one VolumeSnapshotContent (snapshot-plan.ts decides everything): take
// its snapshot in the snapshot lane and report it, verify a pre-provisioned one, or delete it and
// let the content go. A failure is written to the content's status.error and reported as an Event.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { failedPrecondition, rulesFor } from '../errors.ts';
import { deleteSnapshot, findSnapshot, takeSnapshot } from '../provisioning/snapshots.ts';
import { errorMessage, quote } from '../text.ts';
import type { ReconcileDeps, SnapshotApi } from './deps.ts';
import { contentKey } from './queue-keys.ts';
import { reportFailure } from './report-failure.ts';
import { countRetries } from './retries.ts';
import type { VolumeSnapshotContent } from './snapshot-objects.ts';
import { type ContentPlan, contentRef, planContent, readyStatus } from './snapshot-plan.ts';
import type { Outcome } from './work-queue.ts';

type Log = ReconcileDeps['log'];
type Plan<A extends ContentPlan['action']> = Extract<ContentPlan, { action: A }>;

export async function reconcileContent(deps: ReconcileDeps, name: string): Promise<Outcome> {
  const api = deps.snapshotApi;
  const content = api?.contents.get(name);
  if (!api || !content) return 'done';
  const className = content.spec?.volumeSnapshotClassName;
  const handle = content.spec?.source?.volumeHandle;
  const plan = planContent({
    content,
    snapshotClass: className ? api.classes.get(className) : undefined,
    provisioner: deps.provisioner,
    sourceVolume: handle ? volumeWithHandle(deps.volumes.list(), handle) : undefined,
  });
  const log = deps.log.child({ content: name, action: plan.action });
  return countRetries(deps.metrics, log, async () => {
    switch (plan.action) {
      case 'ignore':
        log.debug({ reason: plan.reason }, 'nothing to do');
        return 'done';
      case 'fail':
        return fail(deps, api, content, 'take', plan.error, log);
      case 'finish-create':
        await api.writes.markCreating(content, false);
        return 'done';
      case 'take':
        return take(deps, api, content, plan, log);
      case 'verify':
        return verify(deps, api, content, plan, log);
      case 'release':
        return release(deps, api, content, plan, log);
    }
  });
}

const volumeWithHandle = (volumes: readonly V1PersistentVolume[], handle: string) =>
  volumes.find((pv) => pv.spec?.csi?.volumeHandle === handle);

/**
 * Marks the content being-created, takes the snapshot in the lane (a restarted controller takes it
 * again: the core finishes or starts over), and once the lane has it, writes the ready status.
 */
async function take(
  deps: ReconcileDeps,
  api: SnapshotApi,
  content: VolumeSnapshotContent,
  plan: Plan<'take'>,
  log: Log,
): Promise<Outcome> {
  const key = contentKey(content.metadata?.name ?? '');
  const state = api.lane.peek(key);
  if (state?.state === 'queued' || state?.state === 'running') return 'done';
  if (state?.state === 'failed') {
    api.lane.forget(key);
    return fail(deps, api, content, 'take', state.error, log);
  }
  if (state?.state === 'done') {
    api.lane.forget(key);
    const info = state.stats;
    await api.writes.patchContentStatus(content, readyStatus(info));
    deps.crashPoint('after-snapshot-status', content.metadata?.name ?? '');
    await api.writes.markCreating(content, false);
    deps.metrics.snapshots.inc({ operation: 'take', result: 'success' });
    log.info(
      {
        snapshotId: info.snapshotId,
        sizeBytes: info.sizeBytes,
        storedBytes: info.storedBytes,
        files: info.files,
        linkedFiles: info.linkedFiles,
        basedOn: info.basedOn,
        seconds: state.seconds,
      },
      'snapshot taken',
    );
    return 'done';
  }
  // Nothing known in this process: start (after a restart, the core redoes a cut-off copy).
  if (plan.markCreating) await api.writes.markCreating(content, true);
  api.lane.submit(key, () =>
    takeSnapshot(
      { store: deps.store, copier: deps.copier, now: deps.now },
      { name: plan.name, source: plan.source, onBytes: (bytes) => deps.metrics.snapshotBytes.inc(bytes) },
    ),
  );
  log.info({ name: plan.name, source: plan.source.location }, 'snapshot started');
  return 'done';
}

/** A pre-provisioned content: its snapshot must exist, complete, on a share this controller serves. */
async function verify(
  deps: ReconcileDeps,
  api: SnapshotApi,
  content: VolumeSnapshotContent,
  plan: Plan<'verify'>,
  log: Log,
): Promise<Outcome> {
  try {
    const info = await findSnapshot(deps.store, plan.snapshotHandle);
    if (!info) {
      throw failedPrecondition(
        `snapshot ${quote(plan.snapshotHandle)} does not exist (or is not complete); fix spec.source.snapshotHandle`,
      );
    }
    await api.writes.patchContentStatus(content, readyStatus(info));
    deps.metrics.snapshots.inc({ operation: 'verify', result: 'success' });
    log.info({ snapshotId: info.snapshotId, sizeBytes: info.sizeBytes }, 'pre-provisioned snapshot verified');
    return 'done';
  } catch (err) {
    return fail(deps, api, content, 'verify', err, log);
  }
}

/** Delete the snapshot (deletionPolicy Delete), clear the status, drop the finalizer. */
async function release(
  deps: ReconcileDeps,
  api: SnapshotApi,
  content: VolumeSnapshotContent,
  plan: Plan<'release'>,
  log: Log,
): Promise<Outcome> {
  try {
    let current: VolumeSnapshotContent | undefined = content;
    if (plan.deleteSnapshot) {
      const outcome = await deleteSnapshot(deps.store, plan.deleteSnapshot);
      if (typeof outcome === 'object') {
        throw failedPrecondition(
          `snapshot ${quote(plan.deleteSnapshot)} is not one Warren took (${outcome.notOurs}); it is left in place`,
        );
      }
      deps.metrics.snapshots.inc({ operation: 'delete', result: 'success' });
      log.info({ snapshotId: plan.deleteSnapshot, outcome }, 'snapshot deleted');
    }
    if (plan.clearStatus) {
      current = await api.writes.patchContentStatus(content, {
        snapshotHandle: null,
        readyToUse: null,
        creationTime: null,
        restoreSize: null,
      });
    }
    if (plan.removeFinalizer && current) await api.writes.removeContentFinalizer(current);
    return 'done';
  } catch (err) {
    return fail(deps, api, content, 'delete', err, log);
  }
}

/** The failure on the content (status.error, not ready) and through the one reporter (Event, metric, retry). */
async function fail(
  deps: ReconcileDeps,
  api: SnapshotApi,
  content: VolumeSnapshotContent,
  action: 'take' | 'verify' | 'delete',
  err: unknown,
  log: Log,
): Promise<Outcome> {
  if (action !== 'delete') {
    try {
      await api.writes.patchContentStatus(content, {
        readyToUse: false,
        error: { time: deps.now().toISOString(), message: errorMessage(err).slice(0, 1024) },
      });
    } catch (writeErr) {
      log.warn({ err: errorMessage(writeErr) }, 'could not write the error to the content status');
    }
  }
  // As csi-snapshotter: after a final error the content may be deleted meanwhile; a transient one keeps it.
  if (action === 'take' && rulesFor(err).retry === 'slow') {
    await api.writes.markCreating(content, false).catch(() => undefined);
  }
  return reportFailure(deps, log, {
    step: { operation: 'snapshot', action },
    object: contentRef(content),
    err,
  });
}
