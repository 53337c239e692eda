// `hack/local.sh up --node`: the bed (left running afterwards), then kube-scheduler and
// `warren controller` on the host and node guest-0 in the qemu guest; all three run until
// Ctrl-C (the guest lives as long as this process).
import { join } from 'node:path';
import { bedUp } from './bed.ts';
import { startController } from './controller.ts';
import { stopDaemon } from './daemon.ts';
import { driverName, ensureNodeTools, nodeName, startGuestNode, startScheduler } from './guest-node.ts';

export async function nodeUp(stateDir: string, repoRoot: string): Promise<void> {
  const state = await bedUp(stateDir, repoRoot);
  const bed = state.env;
  const tools = await ensureNodeTools();
  const scheduler = await startScheduler(bed, tools);
  const controller = await startController({
    bed,
    provisioner: driverName,
    logFile: join(bed.WARREN_BED_DIR, 'warren-controller.log'),
    args: ['--log-level=info'],
  });
  const stopHost = async () => {
    await controller.stop();
    await stopDaemon(scheduler);
  };
  let node: Awaited<ReturnType<typeof startGuestNode>>;
  try {
    node = await startGuestNode(bed, {
      logFile: join(bed.WARREN_BED_DIR, 'guest-0-console.log'),
      plugin: process.env.WARREN_NODE_PLUGIN === 'process' ? 'process' : 'daemonset',
    });
  } catch (err) {
    await stopHost();
    throw err;
  }
  try {
    await node.startPlugin();
    await node.kubectl(['apply', '-f', '-'], storageClassYaml(bed.WARREN_NFS_SHARE));
    console.log(
      [
        `Node ${nodeName} is Ready (${node.readyMs} ms after qemu started) and Warren's plugin is registered.`,
        'Use it with:',
        `  export KUBECONFIG=${bed.KUBECONFIG}; alias kubectl=${tools.kubectl}`,
        '  kubectl get nodes,csinodes',
        `Pods use the local image ${node.images.busyboxImage} (nothing is pulled); claims use StorageClass "warren".`,
        'Ctrl-C stops the node, the scheduler and the controller; `hack/local.sh down` then stops the bed.',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    console.error(`[warren] stopping node ${nodeName}, kube-scheduler and warren controller`);
  } finally {
    await node.stop();
    await stopHost();
  }
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
