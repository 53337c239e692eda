// Watches one kind of object on the bed and records, per name, when it was first seen, first
// seen Bound and seen deleted: the bench's clock, kept by one watch instead of polled lists.
import { setTimeout as sleep } from 'node:timers/promises';
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { pollUntil } from '../lib/poll.ts';

interface Watched {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { storageClassName?: string };
  status?: { phase?: string };
}

export interface Observer {
  /** performance.now() of the first sighting, by name. */
  seen: Map<string, number>;
  bound: Map<string, number>;
  /** First seen in phase Released (PVs). */
  released: Map<string, number>;
  gone: Map<string, number>;
  /** Waits until `done()` holds, logging `progress()` every 15 s; fails after timeoutMs (30 min). */
  until(what: string, done: () => boolean, progress: () => string, timeoutMs?: number): Promise<void>;
  stop(): void;
}

/**
 * path: a list path such as /api/v1/persistentvolumes; keep: which objects count (by class).
 * A watch that ends (the client closes one idle for 30 s) is started again from the last
 * resourceVersion, from scratch after a 410; 50 failed starts in a row fail the wait.
 */
export async function observe(
  kc: KubeConfig,
  path: string,
  keep: (obj: Watched) => boolean,
): Promise<Observer> {
  const seen = new Map<string, number>();
  const bound = new Map<string, number>();
  const released = new Map<string, number>();
  const gone = new Map<string, number>();
  const watch = new Watch(kc);
  let stopped = false;
  let resourceVersion: string | undefined;
  let abort: AbortController | undefined;
  let failure: Error | undefined;
  let restarts = 0;

  const onEvent = (type: string, obj: Watched) => {
    if (type === 'BOOKMARK' || type === 'ERROR') {
      if (type === 'ERROR') resourceVersion = undefined; // expired: start over
      return;
    }
    resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
    const name = obj.metadata?.name;
    if (!name || !keep(obj)) return;
    const now = performance.now();
    if (!seen.has(name)) seen.set(name, now);
    if (obj.status?.phase === 'Bound' && !bound.has(name)) bound.set(name, now);
    if (obj.status?.phase === 'Released' && !released.has(name)) released.set(name, now);
    if (type === 'DELETED' && !gone.has(name)) gone.set(name, now);
  };
  const giveUp = (err: unknown) => {
    failure = new Error(`bench: the watch on ${path} keeps failing: ${err ?? 'closed'}`);
  };
  const onDone = (err: unknown) => {
    if (stopped) return;
    if (err) restarts++;
    void sleep(restarts > 0 ? 200 : 0)
      .then(start)
      .catch(giveUp);
  };
  const start = async (): Promise<void> => {
    for (;;) {
      try {
        abort = await watch.watch(path, { resourceVersion, allowWatchBookmarks: true }, onEvent, onDone);
        restarts = 0;
        return;
      } catch (err) {
        if (stopped) return;
        if (++restarts > 50) throw err;
        await sleep(200);
      }
    }
  };
  await start();

  return {
    seen,
    bound,
    released,
    gone,
    async until(what, done, progress, timeoutMs = 1_800_000) {
      const ticker = setInterval(() => console.error(`[bench] waiting for ${what}: ${progress()}`), 15_000);
      try {
        await pollUntil(
          () => {
            if (failure) throw failure;
            return done();
          },
          { what, timeoutMs, intervalMs: 50, giveUpIf: () => failure?.message, detail: progress },
        );
      } finally {
        clearInterval(ticker);
      }
    },
    stop() {
      stopped = true;
      abort?.abort();
    },
  };
}
