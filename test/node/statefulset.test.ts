// The seed scenario with real pods: kubelet and containerd in the qemu guest (node guest-0), the
// scheduler and `warren controller` on the host, Warren's node plugin registered with kubelet by
// `warren node --registration-dir`. A StatefulSet writes through Warren volumes; the host reads
// the export directly.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readStateSync } from '../../hack/bed/bed.ts';
import { type ControllerProcess, startController } from '../../hack/bed/controller.ts';
import type { Daemon } from '../../hack/bed/daemon.ts';
import {
  driverName,
  ensureNodeTools,
  type GuestNode,
  nodeName,
  pluginLogs,
  startGuestNode,
  startScheduler,
  stopDaemon,
} from '../../hack/bed/guest-node.ts';

/** The plugin runs as deploy/'s DaemonSet, as users run it; WARREN_NODE_PLUGIN=process runs it as a process. */
const pluginMode = () => (process.env.WARREN_NODE_PLUGIN === 'process' ? 'process' : 'daemonset');
const repoRoot = join(import.meta.dirname, '..', '..');
const resultsDir = join(repoRoot, 'test-results');
const ns = 'scenario';
const className = 'warren-node';
let node: GuestNode;
let scheduler: Daemon;
let controller: ControllerProcess;
const timings: Record<string, number> = {};

const exportPath = (...parts: string[]) => join(inject('bed').WARREN_EXPORT_DIR, 'node', ...parts);

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const pods = await node.kubectl(['get', 'pods,pvc', '-n', ns, '-o', 'wide']).catch((e) => String(e));
      throw new Error(`timed out waiting for ${what} (${String(last ?? '')})\n${pods}`);
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

const kubectlJson = async (args: string[]) => JSON.parse(await node.kubectl([...args, '-o', 'json']));

async function readyPods(selector: string): Promise<string[]> {
  const list = await kubectlJson(['get', 'pods', '-n', ns, '-l', selector]);
  return (
    list.items as Array<{
      metadata: { name: string };
      status: { conditions?: Array<{ type: string; status: string }> };
    }>
  )
    .filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.metadata.name)
    .sort();
}

const statefulSet = (replicas: number) => `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: web, namespace: ${ns} }
spec:
  serviceName: web
  replicas: ${replicas}
  podManagementPolicy: Parallel
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 5
      dnsPolicy: Default
      containers:
        - name: web
          image: warren.local/busybox:1.35
          # Keeps the first hostname it wrote; counts its starts; every 2 s copies ping to pong (a
          # read and a write through the volume, answered while the pod runs).
          command: [sh, -c, "[ -f /data/hostname ] || hostname > /data/hostname; echo start >> /data/starts; trap 'exit 0' TERM; while :; do if [ -f /data/ping ]; then cat /data/ping > /data/pong; fi; sleep 2 & wait $!; done"]
          volumeMounts: [{ name: data, mountPath: /data }]
  volumeClaimTemplates:
    - metadata: { name: data }
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: ${className}
        resources: { requests: { storage: 1Mi } }
`;

async function waitWeb(count: number): Promise<void> {
  const want = Array.from({ length: count }, (_, i) => `web-${i}`);
  await until(`pods ${want.join(', ')} Ready`, async () =>
    JSON.stringify(await readyPods('app=web')) === JSON.stringify(want) ? true : undefined,
  );
}

/** How many times a pod's container started: the lines of its `starts` file (0 before the first). */
function starts(pod: string): number {
  const file = exportPath(`data-${pod}`, 'starts');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').length : 0;
}

/**
 * The start counts of web-0..2 once each has reached `atLeast`. Ready only says the container
 * process began; its shell appends to `starts` a moment later (seconds under TCG), so the test
 * waits for the line rather than reading it at Ready. A pod that started too often still shows.
 */
async function startsOnce(atLeast: number): Promise<number[]> {
  const pods = ['web-0', 'web-1', 'web-2'];
  return until(
    `web-0..2 each logged ${atLeast} start(s)`,
    async () => {
      const counts = pods.map(starts);
      return counts.every((n) => n >= atLeast) ? counts : undefined;
    },
    60_000,
  );
}

/** The StatefulSet's pods by name: uid, Ready, and how often their container restarted. */
async function webPods(): Promise<Record<string, { uid: string; ready: boolean; restarts: number }>> {
  const list = await kubectlJson(['get', 'pods', '-n', ns, '-l', 'app=web']);
  return Object.fromEntries(
    (
      list.items as Array<{
        metadata: { name: string; uid: string; deletionTimestamp?: string };
        status: {
          conditions?: Array<{ type: string; status: string }>;
          containerStatuses?: Array<{ restartCount: number }>;
        };
      }>
    )
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => [
        p.metadata.name,
        {
          uid: p.metadata.uid,
          ready: p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
          restarts: p.status.containerStatuses?.[0]?.restartCount ?? 0,
        },
      ]),
  );
}

