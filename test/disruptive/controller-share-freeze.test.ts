// `warren controller` in the qemu guest, its two exports mounted by the guest's kernel (hard NFS
// 4.1 mounts, as kubelet mounts them into the controller pod), talking to the bed's apiserver.
// The first NFS server is frozen (SIGSTOP) for 65 s while claims arrive for both shares: claims
// on the other share are provisioned and released meanwhile; those on the frozen one get a
// Warning naming the share, warren_share_available drops to 0, retries back off, and everything
// completes by itself once the server answers again. The same server frozen mid-clone: the copy
// stops (its copy worker ended), the other share provisions, the clone completes by itself after.
// Then the server killed and restarted 30 s later: the same outcomes. Nothing outside the volumes'
// directories changes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { metricValue } from '../../hack/bed/controller.ts';
import { repoRoot } from '../../hack/bed/guest-plugin.ts';
import { poll } from '../../hack/lib/poll.ts';
import {
  createClaim,
  createClass,
  eventsFor,
  provisionerFor,
  waitBound,
  waitGone,
} from '../integration/fixtures.ts';
import { bedClients, freshNamespace } from '../integration/kube.ts';
import { guestNode, resultsDir, startTwoShares, type TwoShares } from './two-shares.ts';

const metricsPort = 9090;
const freezeMs = 65_000;
const killMs = 30_000;
const provisioner = provisionerFor('share-freeze');
const suffix = Date.now().toString(36);
const { core, storage } = bedClients();
let bed: TwoShares;
let ns: string;
let metricsUrl: string;
const before: Record<string, string[]> = {};
const cls = (name: 'a' | 'b') => `freeze-${name}-${suffix}`;
const apiPort = Number(new URL(inject('bed').WARREN_APISERVER).port);

beforeAll(async () => {
  bed = await startTwoShares({
    forwards: [metricsPort],
    // The guest reaches the apiserver at the kubeconfig's own address, 127.0.0.1:PORT.
    relays: [{ listen: apiPort, port: apiPort }],
    logName: 'controller-share-freeze',
  });
  ns = await freshNamespace(core, 'freeze');
  for (const name of ['a', 'b'] as const) {
    await createClass(storage, cls(name), {
      provisioner,
      parameters: {
        server: bed.shares[name].server,
        share: '/export',
        subDir: 'vols/${pvc.metadata.namespace}-${pvc.metadata.name}',
      },
    });
    before[name] = await bed.tree(name);
  }
  const started = await bed.sh(
    `cd ${repoRoot} && setsid ${guestNode} src/cli.ts controller --kubeconfig=${inject('bed').KUBECONFIG}` +
      ` --provisioner=${provisioner}${bed.shareFlags} --metrics-address=0.0.0.0:${metricsPort}` +
      ' --leader-elect=false --log-level=debug > /tmp/warren-controller.log 2>&1 < /dev/null &',
  );
  if (started.code !== 0)
    throw new Error(`starting warren controller in the guest failed: ${started.stderr}`);
  metricsUrl = `http://127.0.0.1:${bed.guest.hostPortFor(metricsPort)}`;
  await poll(
    () => fetch(`${metricsUrl}/readyz`).then((r) => r.status),
    (s) => s === 200,
    { what: 'the controller in the guest to be ready', timeoutMs: 300_000, intervalMs: 1_000 },
  );
}, 600_000);

afterAll(async () => {
  const log = await bed?.sh('cat /tmp/warren-controller.log', 10_000).catch(() => undefined);
  if (log) writeFileSync(join(resultsDir, 'controller-share-freeze-warren.log'), log.stdout);
  await bed?.stop();
  for (const name of ['a', 'b'] as const)
    await storage.deleteStorageClass({ name: cls(name) }).catch(() => undefined);
}, 120_000);

/**
 * The retries the controller logged for claims named `prefix`-N: the healthy share's own (its
 * intent write loses a race with the binder's first write now and then), which
 * warren_retries_total counts along with the frozen share's.
 */
async function retriesLoggedFor(prefix: string): Promise<number> {
  const log = await bed.sh('cat /tmp/warren-controller.log', 10_000);
  return log.stdout.split('\n').filter((line) => {
    if (!line.includes('will retry')) return false;
    try {
      return String((JSON.parse(line) as { name?: unknown }).name).startsWith(`${prefix}-`);
    } catch {
      return false;
    }
  }).length;
}

