// The lane clones are copied in: at most `concurrency` copies at once, apart from the work queue's
// workers, so a long copy never holds a worker an ordinary claim needs. A settled copy re-queues
// its claim, whose reconcile then takes the result.
import type { CopyStats } from '../provisioning/tree-copy.ts';

/** A copy's state; `stats` is what the copy returned (a clone's CopyStats, a snapshot's SnapshotInfo). */
export type CopyState<R = CopyStats> =
  | { state: 'queued' | 'running' }
  | { state: 'done'; stats: R; seconds: number }
  | { state: 'failed'; error: unknown };

export interface CopyLane<R = CopyStats> {
  /** The copy of `key`, if the lane knows one. */
  peek(key: string): CopyState<R> | undefined;
  /** Starts (or queues) the copy of `key`; a key already known is left as it is. */
  submit(key: string, copy: () => Promise<R>): void;
  /** Forgets a settled copy once its result is used. */
  forget(key: string): void;
  readonly running: number;
}

export function makeCopyLane<R = CopyStats>(options: {
  concurrency: number;
  onSettled: (key: string) => void;
}): CopyLane<R> {
  const states = new Map<string, CopyState<R>>();
  const waiting: Array<{ key: string; copy: () => Promise<R> }> = [];
  let running = 0;

  function next(): void {
    while (running < options.concurrency && waiting.length > 0) {
      const job = waiting.shift() as (typeof waiting)[number];
      running++;
      states.set(job.key, { state: 'running' });
      const started = performance.now();
      void job
        .copy()
        .then(
          (stats) =>
            states.set(job.key, { state: 'done', stats, seconds: (performance.now() - started) / 1000 }),
          (error: unknown) => states.set(job.key, { state: 'failed', error }),
        )
        .finally(() => {
          running--;
          options.onSettled(job.key);
          next();
        });
    }
  }

  return {
    peek: (key) => states.get(key),
    submit(key, copy) {
      if (states.has(key)) return;
      states.set(key, { state: 'queued' });
      waiting.push({ key, copy });
      next();
    },
    forget(key) {
      const s = states.get(key)?.state;
      if (s === 'done' || s === 'failed') states.delete(key);
    },
    get running() {
      return running;
    },
  };
}