const uidsOf = (pods: Record<string, { uid: string }>) =>
  Object.values(pods)
    .map((p) => p.uid)
    .sort();

/** The pod uids of the guest's NFS mounts (kubelet's /var/lib/kubelet/pods/UID/volumes/... paths). */
async function nfsMountUids(): Promise<string[]> {
  const out = (await node.sh("grep ' nfs4 ' /proc/mounts | cut -d' ' -f2")).stdout;
  return [...out.matchAll(/\/var\/lib\/kubelet\/pods\/([^/]+)\//g)].map((m) => m[1] as string).sort();
}

/** Writes `word` to each pod's ping from the host and waits until the pod copied it to pong. */
async function pingPong(word: string, pods: string[]): Promise<void> {
  for (const pod of pods) writeFileSync(exportPath(`data-${pod}`, 'ping'), `${word}\n`);
  await until(`${pods.join(', ')} answering ${word}`, async () =>
    pods.every((pod) => {
      try {
        return readFileSync(exportPath(`data-${pod}`, 'pong'), 'utf8') === `${word}\n`;
      } catch {
        return false;
      }
    })
      ? true
      : undefined,
  );
}

beforeAll(async () => {
  mkdirSync(resultsDir, { recursive: true });
  const bed = inject('bed');
  const tools = await ensureNodeTools();
  scheduler = await startScheduler(bed, tools);
  controller = await startController({
    bed,
    provisioner: driverName,
    logFile: join(resultsDir, 'node-controller.log'),
  });
  node = await startGuestNode(bed, {
    logFile: join(resultsDir, 'node-guest-console.log'),
    plugin: pluginMode(),
  });
  timings.nodeReadyMs = node.readyMs;
  for (const [name, ms] of Object.entries(node.phases)) timings[`node.${name}Ms`] = ms;
  const t0 = Date.now();
  await node.startPlugin();
  timings.pluginRegisteredMs = Date.now() - t0;
  await node.kubectl(
    ['apply', '-f', '-'],
    `apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: ${className} }
provisioner: ${driverName}
parameters: { server: 127.0.0.1, share: ${bed.WARREN_NFS_SHARE}, subDir: 'node/\${pvc.metadata.name}', onDelete: retain }
mountOptions: [vers=4.1]
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
`,
  );
  await until('the default ServiceAccount', async () =>
    (await node.kubectl(['get', 'sa', 'default', '-n', ns]).catch(() => '')) ? true : undefined,
  );
}, 900_000);

afterAll(async () => {
  if (node) {
    const logs = await node.sh(`tail -n 200 /var/log/warren-node/kubelet.log; tail -n 100 ${pluginLogs}`);
    console.error(
      `[warren] node timings (${pluginMode()}, containerd disk ${node.diskKept ? 'kept' : 'new'}): ${JSON.stringify(timings)}\n--- kubelet and plugin logs (tail) ---\n${logs.stdout.slice(-20_000)}`,
    );
  }
  await node?.stop();
  await controller?.stop();
  if (scheduler) await stopDaemon(scheduler);
}, 120_000);

describe(`node ${nodeName}`, () => {
  it('is registered by Warren itself: CSINode lists the driver with the node id', async () => {
    const csinode = await kubectlJson(['get', 'csinode', nodeName]);
    expect(csinode.spec.drivers).toEqual([expect.objectContaining({ name: driverName, nodeID: nodeName })]);
  });

  it('runs StatefulSet web x3; each pod writes its hostname into its own volume', async () => {
    const t0 = Date.now();
    await node.kubectl(['apply', '-f', '-'], statefulSet(3));
    await waitWeb(3);
    timings.statefulSet3ReadyMs = Date.now() - t0;
    expect(await startsOnce(1)).toEqual([1, 1, 1]);
    for (const pod of ['web-0', 'web-1', 'web-2'])
      expect(readFileSync(exportPath(`data-${pod}`, 'hostname'), 'utf8')).toBe(`${pod}\n`);
  }, 900_000);

  it("keeps the running pods and their mounts across a kubelet restart and the plugin pod's replacement", async () => {
    const before = await webPods();
    let t0 = Date.now();
    await node.restartKubelet();
    timings.kubeletRestartMs = Date.now() - t0;
    // kubelet rebuilt its volume state from the running pods: nothing was unmounted or restarted,
    // and each pod still reads and writes through its volume.
    t0 = Date.now();
    await pingPong('after-kubelet-restart', ['web-0', 'web-1', 'web-2']);
    timings.pingPongMs = Date.now() - t0;
    expect(await webPods()).toEqual(before);
    expect(await nfsMountUids()).toEqual(uidsOf(before));

    // The mounts outlive the plugin (made from the host network): the pods keep reading and writing.
    t0 = Date.now();
    await node.restartPlugin();
    timings.pluginRestartMs = Date.now() - t0;
    await pingPong('after-plugin-restart', ['web-0', 'web-1', 'web-2']);
    expect(await webPods()).toEqual(before);
    expect(await nfsMountUids()).toEqual(uidsOf(before));
    expect([starts('web-0'), starts('web-1'), starts('web-2')]).toEqual([1, 1, 1]);
  }, 900_000);

  it('after both restarts, unmounts deleted pods cleanly; scaling to 1 and back to 3 reuses the same claims and data', async () => {
    const claimsBefore = (await kubectlJson(['get', 'pvc', '-n', ns])).items.map(
      (c: { metadata: { uid: string } }) => c.metadata.uid,
    );
    const before = await webPods();
    // web-0 deleted (the StatefulSet makes it again), web-1 and web-2 by the scale-down: all three
    // unpublished through the state kubelet reconstructed, by the plugin's new pod.
    let t0 = Date.now();
    await node.kubectl(['delete', 'pod', 'web-0', '-n', ns, '--wait=false']);
    await node.kubectl(['scale', 'statefulset/web', '-n', ns, '--replicas=1']);
    await until('web-0 back with a new uid, web-1 and web-2 gone', async () => {
      const now = await webPods();
      return Object.keys(now).join() === 'web-0' &&
        now['web-0']?.uid !== before['web-0']?.uid &&
        now['web-0']?.ready
        ? true
        : undefined;
    });
    timings.deleteAndScaleTo1Ms = Date.now() - t0;
    const one = await webPods();
    expect(await nfsMountUids()).toEqual(uidsOf(one));
    expect(readFileSync(exportPath('data-web-0', 'hostname'), 'utf8')).toBe('web-0\n');

    t0 = Date.now();
    await node.kubectl(['scale', 'statefulset/web', '-n', ns, '--replicas=3']);
    await waitWeb(3);
    timings.scaleTo3Ms = Date.now() - t0;
    const claimsAfter = (await kubectlJson(['get', 'pvc', '-n', ns])).items.map(
      (c: { metadata: { uid: string } }) => c.metadata.uid,
    );
    expect(claimsAfter.sort()).toEqual(claimsBefore.sort());
    expect(await startsOnce(2)).toEqual([2, 2, 2]);
    for (const pod of ['web-0', 'web-1', 'web-2'])
      expect(readFileSync(exportPath(`data-${pod}`, 'hostname'), 'utf8')).toBe(`${pod}\n`);
    // Nothing is left mounted for pods that are gone: every NFS mount belongs to a running pod.
    expect(await nfsMountUids()).toEqual(uidsOf(await webPods()));
  }, 900_000);

  it('keeps the directories when the claims are deleted (onDelete: retain)', async () => {
    await node.kubectl(['delete', 'statefulset', 'web', '-n', ns]);
    await until('the pods gone', async () =>
      (await kubectlJson(['get', 'pods', '-n', ns, '-l', 'app=web'])).items.length === 0 ? true : undefined,
    );
    await node.kubectl(['delete', 'pvc', '--all', '-n', ns]);
    await until('the PVs gone', async () =>
      (await kubectlJson(['get', 'pv'])).items.length === 0 ? true : undefined,
    );
    for (const pod of ['web-0', 'web-1', 'web-2']) {
      expect(existsSync(exportPath(`data-${pod}`))).toBe(true);
      expect(readFileSync(exportPath(`data-${pod}`, 'hostname'), 'utf8')).toBe(`${pod}\n`);
    }
    const mounts = (await node.sh("grep -c ' nfs4 ' /proc/mounts || true")).stdout.trim();
    expect(mounts).toBe('0');
  }, 600_000);
});

/** A pod's container output, read from kubelet's log file in the guest (no kubectl logs here). */
async function podOutput(pod: string): Promise<string> {
  const r = await node.sh(`cat /var/log/pods/${ns}_${pod}_*/c/*.log 2>/dev/null`);
  // CRI log lines: TIME STREAM TAG MESSAGE
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(3).join(' '))
    .join('\n');
}

const pod = (name: string, script: string, volumes: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns} }
spec:
  restartPolicy: Never
  dnsPolicy: Default
  terminationGracePeriodSeconds: 5
