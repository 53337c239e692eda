// One lane per share: its I/O runs in a worker of its own with deadlines, and a share that stops
// answering is written off (its worker abandoned) so that it holds one stuck operation, not one per call.
import { unavailable, type WarrenError } from '../errors.ts';
import type { ShareMount } from './types.ts';

/** What a lane asks of a worker; the real one is a child process (share-worker-process.ts). */
export interface ShareWorker {
  /** Resolves once the worker takes calls; deadlines start only then (starting Node takes seconds on a slow machine). */
  ready: Promise<void>;
  /** Runs one operation; rejects with a WarrenError for what the operation itself refused. */
  call(op: string, args: unknown[]): Promise<unknown>;
  /** Never used again: ends the worker; resolves once it is gone (its stuck call returned or was killed). */
  abandon(): Promise<void>;
  /** Called once if the worker ends on its own (a crash). */
  onExit(listener: (why: string) => void): void;
}

/** The answer of the `probe` operation: does the share root answer, and is it a directory? */
export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export interface LaneTimings {
  /** A worker must be ready within this. */
  startDeadlineMs: number;
  /** A call still running after this long makes the lane probe its share at once. */
  suspectAfterMs: number;
  /** A probe (statfs and stat of the root, a round trip to the server) must answer within this. */
  probeDeadlineMs: number;
  /** Any other operation must answer within this... */
  callDeadlineMs: number;
  /** ...except removing a volume's tree, which may take long on a healthy share. */
  removeDeadlineMs: number;
  /** While written off, the lane probes again after this, doubling up to retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
}

export const defaultLaneTimings: LaneTimings = {
  startDeadlineMs: 60_000,
  suspectAfterMs: 2_000,
  probeDeadlineMs: 5_000,
  callDeadlineMs: 60_000,
  removeDeadlineMs: 600_000,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
};

export interface LaneState {
  share: string;
  available: boolean;
  /** Why the share is written off (empty while available). */
  reason: string;
  since: Date;
}

export interface ShareLanes {
  /** Runs `op` in the lane of the share holding `root`; fails fast with Unavailable while it is written off. */
  run(root: string, op: string, args: unknown[]): Promise<unknown>;
  /** statfs and stat of `root` in its share's lane (a written-off share answers false at once). */
  probe(root: string): Promise<ProbeResult>;
  /** Probes the mount point of the share holding `root` (a written-off share answers false at once). */
  probeShareOf(root: string): Promise<ProbeResult>;
  /** The share label (`server:/export`) whose lane serves `root`. */
  shareOf(root: string): string;
  states(): LaneState[];
  /** Abandons every worker; later calls fail. */
  close(): Promise<void>;
}

export interface ShareLanesOptions {
  shares: readonly ShareMount[];
  startWorker: (share: string) => ShareWorker;
  timings?: Partial<LaneTimings>;
  onChange?: (state: LaneState) => void;
  now?: () => Date;
}

/** Roots outside every configured share (never used by the controller) share one lane. */
const otherLane = 'unconfigured';

interface Pending {
  reject(err: Error): void;
}

interface Lane {
  share: string;
  localDir: string;
  /** What the lane's probes stat: the share's mount point. */
  probeRoot: string;
  worker?: ShareWorker;
  /** Calls running in the current worker. */
  pending: Set<Pending>;
  state: LaneState;
  /** The probe running in the lane's worker, which later probes share. */
  probing?: Promise<ProbeResult>;
  recovering: boolean;
}

