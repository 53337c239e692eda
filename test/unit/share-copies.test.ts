// Copy worker rules, with fake workers and fake share lanes: one worker per set of shares, a
// deadline on progress (not on time), a frozen share's copies fail with Unavailable, others go on.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { failedPrecondition, WarrenError } from '../../src/errors.ts';
import { type CopyWorker, createShareCopier } from '../../src/provisioning/share-copies.ts';
import type { LaneState, ProbeResult } from '../../src/provisioning/share-lanes.ts';
import type { CopyStats } from '../../src/provisioning/tree-copy.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

const A = 'nfs-a:/export';
const B = 'nfs-b:/export';
const stats = (bytes: number): CopyStats => ({
  directories: 1,
  files: 2,
  symlinks: 0,
  hardLinks: 0,
  bytes,
  skipped: [],
  ownersNotKept: 0,
  linked: 0,
  fileBytes: bytes,
});

interface FakeCall {
  args: unknown[];
  onBytes?: (bytes: number) => void;
  finish(value: CopyStats): void;
  fail(err: Error): void;
}

interface FakeCopyWorker extends CopyWorker {
  key: string;
  calls: FakeCall[];
  abandoned: boolean;
  exited: boolean;
  /** A report of the worker: `bytes` for its call `index`, or activity alone. */
  report(index?: number, bytes?: number): void;
  crash(why: string): void;
}

