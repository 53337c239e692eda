// The one failure reporter of both reconcilers: metric, Warning Event (unless errors.ts's table
// says the kind tells the user nothing), log line, and the retry class from the same table.
import type { V1ObjectReference } from '@kubernetes/client-node';
import { errorKind, rulesFor } from '../errors.ts';
import { errorMessage } from '../text.ts';
import type { ReconcileDeps } from './deps.ts';
import type { Outcome } from './work-queue.ts';

/** What failed, with what it is counted as and the Event reason it is reported under. */
export type FailedStep =
  | { operation: 'provision' }
  | { operation: 'release'; onDelete: string }
  | { operation: 'resize' }
  /** A VolumeSnapshotContent: taking its snapshot, checking a pre-provisioned one, or deleting it. */
  | { operation: 'snapshot'; action: 'take' | 'verify' | 'delete' }
  /** Cleaning up after a claim deleted mid-provisioning: logged and retried, no Event or metric. */
  | { operation: 'abandon' };

const eventReasons = {
  provision: 'ProvisioningFailed',
  release: 'VolumeFailedDelete',
  resize: 'VolumeResizeFailed',
} as const;
/** csi-snapshotter's reasons, so `kubectl describe volumesnapshotcontent` reads the same. */
const snapshotReasons = {
  take: 'SnapshotCreationFailed',
  verify: 'SnapshotContentCheckandUpdateFailed',
  delete: 'SnapshotDeleteError',
} as const;
/**
 * What the Event adds so that `kubectl describe` tells the whole story: whether and when Warren
 * tries again (the work queue's backoffs in run-controller.ts: fast 0.25-30 s, slow 15 s-5 min).
 */
export const retryNotes = {
  fast: 'Warren retries automatically within 30 s',
  slow: 'Warren retries with growing pauses, at most 5 minutes apart, until this is fixed',
} as const;

/** The Event text for a failure: what happened and what to change (the error's own words), then the retry. */
export const failureText = (err: unknown): string =>
  `${errorMessage(err).replace(/[.\s]+$/, '')}. ${retryNotes[rulesFor(err).retry]}`;

const logLines = {
  provision: 'provisioning failed; will retry',
  release: 'release failed; will retry',
  resize: 'resize failed; will retry',
  snapshot: 'snapshot operation failed; will retry',
  abandon: 'could not clean up after a deleted claim; will retry',
} as const;

export async function reportFailure(
  deps: Pick<ReconcileDeps, 'events' | 'metrics'>,
  log: ReconcileDeps['log'],
  input: { step: FailedStep; object: V1ObjectReference; err: unknown; startedMs?: number },
): Promise<Outcome> {
  const { step, object, err } = input;
  const seconds = input.startedMs === undefined ? undefined : (performance.now() - input.startedMs) / 1000;
  const rules = rulesFor(err);
  if (step.operation === 'provision') {
    deps.metrics.provisions.inc({ result: 'failed' });
    if (seconds !== undefined) deps.metrics.provisionSeconds.observe({ result: 'failed' }, seconds);
  } else if (step.operation === 'release') {
    deps.metrics.releases.inc({ action: step.onDelete, result: 'failed' });
  } else if (step.operation === 'resize') {
    deps.metrics.resizes.inc({ result: 'failed' });
  } else if (step.operation === 'snapshot') {
    deps.metrics.snapshots.inc({ operation: step.action, result: 'failed' });
  }
  if (step.operation !== 'abandon' && rules.warn) {
    const reason =
      step.operation === 'snapshot' ? snapshotReasons[step.action] : eventReasons[step.operation];
    await deps.events.record(object, 'Warning', reason, failureText(err));
  }
  log.warn({ err: errorMessage(err), kind: errorKind(err) }, logLines[step.operation]);
  return retryFor(err);
}

/** The retry class errors.ts's table gives the error's kind. */
export function retryFor(err: unknown): Outcome {
  return rulesFor(err).retry === 'slow' ? 'retry-slow' : 'retry-fast';
}
