// One of two NFS servers frozen (SIGSTOP) for over a minute, then killed and restarted, under
// `warren node --controller` in the qemu guest, whose kernel mounts both exports (hard mounts,
// as kubelet makes them). The other share keeps provisioning and releasing; the frozen one fails
// fast with UNAVAILABLE naming it, holds at most one stuck worker, and works again by itself once
// its server answers. Nothing outside the volumes' directories changes on either export.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../hack/bed/guest-plugin.ts';
import { type CsiClients, call, csiClients } from '../unit/csi-grpc-client.ts';
import { guestNode, resultsDir, type Share, startTwoShares, type TwoShares } from './two-shares.ts';

const pluginPort = 10000;
const freezeMs = 65_000;
let bed: TwoShares;
let clients: CsiClients;
let shares: TwoShares['shares'];
const before: Record<string, string[]> = {};
/** Every volume created, by share: all of them are deleted by the end. */
const created: Record<'a' | 'b', Set<string>> = { a: new Set(), b: new Set() };

function createRequest(share: Share, name: string) {
  return {
    name,
    volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' as const } }],
    parameters: { server: share.server, share: '/export', subDir: 'vols/${pv.metadata.name}' },
  };
}

type Attempt =
  | { ok: true; ms: number; volumeId: string }
  | { ok: false; ms: number; code: number; details: string };

async function attempt(
  run: () => Promise<{ volume?: { volume_id?: string } | null } | object>,
): Promise<Attempt> {
  const started = performance.now();
  try {
    const res = (await run()) as { volume?: { volume_id?: string } | null };
    return { ok: true, ms: performance.now() - started, volumeId: res.volume?.volume_id ?? '' };
  } catch (err) {
    const e = err as ServiceError;
    return { ok: false, ms: performance.now() - started, code: e.code, details: e.details };
  }
}

const createVolume = (share: Share, name: string) =>
  attempt(async () => {
    const res = await call(
      clients.controller.CreateVolume.bind(clients.controller),
      createRequest(share, name),
    );
    created[share.name].add(res.volume?.volume_id ?? '');
    return res;
  });
const deleteVolume = (share: Share, volumeId: string) =>
  attempt(async () => {
    const res = await call(clients.controller.DeleteVolume.bind(clients.controller), { volume_id: volumeId });
    created[share.name].delete(volumeId);
    return res;
  });

const workersOf = (server: string) => bed.workersOf(server);

/** Retries like a CO would (doubling pauses up to 8 s) until the call succeeds or `ms` pass. */
async function eventually(run: () => Promise<Attempt>, ms: number): Promise<Attempt & { tries: number }> {
  const deadline = Date.now() + ms;
  let pause = 500;
  for (let tries = 1; ; tries++) {
    const r = await run();
    if (r.ok || Date.now() > deadline) return { ...r, tries };
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(8_000, pause * 2);
  }
}

/**
 * While share A's server is down for `downMs`: B creates and deletes volumes back to back, A is
 * asked for new volumes with CO-like backoff and for the deletion of `aVolume`; the guest's A
 * workers are counted every few seconds.
 */
