// Lane and deadline rules, with fake workers whose share can be frozen: a frozen share costs one
// stuck operation, fails later calls fast, never slows the other share, and recovers by itself.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WarrenError } from '../../src/errors.ts';
import { createShareLanes, type LaneState, type ShareWorker } from '../../src/provisioning/share-lanes.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

interface FakeServer {
  frozen: boolean;
  /** A worker stuck on this server survives SIGKILL until it thaws (an unkillable wait). */
  unkillable: boolean;
  /** Probes answer not-ok (the export is not mounted) while set. */
  unmounted: boolean;
  /** Workers take this long to become ready (Number.POSITIVE_INFINITY: never). */
  startMs: number;
  parked: Array<() => void>;
}

interface FakeWorker extends ShareWorker {
  share: string;
  ops: string[];
  abandoned: boolean;
  exited: boolean;
  crash(why: string): void;
}

function fakeFleet(shares: string[]) {
  const servers = new Map<string, FakeServer>(
    shares.map((s) => [s, { frozen: false, unkillable: false, unmounted: false, startMs: 0, parked: [] }]),
  );
  const workers: FakeWorker[] = [];
  const server = (share: string) => {
    const s = servers.get(share);
    if (!s) throw new Error(`no fake server for ${share}`);
    return s;
  };
  const start = (share: string): ShareWorker => {
    const srv = server(share);
    let onExit: ((why: string) => void) | undefined;
    let exitNow: () => void = () => {};
    const gone = new Promise<void>((resolve) => {
      exitNow = resolve;
    });
    const answer = (op: string, args: unknown[]): unknown => {
      if (op === 'probe')
        return srv.unmounted ? { ok: false, detail: 'ENOENT' } : { ok: true, detail: 'answers' };
      if (op === 'refused') throw new WarrenError('FailedPrecondition', `refused ${args[0]}`);
      return `${op} done`;
    };
    const worker: FakeWorker = {
      ready:
        srv.startMs === Number.POSITIVE_INFINITY
          ? new Promise(() => {})
          : srv.startMs > 0
            ? new Promise((r) => setTimeout(r, srv.startMs))
            : Promise.resolve(),
      share,
      ops: [],
      abandoned: false,
      exited: false,
      call(op, args) {
        worker.ops.push(op);
        return new Promise((resolve, reject) => {
          const run = () => {
            if (worker.exited) return;
            try {
              resolve(answer(op, args));
            } catch (err) {
              reject(err);
            }
          };
          if (srv.frozen) srv.parked.push(run);
          else queueMicrotask(run);
        });
      },
      abandon() {
        worker.abandoned = true;
        const stuck = srv.frozen && srv.unkillable;
        if (!stuck) finish();
        else srv.parked.push(finish);
        return gone;
      },
      onExit(listener) {
        onExit = listener;
      },
      crash(why) {
        finish();
        onExit?.(why);
      },
    };
    const finish = () => {
      worker.exited = true;
      exitNow();
    };
    workers.push(worker);
    return worker;
  };
  return {
    start,
    workers,
    freeze: (share: string, opts: { unkillable?: boolean } = {}) => {
      server(share).frozen = true;
      server(share).unkillable = opts.unkillable ?? false;
    },
    thaw: (share: string) => {
      const srv = server(share);
      srv.frozen = false;
      for (const run of srv.parked.splice(0)) run();
    },
    setUnmounted: (share: string, value: boolean) => {
      server(share).unmounted = value;
    },
    setStartMs: (share: string, ms: number) => {
      server(share).startMs = ms;
    },
    workersOf: (share: string) => workers.filter((w) => w.share === share),
    /** Workers of `share` that still exist (not exited). */
    liveOf: (share: string) => workers.filter((w) => w.share === share && !w.exited),
  };
}

const shares = [
  { server: 'nfs-a', share: '/export', localDir: '/exports/a' },
  { server: 'nfs-b', share: '/export', localDir: '/exports/b' },
];
const A = 'nfs-a:/export';
const B = 'nfs-b:/export';

function setup(timings = {}) {
  const fleet = fakeFleet([A, B, 'unconfigured']);
  const changes: Array<Pick<LaneState, 'share' | 'available' | 'reason'>> = [];
  const lanes = createShareLanes({
    shares,
    startWorker: fleet.start,
    timings,
    onChange: (s) => changes.push({ share: s.share, available: s.available, reason: s.reason }),
  });
  return { fleet, lanes, changes };
}