${extra}  containers:
    - name: c
      image: warren.local/busybox:1.35
      command: [sh, -c, ${JSON.stringify(script)}]
      volumeMounts: [{ name: v, mountPath: /data }]
  volumes:
${volumes}
`;

async function podPhase(name: string, phases: string[]): Promise<string> {
  return until(`pod ${name} in ${phases.join('/')}`, async () => {
    const p = await kubectlJson(['get', 'pod', name, '-n', ns]);
    return phases.includes(p.status.phase) ? p.status.phase : undefined;
  });
}

const claim = (name: string) => `apiVersion: v1
kind: PersistentVolumeClaim
metadata: { name: ${name}, namespace: ${ns} }
spec:
  accessModes: [ReadWriteMany]
  storageClassName: ${className}
  resources: { requests: { storage: 1Mi } }
`;

describe('pod volumes as kubelet mounts them', () => {
  // All at once (their starts overlap), with the frozen-server test's pod: each test waits for its own.
  beforeAll(async () => {
    mkdirSync(exportPath('inline'), { recursive: true });
    await node.kubectl(
      ['apply', '-f', '-'],
      [
        claim('shared'),
        pod(
          'fsgroup',
          'touch /data/by-fsgroup-pod; stat -c %g /data; stat -c %g /data/by-fsgroup-pod',
          '    - { name: v, persistentVolumeClaim: { claimName: shared } }',
          '  securityContext: { runAsUser: 1000, fsGroup: 2345 }\n',
        ),
        // Reads what the fsgroup pod wrote (waiting for it up to 5 minutes), then tries to write.
        pod(
          'reader',
          'n=0; until [ -f /data/by-fsgroup-pod ] || [ $n -ge 300 ]; do n=$((n+1)); sleep 1; done; cat /data/by-fsgroup-pod && echo read; if touch /data/x 2>/dev/null; then echo wrote; else echo refused; fi',
          '    - { name: v, persistentVolumeClaim: { claimName: shared, readOnly: true } }',
        ),
        pod(
          'inline',
          'echo inline > /data/written',
          `    - name: v
      csi: { driver: ${driverName}, volumeAttributes: { server: 127.0.0.1, share: ${inject('bed').WARREN_NFS_SHARE}, subDir: node/inline } }`,
        ),
        claim('frozen'),
        pod(
          'frozen',
          "echo up > /data/up; trap 'exit 0' TERM; sleep 3600 & wait",
          '    - { name: v, persistentVolumeClaim: { claimName: frozen } }',
        ),
      ].join('---\n'),
    );
  }, 120_000);

  it('applies fsGroup to the volume (fsGroupPolicy: File)', async () => {
    expect(await podPhase('fsgroup', ['Succeeded', 'Failed'])).toBe('Succeeded');
    expect(await podOutput('fsgroup')).toBe('2345\n2345');
    expect(statSync(exportPath('shared')).gid).toBe(2345);
  }, 600_000);

  it('mounts a readOnly claim read-only: writes fail', async () => {
    expect(await podPhase('reader', ['Succeeded', 'Failed'])).toBe('Succeeded');
    expect(await podOutput('reader')).toBe('read\nrefused');
    expect(existsSync(exportPath('shared', 'x'))).toBe(false);
  }, 600_000);

  it('mounts an inline ephemeral volume', async () => {
    expect(await podPhase('inline', ['Succeeded', 'Failed'])).toBe('Succeeded');
    expect(readFileSync(exportPath('inline', 'written'), 'utf8')).toBe('inline\n');
  }, 600_000);
});

describe('a pod whose NFS server is frozen', () => {
  it('is deleted within its grace period plus 30 s, and its mount is gone', async () => {
    // Created with the pods above.
    expect(await podPhase('frozen', ['Running'])).toBe('Running');
    const uid = (await kubectlJson(['get', 'pod', 'frozen', '-n', ns])).metadata.uid as string;
    const nfsMountsOf = async (uid: string) =>
      (await node.sh(`grep ' nfs4 ' /proc/mounts | grep -c ${uid} || true`)).stdout.trim();
    expect(await nfsMountsOf(uid)).toBe('1');
    const ganesha = readStateSync(inject('bedStateDir'))?.nfsServer.ganesha;
    if (!ganesha) throw new Error('no ganesha.nfsd in the bed');
    process.kill(ganesha.pid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      await node.kubectl(['delete', 'pod', 'frozen', '-n', ns, '--wait=false']);
      await until(
        'pod frozen gone',
        async () =>
          (await node.kubectl(['get', 'pod', 'frozen', '-n', ns, '--ignore-not-found'])) === ''
            ? true
            : undefined,
        (5 + 30) * 1000,
      );
      timings.frozenDeleteMs = Date.now() - t0;
      expect(await nfsMountsOf(uid)).toBe('0');
    } finally {
      process.kill(ganesha.pid, 'SIGCONT');
    }
  }, 600_000);
});