async function whileDown(downMs: number, aVolume: string) {
  const until = Date.now() + downMs;
  const b: Attempt[] = [];
  const bDeletes: Attempt[] = [];
  const a: Attempt[] = [];
  const aWorkers: number[] = [];
  const bLoop = (async () => {
    for (let n = 0; Date.now() < until; n++) {
      const r = await createVolume(shares.b, `b-down-${Date.now()}-${n}`);
      b.push(r);
      if (r.ok && n % 2 === 1) bDeletes.push(await deleteVolume(shares.b, r.volumeId));
    }
  })();
  const aLoop = (async () => {
    let pause = 1_000;
    for (let n = 0; Date.now() < until; n++) {
      a.push(await createVolume(shares.a, `a-down-${Date.now()}-${n}`));
      if (n === 1) a.push(await deleteVolume(shares.a, aVolume));
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(8_000, pause * 2);
    }
  })();
  const sampler = (async () => {
    while (Date.now() < until) {
      aWorkers.push(await workersOf(shares.a.server));
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  })();
  await Promise.all([bLoop, aLoop, sampler]);
  return { a, b, bDeletes, aWorkers };
}

function summary(
  label: string,
  r: Awaited<ReturnType<typeof whileDown>>,
  seconds: number,
  baselinePerS: number,
) {
  const okB = r.b.filter((x) => x.ok).length;
  const slowestB = Math.max(...r.b.map((x) => x.ms));
  const aMs = r.a.map((x) => Math.round(x.ms));
  console.log(
    `${label}: share B ${okB} CreateVolume OK in ${seconds} s = ${(okB / seconds).toFixed(2)}/s ` +
      `(healthy baseline ${baselinePerS.toFixed(2)}/s; slowest ${slowestB.toFixed(0)} ms), ` +
      `${r.bDeletes.filter((x) => x.ok).length} DeleteVolume OK; share A calls (ms): ${aMs.join(', ')}; ` +
      `A worker processes sampled: ${r.aWorkers.join(', ')}`,
  );
}

beforeAll(async () => {
  bed = await startTwoShares({ forwards: [pluginPort], logName: 'share-freeze' });
  shares = bed.shares;
  const setup = await bed.sh(
    `cd ${repoRoot} && NODE_NAME=guest-node setsid ${guestNode} src/cli.ts node --endpoint=tcp://0.0.0.0:${pluginPort}` +
      ` --controller${bed.shareFlags} --log-level=debug > /tmp/warren-node.log 2>&1 < /dev/null &`,
  );
  if (setup.code !== 0) throw new Error(`starting warren node in the guest failed: ${setup.stderr}`);
  clients = csiClients(`127.0.0.1:${bed.guest.hostPortFor(pluginPort)}`);
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      await call(clients.identity.Probe.bind(clients.identity), {});
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`warren node did not answer in the guest: ${err}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  for (const name of ['a', 'b'] as const) before[name] = await bed.tree(name);
}, 300_000);

afterAll(async () => {
  clients?.close();
  const log = await bed?.sh('cat /tmp/warren-node.log', 10_000).catch(() => undefined);
  if (log) writeFileSync(join(resultsDir, 'share-freeze-warren.log'), log.stdout);
  await bed?.stop();
}, 120_000);

/** Healthy rate on share B: sequential CreateVolume calls per second. */
async function baselineRate(n: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++)
    expect((await createVolume(shares.b, `b-base-${Date.now()}-${i}`)).ok).toBe(true);
  return n / ((performance.now() - started) / 1000);
}

function expectDownOutcomes(r: Awaited<ReturnType<typeof whileDown>>) {
  // Share B: every call succeeded, and many completed while A was down (none could if A's stuck
  // calls held the process's I/O threads, as they did before share I/O had its own processes).
  expect(r.b.filter((x) => !x.ok)).toEqual([]);
  expect(r.b.length).toBeGreaterThanOrEqual(10);
  expect(r.bDeletes.filter((x) => !x.ok)).toEqual([]);
  // Share A: UNAVAILABLE naming the share and saying what happens; later calls fail at once, so
  // there are several within the outage (a call waiting for the server would take all of it).
  expect(r.a.length).toBeGreaterThanOrEqual(5);
  for (const x of r.a) {
    expect(x).toMatchObject({ ok: false, code: status.UNAVAILABLE });
    expect(x.ok ? '' : x.details).toContain('share nfs-a:/export (mounted at /exports/a) is not answering');
  }
  // One stuck worker for the share at most, however many calls came.
  expect(Math.max(...r.aWorkers)).toBeLessThanOrEqual(1);
}

/** After the server is back: the same kind of calls on A succeed again without any restart. */
async function expectRecovered(aVolume: string) {
  const again = await eventually(() => createVolume(shares.a, `a-after-${Date.now()}`), 120_000);
  expect(again).toMatchObject({ ok: true });
  expect(await eventually(() => deleteVolume(shares.a, aVolume), 60_000)).toMatchObject({ ok: true });
  expect(await workersOf(shares.a.server)).toBe(1);
  return again;
}

describe('one NFS server stops answering under the CSI Controller service in the guest', () => {
  let baseline = 0;

  it('frozen (SIGSTOP) for 65 s: the other share works at its usual rate, this one fails fast and recovers', async () => {
    baseline = await baselineRate(10);
    const aVolume = await createVolume(shares.a, 'a-before-freeze');
    expect(aVolume).toMatchObject({ ok: true });
    process.kill(shares.a.nfs.ganesha.pid, 'SIGSTOP');
    let r: Awaited<ReturnType<typeof whileDown>>;
    try {
      r = await whileDown(freezeMs, aVolume.ok ? aVolume.volumeId : '');
    } finally {
      process.kill(shares.a.nfs.ganesha.pid, 'SIGCONT');
    }
    summary('A frozen', r, freezeMs / 1000, baseline);
    expectDownOutcomes(r);
    const again = await expectRecovered(aVolume.ok ? aVolume.volumeId : '');
    console.log(`A answered again: CreateVolume OK after ${again.tries} tries`);
  }, 400_000);

  it('killed (SIGKILL) and restarted 30 s later: the same', async () => {
    const aVolume = await createVolume(shares.a, 'a-before-kill');
    expect(aVolume).toMatchObject({ ok: true });
    const restart = await bed.killA();
    const r = await whileDown(30_000, aVolume.ok ? aVolume.volumeId : '');
    restart();
    summary('A killed', r, 30, baseline);
    expectDownOutcomes(r);
    await expectRecovered(aVolume.ok ? aVolume.volumeId : '');
  }, 400_000);

  it('leaves everything outside the volumes directories as it was', async () => {
    for (const name of ['a', 'b'] as const) {
      for (const volumeId of [...created[name]]) {
        expect(await eventually(() => deleteVolume(shares[name], volumeId), 60_000)).toMatchObject({
          ok: true,
        });
      }
      const after = await bed.tree(name);
      // Warren's own records live in .warren/; every volume was deleted again.
      expect(after.filter((e) => !e.startsWith('.warren'))).toEqual(
        before[name]?.filter((e) => !e.startsWith('.warren')),
      );
    }
  }, 300_000);
});
