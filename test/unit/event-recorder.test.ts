import type { CoreV1Event, V1ObjectReference } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { makeEventRecorder } from '../../src/claims/event-recorder.ts';
import type { KubeApi } from '../../src/kube/api.ts';

type Call =
  | { method: 'create'; namespace: string; body: CoreV1Event }
  | { method: 'patch'; name: string; namespace: string; body: unknown };

/** The two KubeApi verbs the recorder uses, recording calls; `failNext` makes the next call reject. */
function fakeApi() {
  const calls: Call[] = [];
  let failNext: string | undefined;
  const maybeFail = () => {
    if (failNext === undefined) return;
    const message = failNext;
    failNext = undefined;
    throw new Error(message);
  };
  const parts = (path: string) => /^\/api\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/.exec(path);
  const api: Pick<KubeApi, 'create' | 'patch'> = {
    async create<T>(path: string, body: unknown) {
      const m = parts(path);
      if (!m || m[2]) throw new Error(`not an events collection: ${path}`);
      calls.push({ method: 'create', namespace: m[1] ?? '', body: body as CoreV1Event });
      maybeFail();
      return body as T;
    },
    async patch<T>(path: string, body: unknown, type?: string) {
      const m = parts(path);
      if (!m?.[2] || type !== 'json') throw new Error(`not a JSON patch of an event: ${path} (${type})`);
      calls.push({ method: 'patch', name: m[2], namespace: m[1] ?? '', body });
      maybeFail();
      return {} as T;
    },
  };
  return {
    api,
    calls,
    failNextWith(message: string) {
      failNext = message;
    },
  };
}

function fakeLog() {
  const warnings: Array<[unknown, string]> = [];
  const log = { warn: (fields: unknown, message: string) => warnings.push([fields, message]) };
  return { log: log as unknown as Logger, warnings };
}

const t0 = new Date('2025-06-01T12:00:00.000Z');
const claim: V1ObjectReference = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  namespace: 'team-a',
  name: 'data',
  uid: 'uid-data',
};

function setup(minIntervalMs = 10_000) {
  const api = fakeApi();
  const log = fakeLog();
  let clock = t0.getTime();
  const recorder = makeEventRecorder({
    api: api.api,
    component: 'warren-controller',
    log: log.log,
    minIntervalMs,
    now: () => new Date(clock),
  });
  return {
    ...api,
    ...log,
    recorder,
    /** Sets the clock to t0 + ms. */
    at(ms: number) {
      clock = t0.getTime() + ms;
    },
  };
}

const createdName = (call: Call | undefined) =>
  call?.method === 'create' ? call.body.metadata?.name : undefined;