function setup(opts: { unkillable?: boolean; neverReady?: boolean } = {}) {
  const workers: FakeCopyWorker[] = [];
  const probes: string[] = [];
  const probeAnswers = new Map<string, ProbeResult>();
  const states = new Map<string, LaneState>();
  const start = (key: string): CopyWorker => {
    let progress: () => void = () => {};
    let exitListener: ((why: string) => void) | undefined;
    let end: () => void = () => {};
    const gone = new Promise<void>((r) => {
      end = r;
    });
    const worker: FakeCopyWorker = {
      key,
      calls: [],
      abandoned: false,
      exited: false,
      ready: opts.neverReady ? new Promise(() => {}) : Promise.resolve(),
      call(_op, args, onBytes) {
        return new Promise((resolve, reject) => {
          worker.calls.push({ args, onBytes, finish: resolve, fail: reject });
        });
      },
      report(index, bytes = 0) {
        if (index !== undefined) worker.calls[index]?.onBytes?.(bytes);
        progress();
      },
      crash(why) {
        worker.exited = true;
        for (const c of worker.calls) c.fail(new WarrenError('Unavailable', `share worker ${why}`));
        exitListener?.(why);
        end();
      },
      abandon() {
        worker.abandoned = true;
        exitListener = undefined;
        if (!opts.unkillable) {
          worker.exited = true;
          end();
        }
        return gone;
      },
      onExit(listener) {
        exitListener = listener;
      },
      onProgress(listener) {
        progress = listener;
      },
    };
    workers.push(worker);
    return worker;
  };
  const shareOf = (root: string) =>
    root.startsWith('/exports/a') ? A : root.startsWith('/exports/b') ? B : 'unconfigured';
  const copier = createShareCopier({
    lanes: {
      shareOf,
      probeShareOf: async (root) => {
        probes.push(shareOf(root));
        return probeAnswers.get(shareOf(root)) ?? { ok: true, detail: 'answers' };
      },
      states: () => [...states.values()],
    },
    startWorker: start,
    timings: { startDeadlineMs: 60_000, suspectAfterMs: 5_000, stallDeadlineMs: 120_000, idleMs: 30_000 },
    now: () => Date.now(),
  });
  return {
    copier,
    workers,
    probes,
    setProbe: (share: string, answer: ProbeResult) => probeAnswers.set(share, answer),
    writeOff: (share: string, reason: string) =>
      states.set(share, { share, available: false, reason, since: new Date() }),
    thawAll: (worker: FakeCopyWorker) => {
      worker.exited = true;
    },
  };
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

function expectUnavailable(error: unknown, text: string) {
  expect(error).toBeInstanceOf(WarrenError);
  expect((error as WarrenError).kind).toBe('Unavailable');
  expect((error as WarrenError).message).toContain(text);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('share copier', () => {
  it('runs copies in one worker per set of shares, passes options as they are, forwards bytes', async () => {
    const { copier, workers } = setup();
    const heard: number[] = [];
    const first = track(
      copier.copy('/exports/a/src', '/exports/a/dst', (n) => heard.push(n), { linkTo: 'x' }),
    );
    const second = track(copier.copy('/exports/a/src', '/exports/a/dst2'));
    const across = track(copier.copy('/exports/a/src', '/exports/b/dst'));
    const backAcross = track(copier.copy('/exports/b/src', '/exports/a/dst3'));
    await vi.advanceTimersByTimeAsync(0);
    expect(workers.map((w) => [w.key, w.calls.map((c) => c.args)])).toEqual([
      [
        A,
        [
          ['/exports/a/src', '/exports/a/dst', { linkTo: 'x' }],
          ['/exports/a/src', '/exports/a/dst2', {}],
        ],
      ],
      [
        `${A} + ${B}`,
        [
          ['/exports/a/src', '/exports/b/dst', {}],
          ['/exports/b/src', '/exports/a/dst3', {}],
        ],
      ],
    ]);
    workers[0]?.report(0, 4096);
    workers[0]?.report(0, 100);
    workers[0]?.calls[0]?.finish(stats(4196));
    workers[0]?.calls[1]?.finish(stats(0));
    workers[1]?.calls[0]?.finish(stats(1));
    workers[1]?.calls[1]?.finish(stats(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(heard).toEqual([4096, 100]);
    expect([first.value?.bytes, second.value?.bytes, across.value?.bytes, backAcross.value?.bytes]).toEqual([
      4196, 0, 1, 2,
    ]);
    expect(copier.workers()).toEqual([A, `${A} + ${B}`]);
  });

  it('a copy that keeps making progress runs past every deadline, with no probe', async () => {
    const { copier, workers, probes } = setup();
    const long = track(copier.copy('/exports/a/src', '/exports/a/dst'));
    for (let i = 0; i < 100; i++) {
      await vi.advanceTimersByTimeAsync(4_000);
      workers[0]?.report(); // calls started, no bytes (empty files, directories)
    }
    workers[0]?.calls[0]?.finish(stats(0));
    await vi.advanceTimersByTimeAsync(0);
    expect(long.value).toEqual(stats(0));
    expect(probes).toEqual([]);
    expect(workers[0]?.abandoned).toBe(false);
  });

  it('quiet but answering shares: probed every suspect period; no progress at all for the deadline ends it', async () => {
    const { copier, workers, probes } = setup();
    const quiet = track(copier.copy('/exports/b/src', '/exports/a/dst'));
    await vi.advanceTimersByTimeAsync(119_000);
    expect(quiet.settled).toBe(false);
    expect(new Set(probes)).toEqual(new Set([A, B]));
    expect(probes.length).toBeGreaterThanOrEqual(2 * 20);
    await vi.advanceTimersByTimeAsync(2_000);
    expectUnavailable(quiet.error, `the copy on shares ${A} + ${B} stopped: no progress for 120 s`);
    expect(workers[0]?.abandoned).toBe(true);
    expect(copier.workers()).toEqual([]);
    // The next copy starts a worker of its own.
    const again = track(copier.copy('/exports/b/src', '/exports/a/dst'));
    await vi.advanceTimersByTimeAsync(0);
    workers[1]?.calls[0]?.finish(stats(3));
    await vi.advanceTimersByTimeAsync(0);
    expect(again.value?.bytes).toBe(3);
  });

  it('a frozen share: its copies fail with Unavailable naming it once the probe fails; the other share copies on', async () => {
    const { copier, workers, setProbe, writeOff } = setup();
    const onA = track(copier.copy('/exports/a/src', '/exports/a/dst'));
    const onB = track(copier.copy('/exports/b/src', '/exports/b/dst'));
    await vi.advanceTimersByTimeAsync(1_000);
    // The lane wrote the share off: its reason is named, not the probe's whole error.
    setProbe(A, {
      ok: false,
      detail: `share ${A} (mounted at /exports/a) is not answering: probe took longer than 5 s. Warren ...`,
    });
    writeOff(A, 'probe took longer than 5 s');
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      workers[1]?.report(0, 10);
    }
    expectUnavailable(onA.error, `the copy on share ${A} stopped: share ${A} does not answer`);
    expect((onA.error as Error).message).toContain(
      `share ${A} does not answer (probe took longer than 5 s) and`,
    );
    expect((onA.error as Error).message).toContain('Warren ended its copy worker and starts the copy again');
    expect(workers[0]?.abandoned).toBe(true);
    expect(onB.settled).toBe(false);
    workers[1]?.calls[0]?.finish(stats(50));
    await vi.advanceTimersByTimeAsync(0);
    expect(onB.value?.bytes).toBe(50);
    expect(workers[1]?.abandoned).toBe(false);
  });

  it('a share written off in its lane fails a new copy at once, starting no worker', async () => {
    const { copier, workers, writeOff } = setup();
    writeOff(B, 'probe took longer than 5 s');
    await expectWarrenRejection(
      copier.copy('/exports/a/src', '/exports/b/dst'),
      'Unavailable',
      `share ${B} is not answering: probe took longer than 5 s`,
    );
    expect(workers).toEqual([]);
  });

  it('one stuck worker per set of shares: a new copy fails fast until the killed one is gone', async () => {
    const { copier, workers, setProbe } = setup({ unkillable: true });
    const stuck = track(copier.copy('/exports/a/src', '/exports/a/dst'));
    setProbe(A, { ok: false, detail: 'ETIMEDOUT' });
    await vi.advanceTimersByTimeAsync(6_000);
    expectUnavailable(stuck.error, 'ETIMEDOUT');
    await expectWarrenRejection(
      copier.copy('/exports/a/src', '/exports/a/dst'),
      'Unavailable',
      `the copy worker of share ${A} that stopped making progress has not ended yet`,
    );
    expect(workers.length).toBe(1);
  });

  it('a worker that crashes fails its copies with Unavailable; a refusal passes through with its kind', async () => {
    const { copier, workers } = setup();
    const refused = track(copier.copy('/exports/a/src', '/exports/a/dst'));
    const crashed = track(copier.copy('/exports/a/src', '/exports/a/dst2'));
    await vi.advanceTimersByTimeAsync(0);
    workers[0]?.calls[0]?.fail(failedPrecondition('cannot write x while copying: ENOSPC; the share is full'));
    await vi.advanceTimersByTimeAsync(0);
    expect((refused.error as WarrenError).kind).toBe('FailedPrecondition');
    expect(copier.workers()).toEqual([A]);
    workers[0]?.crash('killed by SIGSEGV');
    await vi.advanceTimersByTimeAsync(0);
    expectUnavailable(crashed.error, 'its copy worker ended (killed by SIGSEGV)');
    expect(copier.workers()).toEqual([]);
  });

  it('an idle worker ends after idleMs; a copy meanwhile keeps it', async () => {
    const { copier, workers } = setup();
    const first = track(copier.copy('/exports/a/src', '/exports/a/dst'));
    await vi.advanceTimersByTimeAsync(0);
    workers[0]?.calls[0]?.finish(stats(1));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(first.settled).toBe(true);
    // Idle for 20 s (no progress to make): a new copy is not stalled by that quiet.
    const second = track(copier.copy('/exports/a/src', '/exports/a/dst2'));
    await vi.advanceTimersByTimeAsync(15_000);
    expect(second.settled).toBe(false);
    expect(workers.length).toBe(1);
    workers[0]?.calls[1]?.finish(stats(2));
    await vi.advanceTimersByTimeAsync(29_000);
    expect(workers[0]?.abandoned).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(workers[0]?.abandoned).toBe(true);
    expect(copier.workers()).toEqual([]);
  });

  it('a worker that never starts is ended at the start deadline', async () => {
    const { copier, workers } = setup({ neverReady: true });
    const never = track(copier.copy('/exports/a/src', '/exports/a/dst'));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(never.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expectUnavailable(never.error, 'its copy worker did not start within 60 s');
    expect(workers[0]?.abandoned).toBe(true);
  });

  it('close fails running and later copies', async () => {
    const { copier, workers } = setup();
    const running = track(copier.copy('/exports/a/src', '/exports/a/dst'));
    await vi.advanceTimersByTimeAsync(0);
    await copier.close();
    await vi.advanceTimersByTimeAsync(0);
    expectUnavailable(running.error, 'shut down');
    expect(workers[0]?.abandoned).toBe(true);
    await expectWarrenRejection(copier.copy('/exports/a/src', '/exports/a/x'), 'Unavailable', 'shut down');
  });
});
