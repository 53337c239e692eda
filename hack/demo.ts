// `npm run demo`: Warren end to end on one machine. Starts the local bed, runs `warren
// controller`, applies a StorageClass and three StatefulSet-style claims, shows what was
// made, mounts one volume with the kernel NFS client in the qemu guest through the node
// plugin, then deletes a claim and shows its directory archived. Ctrl-C stops everything.
// `--node`: after the controller, a real node instead (hack/demo/node-step.ts): a StatefulSet's
// pods on kubelet in the guest, writing through Warren volumes.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  StorageV1Api,
  type V1PersistentVolumeClaim,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { type BedEnv, bedDown, bedUp } from './bed/bed.ts';
import { startController } from './bed/controller.ts';
import { directoryOnDisk, publishInGuest } from './demo/guest-step.ts';
import { runNodeDemo } from './demo/node-step.ts';
import { poll, pollUntil } from './lib/poll.ts';

const repoRoot = join(import.meta.dirname, '..');
const stateDir = mkdtempSync(join(tmpdir(), 'warren-demo-'));
const cleanups: Array<() => Promise<void>> = [];
let stopping = false;
const say = (text: string) => console.log(`\n== ${text}`);

async function cleanup(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const fn of cleanups.reverse()) await fn().catch((err) => console.error(`cleanup: ${err}`));
  await bedDown(stateDir, () => {});
  console.log('\nEverything the demo started has been stopped.');
}
process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().finally(() => process.exit(143)));

const started = performance.now();
try {
  say('starting the local bed: etcd, kube-apiserver, kube-controller-manager and nfs-ganesha on 127.0.0.1');
  const bed = await bedUp(stateDir, repoRoot);
  const kc = new KubeConfig();
  kc.loadFromFile(bed.env.KUBECONFIG);
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);

  say('starting warren controller');
  const controller = await startController({ bed: bed.env, logFile: join(stateDir, 'controller.log') });
  cleanups.push(controller.stop);
  await controller.ready();
  console.log(`   logs: ${controller.logFile}`);

  if (process.argv.includes('--node')) await runNodeDemo({ bed: bed.env, logDir: stateDir, cleanups, say });
  else await claimsDemo(bed.env, core, storage);
  say(`demo finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(`\ndemo failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}

/** The default demo: three claims, one mounted in the guest by the node plugin, one archived. */
async function claimsDemo(env: BedEnv, core: CoreV1Api, storage: StorageV1Api): Promise<void> {
  // The example class from deploy/examples, pointed at the bed's NFS server instead of nfs.example.com.
  const exampleFile = join(repoRoot, 'deploy/examples/storageclass-teams-archive.yaml');
  const example = load(readFileSync(exampleFile, 'utf8')) as V1StorageClass;
  const className = example.metadata?.name ?? '';
  const exampleShare = example.parameters?.share ?? '';
  say(
    `applying the example StorageClass "${className}" (${exampleFile.slice(repoRoot.length + 1)}: nested subDir from a label, onDelete: archive) and three claims shaped like a StatefulSet's`,
  );
  // The class's share (/export/teams) lies under the export the controller serves (/export).
  const shareDir = join(env.WARREN_EXPORT_DIR, relative(env.WARREN_NFS_SHARE, exampleShare));
  mkdirSync(shareDir, { recursive: true });
  await storage.createStorageClass({
    body: { ...example, parameters: { ...example.parameters, server: env.WARREN_NFS_SERVER } },
  });
  const names = ['data-web-0', 'data-web-1', 'data-web-2'];
  for (const name of names) {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name, labels: { app: 'web', team: 'web' } },
        spec: {
          storageClassName: className,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
  }
  const claims = await waitForBound(core, names);

  say('what Warren made');
  await printTable(core, claims, env);

  say('mounting data-web-0 in the guest (real kernel NFS client) through the node plugin');
  await publishInGuest({ core, claimName: 'data-web-0', env: env, logDir: stateDir, cleanups });
  const teamDir = join(shareDir, 'web');
  const hello = join(teamDir, 'default-data-web-0', 'hello.txt');
  console.log(`   host reads it: "${readFileSync(hello, 'utf8').trim()}"`);

  say('deleting claim data-web-2 (its class says onDelete: archive)');
  const pvName = claims.find((c) => c.metadata?.name === 'data-web-2')?.spec?.volumeName ?? '';
  await core.deleteNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'data-web-2' });
  await waitFor(`PV ${pvName} to be released and removed`, async () => {
    try {
      await core.readPersistentVolume({ name: pvName });
      return false;
    } catch {
      return true;
    }
  });
  const shown = relative(env.WARREN_EXPORT_DIR, teamDir);
  console.log(`   ${shown}/default-data-web-2 exists: ${existsSync(join(teamDir, 'default-data-web-2'))}`);
  console.log(`   ${shown}/ now holds: ${readdirSync(teamDir).sort().join(', ')}`);
  const archived = readdirSync(teamDir).filter((d) => d.startsWith('archived-default-data-web-2-'));
  if (archived.length !== 1) throw new Error(`expected one archived copy of data-web-2 in ${teamDir}`);
}

async function waitForBound(core: CoreV1Api, names: string[]): Promise<V1PersistentVolumeClaim[]> {
  let shown = -1;
  return poll(
    () =>
      Promise.all(
        names.map((name) => core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name })),
      ),
    (claims) => {
      const bound = claims.filter((c) => c.status?.phase === 'Bound').length;
      if (bound !== shown) console.log(`   ${bound}/${names.length} claims Bound`);
      shown = bound;
      return bound === names.length;
    },
    { what: 'the claims to be Bound (see the controller log)', timeoutMs: 120_000, intervalMs: 250 },
  );
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  console.log(`   waiting for ${what}`);
  await pollUntil(check, { what, timeoutMs: 120_000, intervalMs: 250 });
}

async function printTable(core: CoreV1Api, claims: V1PersistentVolumeClaim[], env: BedEnv): Promise<void> {
  const rows = [['CLAIM', 'PV', 'DIRECTORY', 'NFS PATH', 'STATUS']];
  for (const c of claims) {
    const pv = await core.readPersistentVolume({ name: c.spec?.volumeName ?? '' });
    const a = pv.spec?.csi?.volumeAttributes ?? {};
    rows.push([
      c.metadata?.name ?? '',
      pv.metadata?.name ?? '',
      directoryOnDisk(env, a),
      `${a.server}:${a.share}/${a.subDir}`,
      `${c.status?.phase}`,
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows) console.log(`   ${r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`);
}