/** Settles `promise` without letting its rejection go unhandled while timers advance. */
function track<T>(promise: Promise<T>) {
  const result: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(result, { value, settled: true }),
    (error: unknown) => Object.assign(result, { error, settled: true }),
  );
  return result;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('share lanes', () => {
  it('runs calls in one lazily started worker per share, and passes refusals through', async () => {
    const { fleet, lanes } = setup();
    expect(await lanes.run('/exports/a', 'ensureDirectory', [])).toBe('ensureDirectory done');
    expect(await lanes.run('/exports/a/below', 'exists', [])).toBe('exists done');
    expect(await lanes.run('/exports/b', 'exists', [])).toBe('exists done');
    await expectWarrenRejection(lanes.run('/exports/a', 'refused', ['x']), 'FailedPrecondition', 'refused x');
    expect(fleet.workers.map((w) => [w.share, w.ops])).toEqual([
      [A, ['ensureDirectory', 'exists', 'refused']],
      [B, ['exists']],
    ]);
    expect(lanes.states().map((s) => [s.share, s.available])).toEqual([
      [A, true],
      [B, true],
    ]);
  });

  it('writes a frozen share off after its probe misses the deadline; the other share carries on', async () => {
    const { fleet, lanes, changes } = setup();
    fleet.freeze(A);
    const stuck = track(lanes.run('/exports/a', 'ensureDirectory', []));
    const alsoStuck = track(lanes.run('/exports/a', 'exists', []));
    await vi.advanceTimersByTimeAsync(2_000); // suspected: the lane probes at once
    expect(fleet.workersOf(A)[0]?.ops).toEqual(['ensureDirectory', 'exists', 'probe']);
    // A probe asked for meanwhile shares the running one's answer instead of adding a call.
    const periodic = track(lanes.probe('/exports/a'));
    expect(await lanes.run('/exports/b', 'exists', [])).toBe('exists done');
    await vi.advanceTimersByTimeAsync(5_000); // the probe's deadline
    expect(stuck.settled && alsoStuck.settled).toBe(true);
    expect(periodic.value).toEqual({
      ok: false,
      detail: expect.stringContaining('probe took longer than 5 s'),
    });
    for (const r of [stuck, alsoStuck]) {
      expect(r.error).toBeInstanceOf(WarrenError);
      expect((r.error as WarrenError).kind).toBe('Unavailable');
      expect((r.error as WarrenError).message).toContain(
        'share nfs-a:/export (mounted at /exports/a) is not answering',
      );
      expect((r.error as WarrenError).message).toContain('probe took longer than 5 s');
    }
    expect(changes).toEqual([{ share: A, available: false, reason: 'probe took longer than 5 s' }]);
    expect(fleet.workersOf(A)[0]?.abandoned).toBe(true);
    // Later calls fail fast and reach no worker; the other share is untouched.
    const before = fleet.workersOf(A).map((w) => w.ops.length);
    await expectWarrenRejection(
      lanes.run('/exports/a', 'ensureDirectory', []),
      'Unavailable',
      'nfs-a:/export',
    );
    expect(await lanes.probe('/exports/a')).toEqual({ ok: false, detail: 'probe took longer than 5 s' });
    expect(fleet.workersOf(A).map((w) => w.ops.length)).toEqual(before);
    expect(await lanes.run('/exports/b', 'ensureDirectory', [])).toBe('ensureDirectory done');
    expect(lanes.states().map((s) => [s.share, s.available])).toEqual([
      [A, false],
      [B, true],
    ]);
  });

  it('holds one stuck operation per share however many calls arrive, and recovers when the server answers', async () => {
    const { fleet, lanes, changes } = setup();
    fleet.freeze(A);
    const first = track(lanes.run('/exports/a', 'ensureDirectory', []));
    await vi.advanceTimersByTimeAsync(7_000);
    expect(first.settled).toBe(true);
    for (let i = 0; i < 50; i++) {
      await expectWarrenRejection(lanes.run('/exports/a', 'ensureDirectory', []), 'Unavailable');
      await vi.advanceTimersByTimeAsync(10_000);
    }
    // The first worker was killed; its replacement waits on one probe with no deadline.
    expect(fleet.workersOf(A).map((w) => ({ ops: w.ops, exited: w.exited }))).toEqual([
      { ops: ['ensureDirectory', 'probe'], exited: true },
      { ops: ['probe'], exited: false },
    ]);
    fleet.thaw(A);
    await vi.advanceTimersByTimeAsync(0);
    expect(changes.map((c) => c.available)).toEqual([false, true]);
    expect(await lanes.run('/exports/a', 'ensureDirectory', [])).toBe('ensureDirectory done');
    expect(fleet.workersOf(A)).toHaveLength(2);
  });

  it('starts no second worker while the abandoned one cannot be killed', async () => {
    const { fleet, lanes, changes } = setup();
    fleet.freeze(A, { unkillable: true });
    track(lanes.run('/exports/a', 'exists', []));
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fleet.workersOf(A)).toHaveLength(1);
    expect(fleet.liveOf(A)).toHaveLength(1);
    fleet.thaw(A);
    await vi.advanceTimersByTimeAsync(0);
    expect(fleet.workersOf(A).map((w) => ({ ops: w.ops, exited: w.exited }))).toEqual([
      { ops: ['exists', 'probe'], exited: true },
      { ops: ['probe'], exited: false },
    ]);
    expect(changes.map((c) => c.available)).toEqual([false, true]);
  });

  it('probes a written-off share that answers but is not mounted with backoff, not in a loop', async () => {
    const { fleet, lanes, changes } = setup();
    fleet.freeze(A);
    track(lanes.run('/exports/a', 'exists', []));
    await vi.advanceTimersByTimeAsync(7_000);
    fleet.setUnmounted(A, true);
    fleet.thaw(A);
    await vi.advanceTimersByTimeAsync(120_000);
    const probes = fleet.workersOf(A)[1]?.ops.length ?? 0;
    // 1 + 2 + 4 + 8 + 16 + 30 + 30 + 30 s: at most nine probes in two minutes.
    expect(probes).toBeGreaterThanOrEqual(6);
    expect(probes).toBeLessThanOrEqual(9);
    fleet.setUnmounted(A, false);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(changes.map((c) => c.available)).toEqual([false, true]);
    expect(await lanes.run('/exports/a', 'exists', [])).toBe('exists done');
  });

  it('lets a slow call finish while the share still answers probes', async () => {
    const fleet = fakeFleet([A, B]);
    const changes: boolean[] = [];
    const slow = { release: () => {} };
    const original = fleet.start;
    // The share answers probes, but this one call takes 40 s (a large tree).
    const lanes2 = createShareLanes({
      shares,
      startWorker: (share) => {
        const w = original(share);
        return {
          ...w,
          call: (op, args) =>
            op === 'removeDirectory'
              ? new Promise((resolve) => {
                  slow.release = () => resolve('removed');
                })
              : w.call(op, args),
        };
      },
      onChange: (state) => changes.push(state.available),
    });
    const removal = track(lanes2.run('/exports/a', 'removeDirectory', []));
    await vi.advanceTimersByTimeAsync(40_000);
    expect(removal.settled).toBe(false);
    slow.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(removal.value).toBe('removed');
    expect(lanes2.states()).toMatchObject([{ share: A, available: true }]);
    expect(changes).toEqual([]);
    expect(fleet.workersOf(A)[0]?.ops).toEqual(['probe']);
    await lanes2.close();
  });

  it('writes a share off when one call exceeds its own deadline although probes answer', async () => {
    const fleet = fakeFleet([A, B]);
    const lanes = createShareLanes({
      shares,
      startWorker: (share) => {
        const w = fleet.start(share);
        return { ...w, call: (op, args) => (op === 'hangs' ? new Promise(() => {}) : w.call(op, args)) };
      },
    });
    const call = track(lanes.run('/exports/a', 'hangs', []));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect((call.error as WarrenError).message).toContain('hangs took longer than 60 s');
    await vi.advanceTimersByTimeAsync(0);
    // Probes answer, so the lane is back at once with a fresh worker.
    expect(lanes.states()).toMatchObject([{ share: A, available: true }]);
  });

  it('treats a crashed worker like a stuck one: calls fail, a new worker takes over after a probe', async () => {
    const { fleet, lanes, changes } = setup();
    fleet.freeze(A);
    const call = track(lanes.run('/exports/a', 'exists', []));
    fleet.workersOf(A)[0]?.crash('killed by SIGSEGV');
    fleet.thaw(A);
    await vi.advanceTimersByTimeAsync(0);
    expect((call.error as WarrenError).message).toContain('its worker ended (killed by SIGSEGV)');
    expect(changes.map((c) => c.available)).toEqual([false, true]);
    expect(await lanes.run('/exports/a', 'exists', [])).toBe('exists done');
  });

  it('counts deadlines from when a worker is ready, and writes off one that never starts', async () => {
    const { fleet, lanes, changes } = setup();
    fleet.setStartMs(A, 20_000);
    const slowStart = track(lanes.run('/exports/a', 'exists', []));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(slowStart.value).toBe('exists done');
    expect(changes).toEqual([]);
    fleet.setStartMs(B, Number.POSITIVE_INFINITY);
    const never = track(lanes.run('/exports/b', 'exists', []));
    await vi.advanceTimersByTimeAsync(60_000);
    expect((never.error as WarrenError).message).toContain('its worker did not start within 60 s');
    expect(changes).toEqual([{ share: B, available: false, reason: 'its worker did not start within 60 s' }]);
  });

  it('routes roots outside every share to one lane and refuses calls after close', async () => {
    const { fleet, lanes } = setup();
    await lanes.run('/elsewhere/1', 'exists', []);
    await lanes.run('/elsewhere/2', 'exists', []);
    expect(fleet.workers.map((w) => w.share)).toEqual(['unconfigured']);
    await lanes.close();
    expect(fleet.workers.map((w) => w.abandoned)).toEqual([true]);
    await expectWarrenRejection(lanes.run('/exports/a', 'exists', []), 'Unavailable', 'shut down');
  });
});
