import type {
  ErrorCallback,
  Informer,
  ObjectCache,
  ObjectCallback,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startResilientInformer } from '../../src/claims/resilient-informer.ts';
import type { Backoff } from '../../src/claims/work-queue.ts';
import { captureLog } from './csi-log-capture.ts';

type Claim = V1PersistentVolumeClaim;
type Verb = 'add' | 'update' | 'delete' | 'change' | 'error' | 'connect';
type Callback = ObjectCallback<Claim> | ErrorCallback;

/** What one call of the fake informer's start() does, in the order client-node's ListWatch does it. */
type StartStep =
  /** 'connect', then the list arrives (an 'add' per object) and the watch begins. */
  | { list: Claim[] }
  /** 'connect', then the list fails: reported through 'error', and start() still resolves. */
  | { listError: unknown }
  /** start() itself rejects (the watch request could not be made). */
  | { reject: Error };

const claim = (name: string): Claim => ({ metadata: { name, namespace: 'team-a', uid: `uid-${name}` } });

/** A scripted Informer: each start() takes the next step; once the script is used up, lists succeed empty. */
function fakeInformer(script: StartStep[]) {
  const steps = [...script];
  const callbacks = new Map<Verb, Callback[]>();
  const objects: Claim[] = [];
  let starts = 0;
  let stops = 0;
  const emit = (verb: Verb, arg?: unknown) => {
    // The caller pairs the verb with its argument (an object, an error, or nothing for 'connect').
    for (const cb of [...(callbacks.get(verb) ?? [])]) (cb as ErrorCallback)(arg);
  };
  const informer: Informer<Claim> & ObjectCache<Claim> = {
    on: (verb: Verb, cb: Callback) => {
      callbacks.set(verb, [...(callbacks.get(verb) ?? []), cb]);
    },
    off: (verb: Verb, cb: Callback) => {
      callbacks.set(
        verb,
        (callbacks.get(verb) ?? []).filter((c) => c !== cb),
      );
    },
    start: async () => {
      starts += 1;
      const step = steps.shift() ?? { list: [] };
      if ('reject' in step) throw step.reject;
      emit('connect');
      if ('listError' in step) {
        emit('error', step.listError);
        return;
      }
      for (const obj of step.list) {
        objects.push(obj);
        emit('add', obj);
      }
    },
    stop: async () => {
      stops += 1;
    },
    get: (name, namespace) =>
      objects.find((o) => o.metadata?.name === name && o.metadata?.namespace === namespace),
    list: () => objects,
  };
  return { informer, emit, starts: () => starts, stops: () => stops };
}

/** Lets every pending promise callback run (the code under test waits on nothing else). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A sleep that records each requested delay and returns only when the test wakes it. */
function scriptedSleep() {
  const delays: number[] = [];
  const sleepers: Array<() => void> = [];
  return {
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        delays.push(ms);
        sleepers.push(resolve);
      }),
    delays,
    sleeping: () => sleepers.length,
    async wake(): Promise<void> {
      const resolve = sleepers.shift();
      if (!resolve) throw new Error('nothing is sleeping');
      resolve();
      await settle();
    },
  };
}

