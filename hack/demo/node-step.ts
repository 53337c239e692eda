// `npm run demo -- --node`: the demo on a real node. kube-scheduler on the host, node guest-0 in
// the qemu guest (kubelet, containerd, Warren's node plugin as deploy/'s DaemonSet), and a
// StatefulSet whose three pods write through Warren volumes; the host then reads the directories.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { BedEnv } from '../bed/bed.ts';
import { stopDaemon } from '../bed/daemon.ts';
import { ensureNodeTools, nodeName, startGuestNode, startScheduler } from '../bed/guest-node.ts';
import { storageClassYaml } from '../bed/node-up.ts';
import { pollUntil } from '../lib/poll.ts';

const statefulSet = `apiVersion: apps/v1
kind: StatefulSet
metadata: { name: web, namespace: default }
spec:
  serviceName: web
  replicas: 3
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
          command: [sh, -c, "echo \\"hello from $(hostname)\\" > /data/hello.txt; trap 'exit 0' TERM; sleep 3600 & wait"]
          volumeMounts: [{ name: data, mountPath: /data }]
  volumeClaimTemplates:
    - metadata: { name: data }
      spec:
        accessModes: [ReadWriteOnce]
        storageClassName: warren
        resources: { requests: { storage: 1Gi } }
`;

export async function runNodeDemo(opts: {
  bed: BedEnv;
  logDir: string;
  cleanups: Array<() => Promise<void>>;
  say: (text: string) => void;
}): Promise<void> {
  const { bed, say } = opts;
  const tools = await ensureNodeTools();
  say('starting kube-scheduler on the host');
  const scheduler = await startScheduler(bed, tools);
  opts.cleanups.push(() => stopDaemon(scheduler));

  say(`booting node ${nodeName} in the qemu guest (kubelet, containerd; software emulation, minutes)`);
  const node = await startGuestNode(bed, {
    logFile: join(opts.logDir, 'guest-0-console.log'),
    plugin: 'daemonset',
    log: (line) => console.log(`   ${line}`),
  });
  opts.cleanups.push(node.stop);
  console.log(`   node ${nodeName} Ready after ${(node.readyMs / 1000).toFixed(1)} s`);
  let t0 = performance.now();
  await node.startPlugin();
  console.log(
    `   Warren's node plugin (deploy/'s DaemonSet) registered with kubelet after ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  say(
    'applying StorageClass "warren" and StatefulSet "web" (3 replicas, a claim each, image warren.local/busybox:1.35)',
  );
  await node.kubectl(['apply', '-f', '-'], `${storageClassYaml(bed.WARREN_NFS_SHARE)}---\n${statefulSet}`);
  t0 = performance.now();
  await pollUntil(
    async () =>
      (await node.kubectl(['get', 'statefulset', 'web', '-o', 'jsonpath={.status.readyReplicas}'])) === '3',
    { what: 'the three pods of StatefulSet web to be Ready', timeoutMs: 600_000, intervalMs: 2_000 },
  );
  console.log(`   3/3 pods Ready after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(
    (await node.kubectl(['get', 'pods,pvc', '-o', 'wide']))
      .split('\n')
      .map((l) => `   ${l}`)
      .join('\n'),
  );

  say('what the pods wrote, read on the host from the export');
  for (const pod of ['web-0', 'web-1', 'web-2']) {
    const pv = await node.kubectl(['get', 'pvc', `data-${pod}`, '-o', 'jsonpath={.spec.volumeName}']);
    const subDir = await node.kubectl([
      'get',
      'pv',
      pv,
      '-o',
      'jsonpath={.spec.csi.volumeAttributes.subDir}',
    ]);
    const dir = join(bed.WARREN_EXPORT_DIR, subDir);
    const text = readFileSync(join(dir, 'hello.txt'), 'utf8').trim();
    console.log(`   ${relative(bed.WARREN_EXPORT_DIR, dir)}/hello.txt: "${text}"`);
  }
}