const available = (name: 'a' | 'b') =>
  metricValue(metricsUrl, 'warren_share_available', { share: `${bed.shares[name].server}:/export` });

/** Creates `n` claims of share b one after another, each waited for until Bound; claims per second. */
async function provisionB(prefix: string, n: number): Promise<{ perSecond: number; names: string[] }> {
  const started = performance.now();
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${i}`;
    await createClaim(core, ns, name, cls('b'));
    await waitBound(core, ns, name, 60_000);
    names.push(name);
  }
  return { perSecond: n / ((performance.now() - started) / 1000), names };
}

async function deleteClaimAndVolume(name: string, timeoutMs = 60_000) {
  const { pv } = await waitBound(core, ns, name);
  await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name });
  await waitGone(
    () => core.readPersistentVolume({ name: pv.metadata?.name ?? '' }),
    `PV of ${name}`,
    timeoutMs,
  );
}

it('provisions and releases on the healthy share while the other is frozen, then catches up by itself', async () => {
  // The gauges appear with the first probe, which starts each share's worker.
  for (const name of ['a', 'b'] as const)
    await poll(
      () => available(name),
      (v) => v === 1,
      { what: `share ${name} to be available`, timeoutMs: 120_000 },
    );
  const baseline = await provisionB('b-base', 8);
  await createClaim(core, ns, 'a-pre', cls('a'));
  const { pv: aPrePv } = await waitBound(core, ns, 'a-pre');
  const retriesBefore = await metricValue(metricsUrl, 'warren_retries_total');

  const ganesha = bed.shares.a.nfs.ganesha;
  const frozenAt = Date.now();
  process.kill(ganesha.pid, 'SIGSTOP');
  let during: Awaited<ReturnType<typeof provisionB>>;
  const aWorkers: number[] = [];
  const gaugeWhileFrozen: number[] = [];
  try {
    // Claims for the frozen share, and the release of one of its volumes.
    for (let i = 0; i < 4; i++) await createClaim(core, ns, `a-frozen-${i}`, cls('a'));
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'a-pre' });
    // Meanwhile the other share: claims provisioned and released one after another.
    const sampler = (async () => {
      await new Promise((r) => setTimeout(r, 10_000)); // the first calls notice the freeze within ~7 s
      while (Date.now() - frozenAt < freezeMs - 5_000) {
        aWorkers.push(await bed.workersOf(bed.shares.a.server));
        gaugeWhileFrozen.push(await available('a'));
        await new Promise((r) => setTimeout(r, 10_000));
      }
    })();
    const names: string[] = [];
    const started = performance.now();
    while (Date.now() - frozenAt < freezeMs - 10_000) {
      const batch = await provisionB(`b-frozen-${names.length}`, 1);
      names.push(...batch.names);
      if (names.length % 3 === 0) await deleteClaimAndVolume(names.at(-1) ?? '');
    }
    during = { perSecond: names.length / ((performance.now() - started) / 1000), names };
    await sampler;
    // Still frozen: the frozen share's claims wait, with events that say why.
    const events = await eventsFor(core, ns, 'a-frozen-0');
    const warning = events.find((e) => e.reason === 'ProvisioningFailed');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toContain('share nfs-a:/export (mounted at /exports/a) is not answering');
    // Events of a PV (cluster-scoped) are written to the default namespace.
    const pvEvents = await eventsFor(core, 'default', aPrePv.metadata?.name ?? '');
    const failedDelete = pvEvents.find((e) => e.reason === 'VolumeFailedDelete');
    expect(failedDelete?.type).toBe('Warning');
    expect(failedDelete?.message).toContain('share nfs-a:/export (mounted at /exports/a) is not answering');
    for (let i = 0; i < 4; i++) {
      const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: `a-frozen-${i}` });
      expect(claim.status?.phase).toBe('Pending');
    }
    expect((await core.readPersistentVolume({ name: aPrePv.metadata?.name ?? '' })).status?.phase).toBe(
      'Released',
    );
    expect(await available('b')).toBe(1);
    const waited = freezeMs - (Date.now() - frozenAt);
    if (waited > 0) await new Promise((r) => setTimeout(r, waited));
  } finally {
    process.kill(ganesha.pid, 'SIGCONT');
  }
  const frozenFor = Date.now() - frozenAt;
  const bRetries = await retriesLoggedFor('b-frozen');
  const retriesDuring = (await metricValue(metricsUrl, 'warren_retries_total')) - retriesBefore - bRetries;
  console.log(
    `share a frozen ${(frozenFor / 1000).toFixed(0)} s: share b provisioned ${during.names.length} claims ` +
      `(${during.perSecond.toFixed(2)} Bound/s, one at a time; healthy baseline ${baseline.perSecond.toFixed(2)}/s); ` +
      `retries meanwhile ${retriesDuring} (and share b's own ${bRetries}); a's worker processes sampled ${aWorkers.join(', ')}; ` +
      `warren_share_available{a} sampled ${gaugeWhileFrozen.join(', ')}`,
  );
  // The healthy share kept working: claims kept being provisioned (none could be, before share I/O
  // had processes of its own, once four calls on the frozen share held libuv's threads).
  expect(during.names.length).toBeGreaterThanOrEqual(3);
  // The frozen share: the gauge was 0 from 10 s on, one stuck worker at most,
  // and retries backed off: 5 keys doubling from 250 ms to 30 s retry ~9 times each in 65 s.
  expect(gaugeWhileFrozen.length).toBeGreaterThan(0);
  expect(gaugeWhileFrozen.every((v) => v === 0)).toBe(true);
  expect(Math.max(...aWorkers)).toBeLessThanOrEqual(1);
  expect(retriesDuring).toBeLessThan(150);

  // The server answers again: everything completes without anyone touching the controller.
  for (let i = 0; i < 4; i++) await waitBound(core, ns, `a-frozen-${i}`, 120_000);
  await waitGone(
    () => core.readPersistentVolume({ name: aPrePv.metadata?.name ?? '' }),
    'PV of a-pre',
    120_000,
  );
  await poll(
    () => available('a'),
    (v) => v === 1,
    { what: 'share a to be available again', timeoutMs: 60_000 },
  );
}, 600_000);

/** Claims of share b, one after another, each Bound (every third released) until `until` (epoch ms). */
async function provisionBUntil(prefix: string, until: number) {
  const names: string[] = [];
  const started = performance.now();
  while (Date.now() < until) {
    const batch = await provisionB(`${prefix}-${names.length}`, 1);
    names.push(...batch.names);
    if (names.length % 3 === 0) await deleteClaimAndVolume(names.at(-1) ?? '');
  }
  return { perSecond: names.length / ((performance.now() - started) / 1000), names };
}

/** The entries below `vols/NS-NAME/` on share a's disk, relative to that directory. */
async function volumeTree(name: string): Promise<string[]> {
  const prefix = `vols/${ns}-${name}/`;
  // Not the directory's own entry (`vols/NS-NAME/ MODE`).
  return (await bed.tree('a'))
    .filter((e) => e.startsWith(prefix) && !e.startsWith(`${prefix} `))
    .map((e) => e.slice(prefix.length));
}

const warningsOf = async (name: string) =>
  (await eventsFor(core, ns, name)).filter((e) => e.type === 'Warning').map((e) => e.message ?? '');

it('a clone whose share freezes mid-copy: the other share provisions meanwhile, the clone completes by itself', async () => {
  await createClaim(core, ns, 'a-origin', cls('a'));
  await waitBound(core, ns, 'a-origin');
  // Written through the guest's NFS mount (behind the server's back its caches could miss them):
  // a 16 MiB file the copy starts with, then 1,000 small files in 20 directories (enough
  // for the copy to outlast the freeze's start, few enough to keep the copy after it short under TCG).
  const filled = await bed.sh(
    `${guestNode} -e 'const fs = require("node:fs"); const d = process.argv[1];` +
      ` fs.writeFileSync(d + "/big", require("node:crypto").randomBytes(16 << 20));` +
      ` for (let i = 0; i < 1000; i++) { const s = d + "/d" + (i % 20); fs.mkdirSync(s, { recursive: true });` +
      ` fs.writeFileSync(s + "/f" + i, "file " + i + "\\n"); }' /exports/a/vols/${ns}-a-origin`,
    600_000,
  );
  expect(filled).toMatchObject({ code: 0 });
  const source = await volumeTree('a-origin');
  expect(source.length).toBe(1 + 20 + 1000);
  const bytesBefore = await metricValue(metricsUrl, 'warren_clone_copied_bytes_total');
  await core.createNamespacedPersistentVolumeClaim({
    namespace: ns,
    body: {
      metadata: { name: 'a-clone' },
      spec: {
        storageClassName: cls('a'),
        accessModes: ['ReadWriteMany'],
        resources: { requests: { storage: '1Gi' } },
        dataSource: { kind: 'PersistentVolumeClaim', name: 'a-origin' },
      },
    },
  });
  // Frozen once the copy is under way: it has written bytes and is still running.
  await poll(
    async () => ({
      bytes: (await metricValue(metricsUrl, 'warren_clone_copied_bytes_total')) - bytesBefore,
      running: await metricValue(metricsUrl, 'warren_clone_copies_running'),
    }),
    (m) => m.bytes > 0 && m.running === 1,
    { what: 'the copy to be under way', timeoutMs: 180_000, intervalMs: 200 },
  );
  const ganesha = bed.shares.a.nfs.ganesha;
  const frozenAt = Date.now();
  process.kill(ganesha.pid, 'SIGSTOP');
  const copyWorkers: number[] = [];
  const gauge: number[] = [];
  let during: Awaited<ReturnType<typeof provisionBUntil>>;
  let warnings: string[];
  try {
    const sampler = (async () => {
      await new Promise((r) => setTimeout(r, 15_000)); // the copy notices within ~10 s
      while (Date.now() - frozenAt < freezeMs - 5_000) {
        copyWorkers.push(await bed.workersOf(bed.shares.a.server, 'share-copy-worker-main'));
        gauge.push(await available('a'));
        await new Promise((r) => setTimeout(r, 10_000));
      }
    })();
    during = await provisionBUntil('b-clone-frozen', frozenAt + freezeMs - 10_000);
    await sampler;
    warnings = await warningsOf('a-clone');
    const clone = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'a-clone' });
    expect(clone.status?.phase).toBe('Pending');
    const waited = freezeMs - (Date.now() - frozenAt);
    if (waited > 0) await new Promise((r) => setTimeout(r, waited));
  } finally {
    process.kill(ganesha.pid, 'SIGCONT');
  }
  console.log(
    `share a frozen mid-clone ${((Date.now() - frozenAt) / 1000).toFixed(0)} s: share b provisioned ` +
      `${during.names.length} claims (${during.perSecond.toFixed(2)} Bound/s); a's copy workers sampled ` +
      `${copyWorkers.join(', ')}; warren_share_available{a} sampled ${gauge.join(', ')}; ` +
      `the clone's warnings: ${JSON.stringify([...new Set(warnings)])}`,
  );
  // The copy was stopped for the frozen share, and the user told which share and why.
  expect(
    warnings.some(
      (m) => m.includes('copy from claim') && m.includes('the copy on share nfs-a:/export stopped'),
    ),
  ).toBe(true);
  expect(during.names.length).toBeGreaterThanOrEqual(3);
  expect(gauge.length).toBeGreaterThan(0);
  expect(gauge.every((v) => v === 0)).toBe(true);
  expect(Math.max(...copyWorkers)).toBeLessThanOrEqual(1);

  // The server answers again: the copy starts again by itself and completes.
  const { claim } = await waitBound(core, ns, 'a-clone', 600_000);
  expect(claim.metadata?.annotations?.['warren.dev/cloned-from']).toBe(`${ns}/a-origin`);
  expect(await volumeTree('a-clone')).toEqual(source);
  const started = (await eventsFor(core, ns, 'a-clone')).filter((e) => e.reason === 'CloneStarted');
  expect(started.reduce((n, e) => n + (e.count ?? 1), 0)).toBeGreaterThanOrEqual(2);
  await poll(
    () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'a-origin' }),
    (c) => !(c.metadata?.finalizers ?? []).includes('warren.dev/clone-source'),
    { what: 'the clone source to be let go', timeoutMs: 60_000 },
  );
}, 1_500_000);

