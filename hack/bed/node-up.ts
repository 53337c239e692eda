// `hack/local.sh up --node`: the bed, then kube-scheduler and `warren controller` on the host
// (recorded in the bed, so `down` stops them) and node guest-0 in the qemu guest, which runs
// until Ctrl-C (the guest lives as long as this process).
import { join } from 'node:path';
import { addDaemons, bedUp } from './bed.ts';
import { startDaemon } from './daemon.ts';
import { driverName, ensureNodeTools, nodeName, startGuestNode, startScheduler } from './guest-node.ts';
import { freePort } from './ports.ts';

export async function nodeUp(stateDir: string, repoRoot: string): Promise<void> {
  const state = await bedUp(stateDir, repoRoot);
  const bed = state.env;
  const tools = await ensureNodeTools();
  const running = new Set(state.daemons.map((d) => d.name));
  if (!running.has('kube-scheduler')) await addDaemons(stateDir, [await startScheduler(bed, tools)]);
  if (!running.has('warren-controller')) {
    const controller = startDaemon(
      'warren-controller',
      [
        join(repoRoot, 'node_modules', '.bin', 'node'),
        join(repoRoot, 'src', 'cli.ts'),
        'controller',
        `--kubeconfig=${bed.KUBECONFIG}`,
        `--provisioner=${driverName}`,
        `--share=${bed.WARREN_NFS_SERVER}:${bed.WARREN_NFS_SHARE}=${bed.WARREN_EXPORT_DIR}`,
        `--metrics-address=127.0.0.1:${await freePort()}`,
        '--leader-elect=false',
      ],
      { logFile: join(bed.WARREN_BED_DIR, 'warren-controller.log') },
    );
    await addDaemons(stateDir, [controller]);
  }
  const node = await startGuestNode(bed, {
    logFile: join(bed.WARREN_BED_DIR, 'guest-0-console.log'),
    plugin: process.env.WARREN_NODE_PLUGIN === 'daemonset' ? 'daemonset' : 'process',
  });
  await node.startPlugin();
  await node.kubectl(['apply', '-f', '-'], storageClassYaml(bed.WARREN_NFS_SHARE));
  console.log(
    [
      `Node ${nodeName} is Ready (${node.readyMs} ms after qemu started) and Warren's plugin is registered.`,
      'Use it with:',
      `  export KUBECONFIG=${bed.KUBECONFIG}; alias kubectl=${tools.kubectl}`,
      '  kubectl get nodes,csinodes',
      `Pods use the local image ${node.images.busyboxImage} (nothing is pulled); claims use StorageClass "warren".`,
      'Ctrl-C stops the node; `hack/local.sh down` then stops the rest.',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.error('[warren] stopping node guest-0');
  await node.stop();
}

/** The class people's claims use on the local node: the bed's export through the guest's relay. */
export function storageClassYaml(share: string): string {
  return `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: { name: warren }
provisioner: ${driverName}
parameters: { server: 127.0.0.1, share: ${share} }
mountOptions: [vers=4.1]
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
`;
}
