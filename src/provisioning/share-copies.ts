// Clone copies in copy workers of their own, with a deadline on progress: a copy whose NFS server
// stops answering ties up its own shares' copy worker, never the controller's process.
//
// Why a copy worker per set of shares, apart from the share's worker (share-lanes.ts):
// - A copy is long (minutes, hours). In the share's own worker it would sit between the share's
//   ordinary calls and their deadlines; in its own process it leaves them alone.
// - A copy touches two shares when its source is on another one. Its worker is keyed by the set of
//   shares it touches ("a" alone, or "a + b"), so a frozen share stops the copies that touch it and
//   no other copy: a copy within b never waits on a.
// - Copies touching the same shares share one worker and run at once in it (its own libuv pool):
//   how many run at once is the copy lane's business (--copy-workers in the claim watcher).
//   A worker with no copy left ends after idleMs; the next copy starts one (a Node start, seconds).
// The deadline is about progress, not time: the worker reports bytes written and file system calls
// started (share-copy-worker-main.ts). No report for suspectAfterMs: the copy's shares are probed
// in their lanes (a frozen share is written off there, with its gauge and Warning Events). A share
// that does not answer, or no progress at all for stallDeadlineMs, ends the worker (SIGKILL) and
// fails its copies with Unavailable, which callers retry with backoff like every share lane error.
// At most one stuck worker per set of shares: a new copy fails fast until the killed one is gone.
import { unavailable, type WarrenError } from '../errors.ts';
import type { ShareLanes, ShareWorker } from './share-lanes.ts';
import type { CopyOptions, CopyStats, TreeCopier } from './tree-copy.ts';

/** What the copier asks of a copy worker; the real one is a child process (share-worker-process.ts). */
export interface CopyWorker extends ShareWorker {
  /** `onBytes` hears the bytes the call writes (its progress reports). */
  call(op: string, args: unknown[], onBytes?: (bytes: number) => void): Promise<unknown>;
  /** Called at each progress report of the worker (it is doing file system work). */
  onProgress(listener: () => void): void;
}

export interface CopyTimings {
  /** A worker must be ready within this. */
  startDeadlineMs: number;
  /** No progress for this long: the copy's shares are probed. */
  suspectAfterMs: number;
  /** No progress for this long, whatever the probes say: the worker is stuck. */
  stallDeadlineMs: number;
  /** A worker with no copy ends after this. */
  idleMs: number;
}

export const defaultCopyTimings: CopyTimings = {
  startDeadlineMs: 60_000,
  suspectAfterMs: 5_000,
  stallDeadlineMs: 120_000,
  idleMs: 30_000,
};

export interface ShareCopier extends TreeCopier {
  /** The keys (sets of shares) of the copy workers alive now. */
  workers(): string[];
  /** Ends every copy worker; running and later copies fail with Unavailable. */
  close(): Promise<void>;
}

export interface ShareCopierOptions {
  lanes: Pick<ShareLanes, 'shareOf' | 'probeShareOf' | 'states'>;
  startWorker: (key: string) => CopyWorker;
  timings?: Partial<CopyTimings>;
  /** Milliseconds, for the progress clock. */
  now?: () => number;
}

interface Pending {
  reject(err: Error): void;
}

interface CopyLane {
  key: string;
  /** A path on each share of the key, to probe it by. */
  roots: Map<string, string>;
  worker: CopyWorker;
  pending: Set<Pending>;
  ready: boolean;
  lastProgress: number;
  lastProbe: number;
  probing: boolean;
  timers: NodeJS.Timeout[];
  idle?: NodeJS.Timeout;
}

