import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Backoff, backoffDelay, type Outcome, WorkQueue } from '../../src/claims/work-queue.ts';

const fast: Backoff = { baseMs: 1_000, maxMs: 8_000 };
const slow: Backoff = { baseMs: 60_000, maxMs: 600_000 };

interface Gate {
  promise: Promise<void>;
  open: () => void;
}

function gate(): Gate {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Records every call and how many handlers run at once, overall and per key. */
function tracker(behaviour: (key: string, call: number) => Promise<Outcome> | Outcome = () => 'done') {
  const calls: string[] = [];
  const running = new Map<string, number>();
  let active = 0;
  let maxActive = 0;
  let maxPerKey = 0;
  const handle = async (key: string): Promise<Outcome> => {
    calls.push(key);
    active++;
    maxActive = Math.max(maxActive, active);
    running.set(key, (running.get(key) ?? 0) + 1);
    maxPerKey = Math.max(maxPerKey, running.get(key) ?? 0);
    try {
      return await behaviour(key, calls.filter((k) => k === key).length);
    } finally {
      active--;
      running.set(key, (running.get(key) ?? 1) - 1);
    }
  };
  return {
    calls,
    handle,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
    get maxPerKey() {
      return maxPerKey;
    },
  };
}

describe('backoffDelay', () => {
  it.each<[number, number]>([
    [0, 100],
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1_000],
    [6, 1_000],
    [60, 1_000],
  ])('after %i failures waits %i ms (base 100, max 1000)', (failures, expected) => {
    expect(backoffDelay({ baseMs: 100, maxMs: 1_000 }, failures)).toBe(expected);
  });

  it('never exceeds a max below the base', () => {
    expect(backoffDelay({ baseMs: 500, maxMs: 200 }, 1)).toBe(200);
  });
});

describe('WorkQueue with real timers', () => {
  it('collapses duplicate adds of a waiting key into one run', async () => {
    const queue = new WorkQueue({ fast, slow });
    const t = tracker();
    for (const key of ['a', 'a', 'b', 'a', 'b', 'c']) queue.add(key);
    expect(queue.depth).toBe(3);
    const running = queue.run(1, t.handle);
    await vi.waitFor(() => expect(t.calls).toHaveLength(3));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(t.calls).toEqual(['a', 'b', 'c']);
    queue.shutDown();
    await running;
  });

  it('runs a key added during its own processing once more afterwards, never twice at once', async () => {
    const queue = new WorkQueue({ fast, slow });
    const first = gate();
    const t = tracker((_key, call) => (call === 1 ? first.promise.then(() => 'done' as const) : 'done'));
    const running = queue.run(4, t.handle);
    queue.add('a');
    await vi.waitFor(() => expect(t.calls).toEqual(['a']));
    queue.add('a');
    queue.add('a');
    queue.add('a');
    // Three idle workers, yet none picks up 'a' while it is being processed.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect({ calls: t.calls, depth: queue.depth }).toEqual({ calls: ['a'], depth: 0 });
    first.open();
    await vi.waitFor(() => expect(t.calls).toEqual(['a', 'a']));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect({ calls: t.calls, maxPerKey: t.maxPerKey }).toEqual({ calls: ['a', 'a'], maxPerKey: 1 });
    queue.shutDown();
    await running;
  });

  it('processes different keys in parallel, up to the number of workers', async () => {
    const queue = new WorkQueue({ fast, slow });
    const hold = gate();
    const t = tracker(() => hold.promise.then(() => 'done' as const));
    const running = queue.run(3, t.handle);
    for (const key of ['a', 'b', 'c', 'd', 'e']) queue.add(key);
    await vi.waitFor(() => expect(t.active).toBe(3));
    expect({ started: [...t.calls].sort(), depth: queue.depth }).toEqual({
      started: ['a', 'b', 'c'],
      depth: 2,
    });
    hold.open();
    await vi.waitFor(() => expect(t.calls).toHaveLength(5));
    expect({ all: [...t.calls].sort(), maxActive: t.maxActive }).toEqual({
      all: ['a', 'b', 'c', 'd', 'e'],
      maxActive: 3,
    });
    queue.shutDown();
    await running;
  });

  it('shutDown lets the running handler finish, then run() resolves and later adds are ignored', async () => {
    const queue = new WorkQueue({ fast, slow });
    const hold = gate();
    const t = tracker(() => hold.promise.then(() => 'done' as const));
    let resolved = false;
    const running = queue.run(2, t.handle).then(() => {
      resolved = true;
    });
    queue.add('a');
    await vi.waitFor(() => expect(t.active).toBe(1));
    queue.shutDown();
    queue.add('b');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect({ resolved, depth: queue.depth }).toEqual({ resolved: false, depth: 0 });
    hold.open();
    await running;
    expect({ resolved, calls: t.calls }).toEqual({ resolved: true, calls: ['a'] });
  });

  it('reports the depth on every change', async () => {
    const depths: number[] = [];
    const queue = new WorkQueue({ fast, slow, onDepthChange: (depth) => depths.push(depth) });
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(depths).toEqual([1, 2]);
    const t = tracker();
    const running = queue.run(1, t.handle);
    await vi.waitFor(() => expect(t.calls).toEqual(['a', 'b']));
    expect(depths).toEqual([1, 2, 1, 0]);
    queue.shutDown();
    await running;
  });
});

