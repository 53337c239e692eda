// One bench run of one contender on the bed: the floor (pre-bound pairs), or a provisioner that
// turns N claims of its class into Bound volumes and releases them again.
import type { CoreV1Api, KubeConfig, StorageV1Api } from '@kubernetes/client-node';
import { byRequest, conflictsOf, difference, readWrites } from './api-writes.ts';
import { claimNames, createClaims, createPairs, deleteClaims, pool } from './claims.ts';
import { observe } from './observer.ts';
import { type ContenderResult, summarize } from './report.ts';
import { type MemoryReading, type RssSampler, readMemory, sampleRss } from './rss.ts';

export interface Api {
  kc: KubeConfig;
  core: CoreV1Api;
  storage: StorageV1Api;
}

export interface RunOptions {
  claims: number;
  /** Requests the bench itself keeps in flight while creating and deleting. */
  concurrency: number;
  /** Claims per second, created at a steady rate; unset: all at once. */
  rate?: number;
  /** Provisioners start only once every claim exists; their clock starts when they are ready. */
  backlog?: boolean;
}

const paceOf = (opts: RunOptions) => (opts.rate ? 1000 / opts.rate : undefined);

const progress = (label: string, done: Map<string, number>, total: number) => () =>
  `${label}: ${done.size}/${total}`;

const mbOf = (kb: number) => kb / 1024;
const peakSplit = (m: MemoryReading | undefined) =>
  m?.anonKb === undefined || m.fileKb === undefined
    ? {}
    : { peakAnonMb: mbOf(m.anonKb), peakFileMb: mbOf(m.fileKb) };

