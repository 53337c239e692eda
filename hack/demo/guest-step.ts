// The demo's node-plugin step: boots the qemu guest (a "node" with a real kernel NFS client),
// runs `warren node` in it, and does what kubelet does for one claim: publish, use, unpublish.
import { join, relative } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { BedEnv } from '../bed/bed.ts';
import { startGuestPlugin } from '../bed/guest-plugin.ts';
import { call } from '../lib/csi-client.ts';

export async function publishInGuest(opts: {
  core: CoreV1Api;
  claimName: string;
  env: BedEnv;
  logDir: string;
  cleanups: Array<() => Promise<void>>;
}): Promise<void> {
  const started = performance.now();
  console.log('   booting the guest (qemu, software emulation) and starting warren node in it...');
  const plugin = await startGuestPlugin(opts.env, { logFile: join(opts.logDir, 'guest-console.log') });
  opts.cleanups.push(plugin.stop);
  console.log(`   node plugin answering after ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const claim = await opts.core.readNamespacedPersistentVolumeClaim({
    namespace: 'default',
    name: opts.claimName,
  });
  const pv = await opts.core.readPersistentVolume({ name: claim.spec?.volumeName ?? '' });
  const target = `/var/lib/kubelet/pods/demo-pod/volumes/kubernetes.io~csi/${pv.metadata?.name}/mount`;
  const volume = { volume_id: pv.spec?.csi?.volumeHandle ?? '', target_path: target };
  const node = plugin.clients.node;
  await call(node.NodePublishVolume.bind(node), {
    ...volume,
    volume_capability: {
      mount: { fs_type: '', mount_flags: pv.spec?.mountOptions ?? [] },
      access_mode: { mode: 'SINGLE_NODE_WRITER' },
    },
    readonly: false,
    volume_context: pv.spec?.csi?.volumeAttributes ?? {},
  });
  const [mount] = await plugin.mountsAt(target);
  console.log(`   NodePublishVolume: ${mount?.split(' ').slice(0, 3).join(' ')}`);
  const line = `hello from the guest, ${new Date().toISOString()}`;
  await plugin.sh(`echo '${line}' > ${target}/hello.txt`);
  const back = await plugin.sh(`cat ${target}/hello.txt`);
  console.log(`   wrote and read back through the kernel NFS mount: "${back.stdout.trim()}"`);
  const onDisk = directoryOnDisk(opts.env, pv.spec?.csi?.volumeAttributes ?? {});
  console.log(`   on the server's disk: ${join(onDisk, 'hello.txt')}`);
  await call(node.NodeUnpublishVolume.bind(node), volume);
  console.log(`   NodeUnpublishVolume: mounts left at the target: ${(await plugin.mountsAt(target)).length}`);
}

/** Where a volume's directory is on the bed's disk: its share may lie below the exported one. */
export function directoryOnDisk(env: BedEnv, attributes: Record<string, string>): string {
  const share = relative(env.WARREN_NFS_SHARE, attributes.share ?? env.WARREN_NFS_SHARE);
  return join(env.WARREN_EXPORT_DIR, share, attributes.subDir ?? '');
}