describe('makeEventRecorder', () => {
  it('creates an Event for the first occurrence', async () => {
    const s = setup();
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share not configured');
    expect(s.calls).toEqual([
      {
        method: 'create',
        namespace: 'team-a',
        body: {
          metadata: {
            name: expect.stringMatching(new RegExp(`^data\\.${t0.getTime().toString(16)}[0-9a-f]{0,4}$`)),
            namespace: 'team-a',
          },
          involvedObject: claim,
          type: 'Warning',
          reason: 'ProvisioningFailed',
          message: 'share not configured',
          source: { component: 'warren-controller' },
          reportingComponent: 'warren-controller',
          firstTimestamp: t0,
          lastTimestamp: t0,
          count: 1,
        },
      },
    ]);
    expect(s.warnings).toEqual([]);
  });

  it('makes no API call for repeats within the interval, then one patch with the accumulated count', async () => {
    const s = setup();
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share not configured');
    s.at(1_000);
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share not configured');
    s.at(9_999);
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share not configured');
    const callsWithinInterval = s.calls.length;
    s.at(10_000);
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share not configured');
    expect(callsWithinInterval).toBe(1);
    expect(s.calls.slice(1)).toEqual([
      {
        method: 'patch',
        name: createdName(s.calls[0]),
        namespace: 'team-a',
        body: [
          { op: 'replace', path: '/count', value: 4 },
          { op: 'replace', path: '/lastTimestamp', value: '2025-06-01T12:00:10.000Z' },
        ],
      },
    ]);
  });

  it('measures the next interval from the last write, and keeps counting', async () => {
    const s = setup(5_000);
    const record = () => s.recorder.record(claim, 'Normal', 'Provisioning', 'creating directory');
    for (const ms of [0, 5_000, 6_000, 9_999, 10_000]) {
      s.at(ms);
      await record();
    }
    expect(
      s.calls.map((c) => (c.method === 'patch' ? (c.body as Array<{ value: unknown }>)[0]?.value : 'create')),
    ).toEqual(['create', 2, 5]);
  });

  it.each<[string, V1ObjectReference, string, string]>([
    ['another message', claim, 'ProvisioningFailed', 'share offline'],
    ['another reason', claim, 'Provisioning', 'share not configured'],
    [
      'another object with the same reason and message',
      { ...claim, name: 'logs', uid: 'uid-logs' },
      'ProvisioningFailed',
      'share not configured',
    ],
  ])('creates a new Event for %s', async (_name, object, reason, message) => {
    const s = setup();
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share not configured');
    s.at(1);
    await s.recorder.record(object, 'Warning', reason, message);
    expect(s.calls.map((c) => c.method)).toEqual(['create', 'create']);
    const second = s.calls[1];
    expect(
      second?.method === 'create' && [second.body.reason, second.body.message, second.body.count],
    ).toEqual([reason, message, 1]);
    expect(createdName(second)).not.toBe(createdName(s.calls[0]));
  });

  it('puts Events about cluster-scoped objects (PVs) in the default namespace', async () => {
    const s = setup();
    const pv: V1ObjectReference = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      name: 'pvc-1',
      uid: 'uid-pv',
    };
    await s.recorder.record(pv, 'Warning', 'VolumeFailedDelete', 'share offline');
    const call = s.calls[0];
    expect(call?.method === 'create' && [call.namespace, call.body.metadata?.namespace]).toEqual([
      'default',
      'default',
    ]);
  });

  it('cuts a long message to 1024 characters', async () => {
    const s = setup();
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'x'.repeat(5_000));
    const call = s.calls[0];
    expect(call?.method === 'create' && call.body.message).toBe('x'.repeat(1024));
  });

  it('swallows and logs a failed create, and creates again next time', async () => {
    const s = setup();
    s.failNextWith('etcd timeout');
    await expect(
      s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share offline'),
    ).resolves.toBeUndefined();
    s.at(1);
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share offline');
    expect({ methods: s.calls.map((c) => c.method), warnings: s.warnings }).toEqual({
      methods: ['create', 'create'],
      warnings: [[{ reason: 'ProvisioningFailed', err: 'etcd timeout' }, 'could not record an event']],
    });
  });

  it('swallows and logs a failed patch, and starts a new Event next time', async () => {
    const s = setup();
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share offline');
    s.at(10_000);
    s.failNextWith('events "data.x" not found');
    await expect(
      s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share offline'),
    ).resolves.toBeUndefined();
    s.at(10_001);
    await s.recorder.record(claim, 'Warning', 'ProvisioningFailed', 'share offline');
    const last = s.calls[2];
    expect({
      methods: s.calls.map((c) => c.method),
      count: last?.method === 'create' ? last.body.count : undefined,
      warnings: s.warnings,
    }).toEqual({
      methods: ['create', 'patch', 'create'],
      count: 1,
      warnings: [
        [{ reason: 'ProvisioningFailed', err: 'events "data.x" not found' }, 'could not record an event'],
      ],
    });
  });
});

describe('makeEventRecorder: limits', () => {
  it('writes at most maxInFlight at once, queues up to maxQueued, and drops beyond that with a warning', async () => {
    const started: string[] = [];
    const release: Array<() => void> = [];
    const api: Pick<KubeApi, 'create' | 'patch'> = {
      create<T>(_path: string, body: unknown) {
        started.push((body as CoreV1Event).involvedObject.name ?? '');
        return new Promise<T>((resolve) => release.push(() => resolve(body as T)));
      },
      patch: () => Promise.reject(new Error('no patch expected')),
    };
    const log = fakeLog();
    const recorder = makeEventRecorder({
      api,
      component: 'warren-controller',
      log: log.log,
      maxInFlight: 2,
      maxQueued: 1,
      now: () => t0,
    });
    const ref = (name: string): V1ObjectReference => ({ ...claim, name, uid: `uid-${name}` });

    const done = ['a', 'b', 'c', 'd'].map((n) => recorder.record(ref(n), 'Normal', 'Provisioning', n));
    await new Promise((resolve) => setImmediate(resolve));
    // a and b are written, c waits, d is dropped.
    expect(started).toStrictEqual(['a', 'b']);
    expect(log.warnings).toStrictEqual([
      [{ reason: 'Provisioning', queued: 1 }, 'too many Events waiting to be written; dropped one'],
    ]);
    await done[3];

    release.shift()?.();
    await done[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toStrictEqual(['a', 'b', 'c']);

    for (const r of release.splice(0)) r();
    await Promise.all(done);
    expect(started).toStrictEqual(['a', 'b', 'c']);

    // The dropped Event is not remembered: the next occurrence creates it.
    const again = recorder.record(ref('d'), 'Normal', 'Provisioning', 'd');
    await new Promise((resolve) => setImmediate(resolve));
    release.shift()?.();
    await again;
    expect(started).toStrictEqual(['a', 'b', 'c', 'd']);
  });
});