export function createShareCopier(opts: ShareCopierOptions): ShareCopier {
  const t: CopyTimings = { ...defaultCopyTimings, ...opts.timings };
  const now = opts.now ?? (() => performance.now());
  const lanes = new Map<string, CopyLane>();
  /** Keys whose stuck worker was killed but has not ended yet. */
  const ending = new Map<string, Promise<void>>();
  let closed = false;

  function stop(lane: CopyLane): Promise<void> {
    if (lanes.get(lane.key) === lane) lanes.delete(lane.key);
    for (const timer of lane.timers) clearTimeout(timer);
    clearTimeout(lane.idle);
    return lane.worker.abandon();
  }

  function writeOff(lane: CopyLane, reason: string): void {
    if (lanes.get(lane.key) !== lane) return;
    const failed = unavailable(
      `the copy on ${describe(lane.key)} stopped: ${reason}. Warren ended its copy worker ` +
        'and starts the copy again by itself once the NFS server answers',
    );
    for (const p of lane.pending) p.reject(failed);
    lane.pending.clear();
    const gone = stop(lane);
    ending.set(lane.key, gone);
    void gone.then(() => {
      if (ending.get(lane.key) === gone) ending.delete(lane.key);
    });
  }

  function check(lane: CopyLane): void {
    if (!lane.ready || lane.pending.size === 0) return;
    const quiet = now() - lane.lastProgress;
    if (quiet >= t.stallDeadlineMs) {
      writeOff(lane, `no progress for ${seconds(t.stallDeadlineMs)}`);
      return;
    }
    if (quiet < t.suspectAfterMs || lane.probing || now() - lane.lastProbe < t.suspectAfterMs) return;
    lane.probing = true;
    lane.lastProbe = now();
    void Promise.all(
      [...lane.roots].map(async ([share, root]) => ({ share, ...(await opts.lanes.probeShareOf(root)) })),
    ).then((results) => {
      lane.probing = false;
      const down = results.find((r) => !r.ok);
      if (down && now() - lane.lastProgress >= t.suspectAfterMs) {
        // A share its lane wrote off says why in a few words; the probe's own detail repeats the lane's error.
        const state = opts.lanes.states().find((s) => s.share === down.share && !s.available);
        const why = state?.reason || down.detail;
        writeOff(lane, `share ${down.share} does not answer (${why}) and the copy made no progress`);
      }
    });
  }

  function laneFor(key: string, roots: Map<string, string>): CopyLane {
    const known = lanes.get(key);
    if (known) return known;
    const worker = opts.startWorker(key);
    const lane: CopyLane = {
      key,
      roots,
      worker,
      pending: new Set(),
      ready: false,
      lastProgress: now(),
      lastProbe: 0,
      probing: false,
      timers: [],
    };
    lanes.set(key, lane);
    worker.onExit((why) => writeOff(lane, `its copy worker ended (${why})`));
    worker.onProgress(() => {
      lane.lastProgress = now();
    });
    const started = setTimeout(
      () => writeOff(lane, `its copy worker did not start within ${seconds(t.startDeadlineMs)}`),
      t.startDeadlineMs,
    );
    lane.timers.push(
      started,
      setInterval(() => check(lane), Math.max(50, t.suspectAfterMs / 4)),
    );
    for (const timer of lane.timers) timer.unref();
    void worker.ready.then(() => {
      clearTimeout(started);
      lane.ready = true;
      lane.lastProgress = now();
    });
    return lane;
  }

  function settled(lane: CopyLane): void {
    if (lane.pending.size > 0 || lanes.get(lane.key) !== lane) return;
    clearTimeout(lane.idle);
    lane.idle = setTimeout(() => {
      if (lane.pending.size === 0) void stop(lane);
    }, t.idleMs);
    lane.idle.unref();
  }

  return {
    copy(source, target, onBytes, options?: CopyOptions) {
      if (closed) return Promise.reject(unavailable('share I/O is shut down'));
      const roots = new Map([
        [opts.lanes.shareOf(target), target],
        [opts.lanes.shareOf(source), source],
      ]);
      const shares = [...roots.keys()].sort();
      for (const state of opts.lanes.states()) {
        if (shares.includes(state.share) && !state.available) {
          return Promise.reject(
            unavailable(
              `share ${state.share} is not answering: ${state.reason}. The copy waits; Warren starts it by itself once the NFS server answers`,
            ),
          );
        }
      }
      const key = shares.join(' + ');
      if (ending.has(key)) {
        return Promise.reject(
          unavailable(
            `the copy worker of ${describe(key)} that stopped making progress has not ended yet (its NFS server does not answer); Warren tries again by itself`,
          ),
        );
      }
      const lane = laneFor(key, roots);
      if (lane.pending.size === 0) lane.lastProgress = now(); // an idle worker made no progress to make
      clearTimeout(lane.idle);
      return new Promise<CopyStats>((resolve, reject) => {
        const entry: Pending = { reject };
        lane.pending.add(entry);
        lane.worker.call('copy', [source, target, options ?? {}], onBytes).then(
          (stats) => {
            if (!lane.pending.delete(entry)) return;
            resolve(stats as CopyStats);
            settled(lane);
          },
          (err: WarrenError) => {
            if (!lane.pending.delete(entry)) return;
            reject(err);
            settled(lane);
          },
        );
      });
    },
    workers: () => [...lanes.keys()],
    async close() {
      closed = true;
      const all = [...lanes.values()];
      for (const lane of all) {
        for (const p of lane.pending) p.reject(unavailable('share I/O is shut down'));
        lane.pending.clear();
      }
      // A stuck worker is killed; its exit is not waited for beyond that (it may be in the kernel).
      await Promise.all(all.map((l) => Promise.race([stop(l), new Promise((r) => setTimeout(r, 1_000))])));
    },
  };
}

function describe(key: string): string {
  return key.includes(' + ') ? `shares ${key}` : `share ${key}`;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