export async function runFloor(api: Api, opts: RunOptions): Promise<ContenderResult> {
  const namespace = 'bench-floor';
  const names = claimNames(opts.claims);
  const pvName = (claim: string) => `floor-${claim}`;
  await api.core.createNamespace({ body: { metadata: { name: namespace } } });
  const claims = await observe(api.kc, `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, () => true);
  const volumes = await observe(api.kc, '/api/v1/persistentvolumes', (pv) =>
    Boolean(pv.metadata?.name?.startsWith('floor-')),
  );
  const before = await readWrites(api.kc);
  try {
    const startMs = performance.now();
    const created = await createPairs(api.core, namespace, names, opts.concurrency, pvName, paceOf(opts));
    const pvsMs = performance.now() - startMs;
    await claims.until(
      'the floor claims to be Bound',
      () => claims.bound.size === opts.claims,
      progress('Bound', claims.bound, opts.claims),
    );
    const writes = difference(await readWrites(api.kc), before);
    const summary = summarize({ created, bound: claims.bound, pvSeen: new Map() }, startMs);
    // Release floor: kube-controller-manager's share of any release (pvc-protection lets each claim
    // go, the binder marks its PV Released), with no provisioner after it.
    const beforeRelease = await readWrites(api.kc);
    const releaseStart = performance.now();
    await deleteClaims(api.core, namespace, names, opts.concurrency);
    await volumes.until(
      'the floor claims to be gone and their PVs Released',
      () => claims.gone.size === opts.claims && volumes.released.size === opts.claims,
      () =>
        `claims gone ${claims.gone.size}/${opts.claims}, PVs Released ${volumes.released.size}/${opts.claims}`,
    );
    const releaseMs = performance.now() - releaseStart;
    const releaseWrites = byRequest(difference(await readWrites(api.kc), beforeRelease));
    // Not timed: the PVs go (and are waited for: pv-protection's writes would otherwise load the
    // next contender's run), so that later contenders' informers do not carry them.
    await pool(names, opts.concurrency, (name) => api.core.deletePersistentVolume({ name: pvName(name) }));
    await volumes.until(
      'the floor PVs to be gone',
      () => volumes.gone.size === opts.claims,
      progress('PVs gone', volumes.gone, opts.claims),
    );
    return {
      name: 'floor',
      claims: opts.claims,
      startMs,
      ...summary,
      pvsMs,
      releaseMs,
      memory: [],
      conflicts: conflictsOf(writes),
      writes: byRequest(writes),
      releaseWrites,
    };
  } finally {
    claims.stop();
    volumes.stop();
  }
}

export interface Provisioner {
  name: string;
  /** The StorageClass's provisioner field. */
  provisionerName: string;
  /** Starts the processes and returns once they are ready to provision. */
  start(): Promise<{ processes: Array<{ name: string; pid: number }>; stop(): Promise<void> }>;
}

export async function runProvisioner(
  api: Api,
  opts: RunOptions & { server: string; share: string; idleSettleMs?: number },
  provisioner: Provisioner,
): Promise<ContenderResult & { rss: Array<{ process: string; samples: Array<[number, number]> }> }> {
  const id = provisioner.name.replace(/[^a-z0-9-]+/g, '-');
  const namespace = `bench-${id}`;
  const className = `bench-${id}`;
  const names = claimNames(opts.claims);
  await api.core.createNamespace({ body: { metadata: { name: namespace } } });
  await api.storage.createStorageClass({
    body: {
      metadata: { name: className },
      provisioner: provisioner.provisionerName,
      reclaimPolicy: 'Delete',
      parameters: { server: opts.server, share: opts.share },
    },
  });
  const claims = await observe(api.kc, `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, () => true);
  const volumes = await observe(
    api.kc,
    '/api/v1/persistentvolumes',
    (pv) => pv.spec?.storageClassName === className,
  );
  // A backlog is created before the provisioner starts; otherwise the claims come once it is idle.
  const backlog = opts.backlog
    ? await createClaims(api.core, namespace, className, names, opts.concurrency, paceOf(opts))
    : undefined;
  // A backlog run's clock starts as its provisioner is started (process start and leader election
  // included); otherwise once it is idle, as the first claim is created.
  const backlogStart = backlog ? { writes: await readWrites(api.kc), ms: performance.now() } : undefined;
  const running = await provisioner.start();
  const samplers: Array<{ process: string; sampler: RssSampler; idleKb?: number }> = [];
  try {
    // Idle: ready, caches synced, nothing to do yet (a backlog run has work from its start).
    if (!backlog) await new Promise((resolve) => setTimeout(resolve, opts.idleSettleMs ?? 3_000));
    for (const p of running.processes) {
      const idleKb = backlog ? undefined : readMemory(p.pid)?.rssKb;
      samplers.push({
        process: p.name,
        ...(idleKb === undefined ? {} : { idleKb }),
        sampler: sampleRss(p.pid),
      });
    }
    const before = backlogStart?.writes ?? (await readWrites(api.kc));
    const startMs = backlogStart?.ms ?? performance.now();
    const { created, uids } =
      backlog ?? (await createClaims(api.core, namespace, className, names, opts.concurrency, paceOf(opts)));
    await claims.until(
      `${provisioner.name}: every PV and every claim Bound`,
      () => volumes.seen.size === opts.claims && claims.bound.size === opts.claims,
      () => `PVs ${volumes.seen.size}/${opts.claims}, Bound ${claims.bound.size}/${opts.claims}`,
    );
    const writes = difference(await readWrites(api.kc), before);
    // A backlog's claims were created before the clock started: its latencies count from the start.
    const from = backlog ? new Map(names.map((name) => [name, startMs])) : created;
    const summary = summarize({ created: from, bound: claims.bound, pvSeen: volumes.seen, uids }, startMs);
    const beforeRelease = await readWrites(api.kc);
    const releaseStart = performance.now();
    await deleteClaims(api.core, namespace, names, opts.concurrency);
    await volumes.until(
      `${provisioner.name}: every PV gone after its claim was deleted`,
      () => volumes.gone.size === opts.claims,
      progress('PVs gone', volumes.gone, opts.claims),
    );
    const releaseMs = performance.now() - releaseStart;
    const claimsGone = Math.max(...names.map((name) => claims.gone.get(name) ?? Number.NaN));
    const releaseWrites = byRequest(difference(await readWrites(api.kc), beforeRelease));
    for (const s of samplers) s.sampler.stop();
    return {
      name: provisioner.name,
      claims: opts.claims,
      startMs,
      ...summary,
      releaseMs,
      ...(Number.isFinite(claimsGone) ? { claimsGoneMs: claimsGone - releaseStart } : {}),
      conflicts: conflictsOf(writes),
      writes: byRequest(writes),
      releaseWrites,
      memory: samplers.map((s) => ({
        process: s.process,
        peakMb: mbOf(s.sampler.peakKb()),
        ...peakSplit(s.sampler.highest()),
        idleMb: s.idleKb === undefined ? undefined : mbOf(s.idleKb),
        afterMb: mbOf(s.sampler.lastKb()),
      })),
      rss: samplers.map((s) => ({
        process: `${provisioner.name}: ${s.process}`,
        samples: s.sampler.samples,
      })),
    };
  } finally {
    for (const s of samplers) s.sampler.stop();
    claims.stop();
    volumes.stop();
    await running.stop();
    await api.storage.deleteStorageClass({ name: className });
  }
}
