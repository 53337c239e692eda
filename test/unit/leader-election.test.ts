import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import {
  decideLease,
  type LeaseDecision,
  microTime,
  runLeaderElection,
} from '../../src/claims/leader-election.ts';
import { type KubeApi, KubeApiError } from '../../src/kube/api.ts';

const me = 'warren-controller-7d9f-abcde';
const other = 'warren-controller-7d9f-zzzzz';
const now = new Date('2025-06-01T12:00:00.000Z');
const durationMs = 15_000;
const ago = (ms: number) => new Date(now.getTime() - ms);

function lease(spec: V1Lease['spec']): V1Lease {
  return { metadata: { name: 'warren-controller', namespace: 'warren', resourceVersion: '42' }, spec };
}

describe('decideLease', () => {
  it.each<{ name: string; lease: V1Lease | undefined; expected: LeaseDecision }>([
    {
      name: 'no lease yet: acquire as the first holder',
      lease: undefined,
      expected: { action: 'acquire', transitions: 0 },
    },
    {
      name: 'a lease without a spec: acquire, counting a transition',
      lease: { metadata: { name: 'warren-controller' } },
      expected: { action: 'acquire', transitions: 1 },
    },
    {
      name: 'empty holder (released on shutdown): acquire at once, transitions + 1',
      lease: lease({
        holderIdentity: '',
        leaseTransitions: 4,
        renewTime: ago(1_000),
        leaseDurationSeconds: 15,
      }),
      expected: { action: 'acquire', transitions: 5 },
    },
    {
      name: 'no holder field: acquire',
      lease: lease({ leaseTransitions: 2 }),
      expected: { action: 'acquire', transitions: 3 },
    },
    {
      name: 'ours, fresh: renew, transitions unchanged',
      lease: lease({
        holderIdentity: me,
        leaseTransitions: 3,
        renewTime: ago(2_000),
        leaseDurationSeconds: 15,
      }),
      expected: { action: 'renew', transitions: 3 },
    },
    {
      name: 'ours, even if expired: renew, transitions unchanged',
      lease: lease({
        holderIdentity: me,
        leaseTransitions: 3,
        renewTime: ago(60_000),
        leaseDurationSeconds: 15,
      }),
      expected: { action: 'renew', transitions: 3 },
    },
    {
      name: 'ours without a transitions count: renew with 0',
      lease: lease({ holderIdentity: me, renewTime: ago(1_000) }),
      expected: { action: 'renew', transitions: 0 },
    },
    {
      name: 'another holder renewed recently: wait',
      lease: lease({
        holderIdentity: other,
        leaseTransitions: 1,
        renewTime: ago(14_000),
        leaseDurationSeconds: 15,
      }),
      expected: { action: 'wait', holder: other },
    },
    {
      name: 'another holder exactly at the lease duration: still wait',
      lease: lease({
        holderIdentity: other,
        leaseTransitions: 1,
        renewTime: ago(15_000),
        leaseDurationSeconds: 15,
      }),
      expected: { action: 'wait', holder: other },
    },
    {
      name: 'another holder past the lease duration: acquire, transitions + 1',
      lease: lease({
        holderIdentity: other,
        leaseTransitions: 1,
        renewTime: ago(15_001),
        leaseDurationSeconds: 15,
      }),
      expected: { action: 'acquire', transitions: 2 },
    },
    {
      name: 'another holder that never renewed: acquire',
      lease: lease({ holderIdentity: other }),
      expected: { action: 'acquire', transitions: 1 },
    },
    {
      name: 'the lease duration wins over ours: 60 s lease renewed 30 s ago is still held',
      lease: lease({
        holderIdentity: other,
        leaseTransitions: 7,
        renewTime: ago(30_000),
        leaseDurationSeconds: 60,
      }),
      expected: { action: 'wait', holder: other },
    },
    {
      name: 'the lease duration wins over ours: 5 s lease renewed 6 s ago has expired',
      lease: lease({
        holderIdentity: other,
        leaseTransitions: 7,
        renewTime: ago(6_000),
        leaseDurationSeconds: 5,
      }),
      expected: { action: 'acquire', transitions: 8 },
    },
    {
      name: 'no duration on the lease: our 15 s applies (14 s ago: wait)',
      lease: lease({ holderIdentity: other, renewTime: ago(14_000) }),
      expected: { action: 'wait', holder: other },
    },
    {
      name: 'no duration on the lease: our 15 s applies (16 s ago: acquire)',
      lease: lease({ holderIdentity: other, renewTime: ago(16_000) }),
      expected: { action: 'acquire', transitions: 1 },
    },
  ])('$name', ({ lease: given, expected }) => {
    expect(decideLease(given, me, now, durationMs)).toEqual(expected);
  });

  it('reads a renewTime given as an RFC 3339 string (as a raw API response may carry it)', () => {
    const raw = lease({ holderIdentity: other, leaseDurationSeconds: 15 });
    (raw.spec as Record<string, unknown>).renewTime = ago(5_000).toISOString();
    expect(decideLease(raw, me, now, durationMs)).toEqual({ action: 'wait', holder: other });
  });
});

describe('microTime', () => {
  it.each([
    ['2025-06-01T12:00:00.000Z', '2025-06-01T12:00:00.000000Z'],
    ['2025-06-01T12:00:00.123Z', '2025-06-01T12:00:00.123000Z'],
    ['1999-12-31T23:59:59.999Z', '1999-12-31T23:59:59.999000Z'],
  ])('%s is written with six fractional digits: %s', (iso, expected) => {
    expect(microTime(new Date(iso))).toBe(expected);
  });
});

describe('runLeaderElection', () => {
  it('gives up leadership at renewDeadline while a renewal hangs, not when the request ends', async () => {
    const stored: { lease?: unknown } = {};
    const writes: string[] = [];
    const api: KubeApi = {
      get: async <T>() => {
        if (!stored.lease) throw new KubeApiError('GET', '/lease', 404, '{"message":"not found"}');
        return stored.lease as T;
      },
      create: async <T>(path: string, body: unknown) => {
        writes.push(`create ${path}`);
        stored.lease = { ...(body as object), metadata: { name: 'l', resourceVersion: '1' } };
        return stored.lease as T;
      },
      // Every renewal hangs: the apiserver stopped answering after the lease was taken.
      replace: (path: string) => {
        writes.push(`replace ${path}`);
        return new Promise(() => {});
      },
      patch: () => Promise.reject(new Error('not used')),
      remove: () => Promise.reject(new Error('not used')),
      watch: () => Promise.reject(new Error('not used')),
    };
    const events: string[] = [];
    let lost: () => void = () => {};
    const gone = new Promise<void>((resolve) => {
      lost = resolve;
    });
    const quiet = { info() {}, warn() {}, error() {} } as unknown as Logger;
    const election = runLeaderElection({
      api,
      config: {
        namespace: 'ns',
        name: 'l',
        identity: me,
        leaseDurationMs: 300,
        renewDeadlineMs: 200,
        retryPeriodMs: 20,
      },
      log: quiet,
      onStarted: () => events.push('started'),
      onLost: () => {
        events.push('lost');
        lost();
      },
    });
    await gone;
    expect(events).toStrictEqual(['started', 'lost']);
    expect(election.isLeader()).toBe(false);
    expect(writes).toStrictEqual([
      'create /apis/coordination.k8s.io/v1/namespaces/ns/leases',
      'replace /apis/coordination.k8s.io/v1/namespaces/ns/leases/l',
    ]);
    await election.stop();
  });
});
