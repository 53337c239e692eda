// The informer (kube/informer.ts) reports a failed list or watch once and stops. This wrapper
// restarts it with backoff, counts restarts, and says when the first list has completed.
import type { Informer, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { type Backoff, backoffDelay } from './work-queue.ts';

export interface ResilientInformer<T> {
  cache: ObjectCache<T>;
  /** True once the first list has been received. */
  synced(): boolean;
  /** Resolves once the first list has been received. */
  waitSynced(): Promise<void>;
  stop(): Promise<void>;
}

export function startResilientInformer<T extends KubernetesObject>(opts: {
  name: string;
  informer: Informer<T> & ObjectCache<T>;
  onChange: (obj: T) => void;
  /** Also called, after onChange, when an object is deleted (or found gone on a relist). */
  onDelete?: (obj: T) => void;
  log: Logger;
  backoff?: Backoff;
  onRestart?: () => void;
  sleep?: (ms: number) => Promise<void>;
}): ResilientInformer<T> {
  const { informer, log, name } = opts;
  const backoff = opts.backoff ?? { baseMs: 500, maxMs: 30_000 };
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  let stopped = false;
  let isSynced = false;
  let failures = 0;
  let restarting = false;
  // The informer reports list/watch failures through 'error' callbacks, not by rejecting start().
  let errorsSeen = 0;
  let markSynced: () => void = () => {};
  const syncedPromise = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, opts.onChange);
  if (opts.onDelete) informer.on('delete', opts.onDelete);
  informer.on('error', (err) => {
    if (stopped) return; // stop() aborts the watch; that is not a failure
    errorsSeen += 1;
    log.warn({ informer: name, err: describe(err) }, 'watch failed; restarting the informer');
    void restart();
  });

  async function restart(): Promise<void> {
    if (restarting || stopped) return;
    restarting = true;
    try {
      while (!stopped) {
        failures += 1;
        opts.onRestart?.();
        await sleep(backoffDelay(backoff, failures));
        if (stopped) return;
        try {
          if (await startedCleanly()) {
            log.info({ informer: name, attempt: failures }, 'informer restarted');
            return;
          }
        } catch (err) {
          log.warn({ informer: name, err: describe(err), attempt: failures }, 'informer restart failed');
        }
      }
    } finally {
      restarting = false;
    }
  }

  /** Starts (or restarts) the informer; true when its list and watch began without an error. */
  async function startedCleanly(): Promise<boolean> {
    const before = errorsSeen;
    await informer.start();
    if (errorsSeen !== before) return false;
    // Reset only here: the informer reports 'connect' before it lists, so a failing list would
    // otherwise reset the backoff on every attempt.
    failures = 0;
    isSynced = true;
    markSynced();
    return true;
  }

  void startedCleanly().then(
    (ok) => {
      if (!ok) void restart();
    },
    (err) => {
      log.warn({ informer: name, err: describe(err) }, 'first list failed; retrying');
      void restart();
    },
  );

  return {
    cache: informer,
    synced: () => isSynced,
    waitSynced: () => syncedPromise,
    stop: async () => {
      stopped = true;
      await informer.stop();
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'object' ? JSON.stringify(err) : String(err);
}
