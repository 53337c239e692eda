// `npm run bench`: how long N claims take to reach Bound through `warren controller` on the
// local bed, and to be released again, next to a baseline measured in the same run on the
// same bed (N hand-made PV+PVC pairs bound by kube-controller-manager alone), so numbers
// from a noisy machine come with a ratio. A measurement, not a test: nothing is asserted.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, StorageV1Api } from '@kubernetes/client-node';
import { bedDown, bedUp } from './bed/bed.ts';
import { startController } from './bed/controller.ts';
import { pollUntil } from './lib/poll.ts';

const count = Number(process.env.WARREN_BENCH_CLAIMS ?? 100);
const workers = Number(process.env.WARREN_BENCH_WORKERS ?? 16);
const repoRoot = join(import.meta.dirname, '..');
const stateDir = mkdtempSync(join(tmpdir(), 'warren-bench-'));
const bed = await bedUp(stateDir, repoRoot);
const kc = new KubeConfig();
kc.loadFromFile(bed.env.KUBECONFIG);
const core = kc.makeApiClient(CoreV1Api);
const storage = kc.makeApiClient(StorageV1Api);
const names = Array.from({ length: count }, (_, i) => `claim-${i}`);

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

const until = (what: string, check: () => Promise<boolean>) =>
  pollUntil(check, { what, timeoutMs: 600_000, intervalMs: 100 });

const boundIn = async (ns: string) =>
  (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.filter(
    (c) => c.status?.phase === 'Bound',
  ).length;

async function baseline(): Promise<number> {
  const ns = 'bench-baseline';
  await core.createNamespace({ body: { metadata: { name: ns } } });
  const start = performance.now();
  await inBatches(names, 20, async (name) => {
    const claim = await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name },
        spec: {
          storageClassName: '',
          accessModes: ['ReadWriteMany'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    await core.createPersistentVolume({
      body: {
        metadata: { name: `baseline-${name}` },
        spec: {
          storageClassName: '',
          accessModes: ['ReadWriteMany'],
          capacity: { storage: '1Gi' },
          persistentVolumeReclaimPolicy: 'Retain',
          claimRef: { namespace: ns, name, uid: claim.metadata?.uid },
          nfs: { server: '127.0.0.1', path: `/export/${name}` },
        },
      },
    });
  });
  await until('baseline claims Bound', async () => (await boundIn(ns)) === count);
  return performance.now() - start;
}

async function warren(): Promise<{ bindMs: number; pvsMs: number; releaseMs: number }> {
  const ns = 'bench-warren';
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await storage.createStorageClass({
    body: {
      metadata: { name: 'bench' },
      provisioner: 'nfs.warren.dev',
      reclaimPolicy: 'Delete',
      parameters: { server: bed.env.WARREN_NFS_SERVER, share: bed.env.WARREN_NFS_SHARE },
    },
  });
  const controller = await startController({
    bed: bed.env,
    logFile: join(stateDir, 'controller.log'),
    args: [`--workers=${workers}`, '--log-level=warn', '--resync-period=5m'],
  });
  console.log(`controller log: ${controller.logFile}`);
  try {
    await controller.ready();
    const start = performance.now();
    await inBatches(names, 20, (name) =>
      core.createNamespacedPersistentVolumeClaim({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            storageClassName: 'bench',
            accessModes: ['ReadWriteMany'],
            resources: { requests: { storage: '1Gi' } },
          },
        },
      }),
    );
    let pvsMs = 0;
    await until('Warren claims Bound', async () => {
      if (
        !pvsMs &&
        (await core.listPersistentVolume()).items.filter((pv) => pv.spec?.storageClassName === 'bench')
          .length === count
      ) {
        pvsMs = performance.now() - start;
      }
      return (await boundIn(ns)) === count;
    });
    const bindMs = performance.now() - start;
    const released = performance.now();
    await inBatches(names, 20, (name) => core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name }));
    await until(
      'Warren PVs released and gone',
      async () =>
        (await core.listPersistentVolume()).items.filter((pv) => pv.spec?.storageClassName === 'bench')
          .length === 0,
    );
    return { bindMs, pvsMs, releaseMs: performance.now() - released };
  } finally {
    await controller.stop();
  }
}

try {
  const baselineMs = await baseline();
  const w = await warren();
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(
    `\nclaims: ${count}, controller workers: ${workers}, machine: 2 cores shared with the bed (noisy)`,
  );
  console.log(`baseline (hand-made PV+PVC pairs, kube-controller-manager binding only): ${s(baselineMs)}`);
  console.log(
    `warren: all claims Bound in ${s(w.bindMs)} (${(w.bindMs / baselineMs).toFixed(2)}x baseline), ${(count / (w.bindMs / 1000)).toFixed(1)} claims/s`,
  );
  console.log(
    `warren: all ${count} PVs created by ${w.pvsMs ? s(w.pvsMs) : 'the time they were Bound'} (the rest is kube-controller-manager binding)`,
  );
  console.log(`warren: all ${count} released (onDelete delete) and their PVs gone in ${s(w.releaseMs)}`);
} finally {
  await bedDown(stateDir);
}
