// Every reconcile's retry is counted once, here, in warren_retries_total.
import { errorKind } from '../errors.ts';
import { errorMessage } from '../text.ts';
import type { ReconcileDeps } from './deps.ts';
import { retryFor } from './report-failure.ts';
import type { Outcome } from './work-queue.ts';

/**
 * Runs one reconcile and counts its retry. A throw that escaped the reconcile (an API write
 * outside its own error handling) is logged and retried here too, instead of reaching the work
 * queue silently and uncounted.
 */
export async function countRetries(
  metrics: ReconcileDeps['metrics'],
  log: ReconcileDeps['log'],
  reconcile: () => Promise<Outcome>,
): Promise<Outcome> {
  let outcome: Outcome;
  try {
    outcome = await reconcile();
  } catch (err) {
    log.warn({ err: errorMessage(err), kind: errorKind(err) }, 'reconcile failed; will retry');
    outcome = retryFor(err);
  }
  if (outcome !== 'done') metrics.retries.inc({ kind: outcome === 'retry-slow' ? 'slow' : 'fast' });
  return outcome;
}