it('share a killed (SIGKILL) and restarted 30 s later: claims and releases wait with Warnings, then complete by themselves', async () => {
  await poll(
    () => available('a'),
    (v) => v === 1,
    { what: 'share a to be available', timeoutMs: 60_000 },
  );
  await createClaim(core, ns, 'a-prekill', cls('a'));
  const { pv: prePv } = await waitBound(core, ns, 'a-prekill');
  const retriesBefore = await metricValue(metricsUrl, 'warren_retries_total');
  const killedAt = Date.now();
  const restart = await bed.killA();
  const gauge: number[] = [];
  let during: Awaited<ReturnType<typeof provisionBUntil>>;
  try {
    for (let i = 0; i < 3; i++) await createClaim(core, ns, `a-killed-${i}`, cls('a'));
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'a-prekill' });
    const sampler = (async () => {
      await new Promise((r) => setTimeout(r, 12_000));
      while (Date.now() - killedAt < killMs - 3_000) {
        gauge.push(await available('a'));
        await new Promise((r) => setTimeout(r, 5_000));
      }
    })();
    during = await provisionBUntil('b-killed', killedAt + killMs - 5_000);
    await sampler;
    const claimWarning = (await warningsOf('a-killed-0')).find((m) =>
      m.includes('share nfs-a:/export (mounted at /exports/a) is not answering'),
    );
    expect(claimWarning).toBeDefined();
    const pvEvents = await eventsFor(core, 'default', prePv.metadata?.name ?? '');
    const failedDelete = pvEvents.find((e) => e.reason === 'VolumeFailedDelete');
    expect(failedDelete?.type).toBe('Warning');
    expect(failedDelete?.message).toContain('share nfs-a:/export (mounted at /exports/a) is not answering');
    for (let i = 0; i < 3; i++) {
      const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: `a-killed-${i}` });
      expect(claim.status?.phase).toBe('Pending');
    }
    expect((await core.readPersistentVolume({ name: prePv.metadata?.name ?? '' })).status?.phase).toBe(
      'Released',
    );
    const waited = killMs - (Date.now() - killedAt);
    if (waited > 0) await new Promise((r) => setTimeout(r, waited));
  } finally {
    restart();
  }
  const bRetries = await retriesLoggedFor('b-killed');
  const retries = (await metricValue(metricsUrl, 'warren_retries_total')) - retriesBefore - bRetries;
  console.log(
    `share a killed ${((Date.now() - killedAt) / 1000).toFixed(0)} s: share b provisioned ${during.names.length} ` +
      `claims (${during.perSecond.toFixed(2)} Bound/s); retries meanwhile ${retries} (and share b's own ${bRetries}); ` +
      `warren_share_available{a} sampled ${gauge.join(', ')}`,
  );
  expect(during.names.length).toBeGreaterThanOrEqual(2);
  expect(gauge.length).toBeGreaterThan(0);
  expect(gauge.every((v) => v === 0)).toBe(true);
  // 4 keys backing off from 250 ms to 30 s retry about 8 times each in 30 s.
  expect(retries).toBeLessThan(80);

  // Restarted: everything completes without anyone touching the controller.
  const recoveredAt = Date.now();
  for (let i = 0; i < 3; i++) await waitBound(core, ns, `a-killed-${i}`, 300_000);
  await waitGone(
    () => core.readPersistentVolume({ name: prePv.metadata?.name ?? '' }),
    'PV of a-prekill',
    300_000,
  );
  await poll(
    () => available('a'),
    (v) => v === 1,
    { what: 'share a to be available again', timeoutMs: 60_000 },
  );
  console.log(
    `share a restarted: its claims Bound and its release done ${((Date.now() - recoveredAt) / 1000).toFixed(0)} s later`,
  );
}, 900_000);

it('leaves everything outside the volumes directories as it was once every claim is gone', async () => {
  const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: ns });
  for (const c of claims.items) await deleteClaimAndVolume(c.metadata?.name ?? '', 120_000);
  for (const name of ['a', 'b'] as const) {
    const after = await bed.tree(name);
    expect(after.filter((e) => !e.startsWith('.warren'))).toEqual(
      before[name]?.filter((e) => !e.startsWith('.warren')),
    );
  }
}, 300_000);