function start(script: StartStep[], backoff?: Backoff) {
  const fake = fakeInformer(script);
  const clock = scriptedSleep();
  const captured = captureLog();
  const changes: string[] = [];
  const deletes: string[] = [];
  let restarts = 0;
  const wrapper = startResilientInformer<Claim>({
    name: 'claims',
    informer: fake.informer,
    onChange: (c) => changes.push(c.metadata?.name ?? '?'),
    onDelete: (c) => deletes.push(c.metadata?.name ?? '?'),
    log: captured.log,
    onRestart: () => {
      restarts += 1;
    },
    sleep: clock.sleep,
    ...(backoff ? { backoff } : {}),
  });
  let syncedResolved = false;
  void wrapper.waitSynced().then(() => {
    syncedResolved = true;
  });
  return {
    ...fake,
    wrapper,
    clock,
    changes,
    deletes,
    restarts: () => restarts,
    /** synced() and whether waitSynced() has resolved, together. */
    syncState: () => ({ synced: wrapper.synced(), waitSynced: syncedResolved }),
    messages: () => captured.records().map((r) => r.msg),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('startResilientInformer', () => {
  it('is synced once the first list succeeds, without any restart', async () => {
    const t = start([{ list: [claim('a'), claim('b')] }]);
    expect(t.syncState()).toEqual({ synced: false, waitSynced: false });
    await settle();
    expect(t.syncState()).toEqual({ synced: true, waitSynced: true });
    expect({ starts: t.starts(), restarts: t.restarts(), delays: t.clock.delays }).toEqual({
      starts: 1,
      restarts: 0,
      delays: [],
    });
    expect(t.changes).toEqual(['a', 'b']);
    expect(t.wrapper.cache.list().map((c) => c.metadata?.name)).toEqual(['a', 'b']);
  });

  it('passes every event to onChange, and deletes alone to onDelete too', async () => {
    const t = start([{ list: [claim('a')] }]);
    await settle();
    t.emit('update', claim('a'));
    t.emit('add', claim('b'));
    t.emit('delete', claim('a'));
    expect(t.changes).toEqual(['a', 'a', 'b', 'a']);
    expect(t.deletes).toEqual(['a']);
  });

  it('is not synced while the first lists fail, and retries until one succeeds', async () => {
    const t = start([
      { listError: new Error('forbidden') },
      { listError: new Error('forbidden') },
      { list: [] },
    ]);
    await settle();
    expect(t.syncState()).toEqual({ synced: false, waitSynced: false });
    expect(t.clock.delays).toEqual([500]);
    await t.clock.wake();
    expect(t.syncState()).toEqual({ synced: false, waitSynced: false });
    expect(t.clock.delays).toEqual([500, 1000]);
    await t.clock.wake();
    expect(t.syncState()).toEqual({ synced: true, waitSynced: true });
    expect({ starts: t.starts(), restarts: t.restarts(), sleeping: t.clock.sleeping() }).toEqual({
      starts: 3,
      restarts: 2,
      sleeping: 0,
    });
    expect(t.messages()).toEqual([
      'watch failed; restarting the informer',
      'watch failed; restarting the informer',
      'informer restarted',
    ]);
  });

  it('retries a start() that rejects, first and later attempts alike', async () => {
    const t = start([
      { reject: new Error('ECONNREFUSED') },
      { reject: new Error('ECONNREFUSED') },
      { list: [] },
    ]);
    await settle();
    expect(t.clock.delays).toEqual([500]);
    await t.clock.wake();
    expect(t.clock.delays).toEqual([500, 1000]);
    await t.clock.wake();
    expect(t.syncState()).toEqual({ synced: true, waitSynced: true });
    expect({ starts: t.starts(), restarts: t.restarts(), sleeping: t.clock.sleeping() }).toEqual({
      starts: 3,
      restarts: 2,
      sleeping: 0,
    });
    expect(t.messages()).toEqual([
      'first list failed; retrying',
      'informer restart failed',
      'informer restarted',
    ]);
  });

  it('restarts after a watch error with a backoff that doubles up to its cap', async () => {
    const failing = Array.from({ length: 5 }, () => ({ listError: { code: 500 } }));
    const t = start([{ list: [claim('a')] }, ...failing], { baseMs: 100, maxMs: 450 });
    await settle();
    t.emit('error', new Error('watch closed: 500'));
    await settle();
    for (let i = 0; i < 5; i++) await t.clock.wake();
    expect(t.clock.delays).toEqual([100, 200, 400, 450, 450, 450]);
    await t.clock.wake();
    expect({ starts: t.starts(), restarts: t.restarts(), sleeping: t.clock.sleeping() }).toEqual({
      starts: 7,
      restarts: 6,
      sleeping: 0,
    });
    expect(t.syncState()).toEqual({ synced: true, waitSynced: true });
  });

  it('starts the backoff over after a clean restart', async () => {
    const t = start([{ list: [] }, { listError: new Error('500') }, { list: [] }], {
      baseMs: 100,
      maxMs: 1_000,
    });
    await settle();
    t.emit('error', new Error('watch closed'));
    await settle();
    await t.clock.wake();
    await t.clock.wake();
    expect(t.clock.delays).toEqual([100, 200]);
    t.emit('error', new Error('watch closed again'));
    await settle();
    expect(t.clock.delays).toEqual([100, 200, 100]);
    await t.clock.wake();
    expect({ starts: t.starts(), restarts: t.restarts(), sleeping: t.clock.sleeping() }).toEqual({
      starts: 4,
      restarts: 3,
      sleeping: 0,
    });
  });

  it('runs one restart loop for a burst of errors, counting one restart', async () => {
    const t = start([{ list: [] }]);
    await settle();
    t.emit('error', new Error('first'));
    t.emit('error', new Error('second'));
    t.emit('error', new Error('third'));
    await settle();
    expect({ delays: t.clock.delays, restarts: t.restarts(), starts: t.starts() }).toEqual({
      delays: [500],
      restarts: 1,
      starts: 1,
    });
    await t.clock.wake();
    expect({ restarts: t.restarts(), starts: t.starts(), sleeping: t.clock.sleeping() }).toEqual({
      restarts: 1,
      starts: 2,
      sleeping: 0,
    });
  });

  it('does not restart on the error that stop() causes', async () => {
    const t = start([{ list: [] }]);
    await settle();
    await t.wrapper.stop();
    t.emit('error', new Error('aborted'));
    await settle();
    expect({
      starts: t.starts(),
      stops: t.stops(),
      restarts: t.restarts(),
      delays: t.clock.delays,
      messages: t.messages(),
    }).toEqual({ starts: 1, stops: 1, restarts: 0, delays: [], messages: [] });
  });

  it('does not start again when stopped during a backoff', async () => {
    const t = start([{ list: [] }]);
    await settle();
    t.emit('error', new Error('watch closed'));
    await settle();
    await t.wrapper.stop();
    await t.clock.wake();
    expect({
      starts: t.starts(),
      stops: t.stops(),
      restarts: t.restarts(),
      delays: t.clock.delays,
      sleeping: t.clock.sleeping(),
    }).toEqual({ starts: 1, stops: 1, restarts: 1, delays: [500], sleeping: 0 });
  });

  it('passes add, update and delete to onChange, but not connect', async () => {
    const t = start([{ list: [claim('a')] }]);
    await settle();
    t.emit('update', claim('b'));
    t.emit('delete', claim('c'));
    t.emit('connect');
    expect(t.changes).toEqual(['a', 'b', 'c']);
  });

  it('sleeps on real timers by default: 500 ms before the first restart', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fake = fakeInformer([{ listError: new Error('forbidden') }, { list: [] }]);
    const wrapper = startResilientInformer<Claim>({
      name: 'claims',
      informer: fake.informer,
      onChange: () => {},
      log: captureLog().log,
    });
    await settle();
    await vi.advanceTimersByTimeAsync(499);
    expect({ starts: fake.starts(), synced: wrapper.synced() }).toEqual({ starts: 1, synced: false });
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect({ starts: fake.starts(), synced: wrapper.synced() }).toEqual({ starts: 2, synced: true });
  });
});
