// How a reconcile's outcome becomes a retry: slow for what a user must fix, fast for the rest,
// and counted once, here, in warren_retries_total.
import { errorKind, isConfigurationError } from '../errors.ts';
import type { ReconcileDeps } from './deps.ts';
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

/** Errors a user must fix come back slowly, transient ones soon. */
export function retryFor(err: unknown): Outcome {
  return isConfigurationError(err) ? 'retry-slow' : 'retry-fast';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