describe('WorkQueue retries (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Lets the workers run everything that is ready without moving the clock. */
  const settle = () => vi.advanceTimersByTimeAsync(0);

  it('re-runs a retry-fast key after the fast backoff, doubling each time, and resets after done', async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ fast, slow });
    // Calls 1-3 fail, 4 succeeds, 5 fails again.
    const t = tracker((_key, call) => (call <= 3 || call === 5 ? 'retry-fast' : 'done'));
    const running = queue.run(2, t.handle);
    const counts: number[] = [];
    queue.add('a');
    await settle();
    counts.push(t.calls.length); // 1
    await vi.advanceTimersByTimeAsync(999);
    counts.push(t.calls.length); // 1: first backoff is 1000 ms
    await vi.advanceTimersByTimeAsync(1);
    counts.push(t.calls.length); // 2
    await vi.advanceTimersByTimeAsync(1_999);
    counts.push(t.calls.length); // 2: second backoff is 2000 ms
    await vi.advanceTimersByTimeAsync(1);
    counts.push(t.calls.length); // 3
    await vi.advanceTimersByTimeAsync(3_999);
    counts.push(t.calls.length); // 3: third backoff is 4000 ms
    await vi.advanceTimersByTimeAsync(1);
    counts.push(t.calls.length); // 4: done
    queue.add('a');
    await settle();
    counts.push(t.calls.length); // 5: fails again, failures were reset
    await vi.advanceTimersByTimeAsync(1_000);
    counts.push(t.calls.length); // 6: back to the base delay
    await vi.advanceTimersByTimeAsync(60_000);
    counts.push(t.calls.length); // 6: done, nothing more
    expect(counts).toEqual([1, 1, 2, 2, 3, 3, 4, 5, 6, 6]);
    queue.shutDown();
    await running;
  });

  it('re-runs a retry-slow key only after the slow backoff', async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ fast, slow });
    const t = tracker((_key, call) => (call === 1 ? 'retry-slow' : 'done'));
    const running = queue.run(1, t.handle);
    queue.add('bad-class');
    await settle();
    await vi.advanceTimersByTimeAsync(fast.maxMs);
    const beforeSlow = t.calls.length;
    await vi.advanceTimersByTimeAsync(slow.baseMs - fast.maxMs);
    expect({ beforeSlow, after: t.calls }).toEqual({ beforeSlow: 1, after: ['bad-class', 'bad-class'] });
    queue.shutDown();
    await running;
  });

  it('treats a throwing handler as retry-fast', async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ fast, slow });
    const t = tracker((_key, call) => {
      if (call === 1) throw new Error('boom');
      return 'done';
    });
    const running = queue.run(1, t.handle);
    queue.add('a');
    await settle();
    const afterThrow = t.calls.length;
    await vi.advanceTimersByTimeAsync(fast.baseMs);
    expect({ afterThrow, calls: t.calls }).toEqual({ afterThrow: 1, calls: ['a', 'a'] });
    queue.shutDown();
    await running;
  });

  it('an event during a backoff runs the key at once without waiting for the timer', async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ fast, slow });
    const t = tracker((_key, call) => (call === 1 ? 'retry-slow' : 'done'));
    const running = queue.run(1, t.handle);
    queue.add('a');
    await settle();
    queue.add('a');
    await settle();
    expect(t.calls).toEqual(['a', 'a']);
    queue.shutDown();
    await running;
  });

  it('shutDown cancels pending retries', async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ fast, slow });
    const t = tracker(() => 'retry-fast');
    const running = queue.run(1, t.handle);
    queue.add('a');
    await settle();
    queue.shutDown();
    await running;
    await vi.advanceTimersByTimeAsync(slow.maxMs);
    expect({ calls: t.calls, depth: queue.depth, timers: vi.getTimerCount() }).toEqual({
      calls: ['a'],
      depth: 0,
      timers: 0,
    });
  });

  it('addAfter adds the key when the delay passes', async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ fast, slow });
    queue.addAfter('a', 500);
    await vi.advanceTimersByTimeAsync(499);
    const early = queue.depth;
    await vi.advanceTimersByTimeAsync(1);
    expect({ early, late: queue.depth }).toEqual({ early: 0, late: 1 });
    queue.shutDown();
  });

  it('addAfter with an earlier deadline than a pending one wins (as in client-go)', async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ fast, slow });
    queue.addAfter('a', 500);
    queue.addAfter('a', 100);
    await vi.advanceTimersByTimeAsync(100);
    expect(queue.depth).toBe(1);
    queue.shutDown();
  });

  it('a transient failure is retried after the fast backoff even while an older slow retry is pending', async () => {
    vi.useFakeTimers();
    const queue = new WorkQueue({ fast, slow });
    // 1: class misconfigured (slow); the user fixes it and an event re-adds the key;
    // 2: an API conflict (fast); 3: success.
    const outcomes: Outcome[] = ['retry-slow', 'retry-fast', 'done'];
    const t = tracker((_key, call) => outcomes[call - 1] ?? 'done');
    const running = queue.run(1, t.handle);
    queue.add('a');
    await settle();
    queue.add('a');
    await settle();
    const beforeRetry = t.calls.length;
    // Second failure in a row: the fast delay is 2 x base.
    await vi.advanceTimersByTimeAsync(backoffDelay(fast, 2));
    expect({ beforeRetry, afterFastBackoff: t.calls.length }).toEqual({
      beforeRetry: 2,
      afterFastBackoff: 3,
    });
    queue.shutDown();
    await running;
  });
});