export function createShareLanes(opts: ShareLanesOptions): ShareLanes {
  const t: LaneTimings = { ...defaultLaneTimings, ...opts.timings };
  const now = opts.now ?? (() => new Date());
  const lanes = new Map<string, Lane>();
  let closed = false;
  const mounts = [...opts.shares].sort((a, b) => b.localDir.length - a.localDir.length);

  function laneFor(root: string): Lane {
    const mount = mounts.find(
      (m) => root === m.localDir || root.startsWith(`${m.localDir.replace(/\/$/, '')}/`),
    );
    const share = mount ? `${mount.server}:${mount.share}` : otherLane;
    let lane = lanes.get(share);
    if (!lane) {
      lane = {
        share,
        localDir: mount?.localDir ?? '',
        probeRoot: mount?.localDir ?? root,
        pending: new Set(),
        state: { share, available: true, reason: '', since: now() },
        recovering: false,
      };
      lanes.set(share, lane);
    }
    return lane;
  }

  function describe(lane: Lane): string {
    return lane.localDir ? `share ${lane.share} (mounted at ${lane.localDir})` : 'an unconfigured share root';
  }

  function setState(lane: Lane, available: boolean, reason: string): void {
    if (lane.state.available === available && lane.state.reason === reason) return;
    lane.state = { share: lane.share, available, reason, since: now() };
    opts.onChange?.(lane.state);
  }

  function workerOf(lane: Lane): ShareWorker {
    if (lane.worker) return lane.worker;
    const worker = opts.startWorker(lane.share);
    lane.worker = worker;
    worker.onExit((why) => {
      if (lane.worker === worker) writeOff(lane, `its worker ended (${why})`);
    });
    const started = setTimeout(() => {
      if (lane.worker === worker)
        writeOff(lane, `its worker did not start within ${seconds(t.startDeadlineMs)}`);
    }, t.startDeadlineMs);
    started.unref();
    void worker.ready.then(() => clearTimeout(started));
    return worker;
  }

  function downError(lane: Lane): WarrenError {
    return unavailable(
      `${describe(lane)} is not answering: ${lane.state.reason}. Warren sends it no work meanwhile ` +
        `and carries on by itself once the NFS server answers again (written off at ${lane.state.since.toISOString()})`,
    );
  }

  /** Abandons the lane's worker, fails its calls, and probes with backoff until the share answers. */
  function writeOff(lane: Lane, reason: string): void {
    const worker = lane.worker;
    lane.worker = undefined;
    setState(lane, false, reason);
    const failed = downError(lane);
    for (const p of lane.pending) p.reject(failed);
    lane.pending.clear();
    if (lane.recovering) void worker?.abandon();
    else void recover(lane, worker);
  }

  async function recover(lane: Lane, abandoned: ShareWorker | undefined): Promise<void> {
    lane.recovering = true;
    // The abandoned worker is the share's one stuck operation: no second one starts before it is gone.
    await abandoned?.abandon();
    let delay = t.retryBaseMs;
    while (!closed) {
      const worker = workerOf(lane);
      // No deadline here: this probe is the one operation the share holds, and it returns as
      // soon as the server answers (or the worker dies, which starts the loop over).
      const result = await callIn(lane, worker, 'probe', [lane.probeRoot], 0).then(
        (r) => r as ProbeResult,
        (err: Error) => ({ ok: false, detail: err.message }),
      );
      if (closed) break;
      if (result.ok && lane.worker === worker) {
        lane.recovering = false;
        setState(lane, true, '');
        return;
      }
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(t.retryMaxMs, delay * 2);
    }
    lane.recovering = false;
  }

  /** One call in `worker`, failed at its deadline (0: none) by writing the lane off. */
  function callIn(lane: Lane, worker: ShareWorker, op: string, args: unknown[], deadlineMs: number) {
    return new Promise<unknown>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const entry: Pending = {
        reject: (err) => {
          settle();
          reject(err);
        },
      };
      const settle = () => {
        for (const timer of timers) clearTimeout(timer);
        lane.pending.delete(entry);
      };
      lane.pending.add(entry);
      // Deadlines count from the moment the worker can take the call, not from its start.
      void worker.ready.then(() => {
        if (!lane.pending.has(entry)) return;
        if (deadlineMs > 0) {
          timers.push(
            setTimeout(() => {
              if (lane.worker === worker) writeOff(lane, `${op} took longer than ${seconds(deadlineMs)}`);
            }, deadlineMs),
          );
          if (op !== 'probe' && deadlineMs > t.suspectAfterMs) {
            timers.push(setTimeout(() => void probeLane(lane), t.suspectAfterMs));
          }
        }
        worker.call(op, args).then(
          (value) => {
            if (!lane.pending.has(entry)) return;
            settle();
            resolve(value);
          },
          (err: unknown) => {
            if (!lane.pending.has(entry)) return;
            settle();
            reject(err);
          },
        );
      });
    });
  }

  /** One probe of the mount point at a time per lane; a probe that misses its deadline writes the lane off. */
  function probeLane(lane: Lane, root = lane.probeRoot): Promise<ProbeResult> {
    if (!lane.state.available) return Promise.resolve({ ok: false, detail: lane.state.reason });
    const shared = root === lane.probeRoot;
    if (shared && lane.probing) return lane.probing;
    const probe = callIn(lane, workerOf(lane), 'probe', [root], t.probeDeadlineMs).then(
      (r) => r as ProbeResult,
      (err: Error) => ({ ok: false, detail: err.message }),
    );
    if (!shared) return probe;
    lane.probing = probe;
    void probe.then(() => {
      if (lane.probing === probe) lane.probing = undefined;
    });
    return probe;
  }

  return {
    run(root, op, args) {
      if (closed) return Promise.reject(unavailable('share I/O is shut down'));
      const lane = laneFor(root);
      if (!lane.state.available) return Promise.reject(downError(lane));
      const deadline =
        op === 'removeDirectory' || op === 'removeSnapshotEntry' ? t.removeDeadlineMs : t.callDeadlineMs;
      return callIn(lane, workerOf(lane), op, args, deadline);
    },
    async probe(root) {
      if (closed) return { ok: false, detail: 'share I/O is shut down' };
      return probeLane(laneFor(root), root);
    },
    async probeShareOf(root) {
      if (closed) return { ok: false, detail: 'share I/O is shut down' };
      return probeLane(laneFor(root));
    },
    shareOf: (root) => laneFor(root).share,
    states: () => [...lanes.values()].map((l) => l.state),
    async close() {
      closed = true;
      const workers = [...lanes.values()].flatMap((l) => (l.worker ? [l.worker] : []));
      for (const lane of lanes.values()) {
        lane.worker = undefined;
        for (const p of lane.pending) p.reject(unavailable('share I/O is shut down'));
        lane.pending.clear();
      }
      // A stuck worker is killed; its exit is not waited for beyond that (it may be in the kernel).
      await Promise.all(
        workers.map((w) => Promise.race([w.abandon(), new Promise((r) => setTimeout(r, 1_000))])),
      );
    },
  };
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
