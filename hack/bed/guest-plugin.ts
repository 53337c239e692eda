// The node plugin in the qemu guest, as a node would run it: the guest sees the bed's NFS
// server at 127.0.0.1 on the standard port (a relay in the guest), mounts the export for the
// Controller service at /exports/main, and serves CSI on a TCP port forwarded to the host.
import { join } from 'node:path';
import { type CsiClients, call, csiClients } from '../lib/csi-client.ts';
import { pollUntil } from '../lib/poll.ts';
import type { BedEnv } from './bed.ts';
import { bootGuest, type Guest } from './guest.ts';

export const pluginPort = 10000;
export const repoRoot = join(import.meta.dirname, '..', '..');
const node = join(repoRoot, 'node_modules', '.bin', 'node');

export interface GuestPlugin {
  guest: Guest;
  clients: CsiClients;
  /** Where the guest reaches the NFS server (the relay): use it as the StorageClass server. */
  server: '127.0.0.1';
  /** mount options for NFS v3 through the relay (mountd on the same port as on the host). */
  v3Options: string[];
  sh(script: string, timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  mountsAt(target: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startGuestPlugin(
  bed: BedEnv,
  opts: {
    logFile: string;
    mountTimeout?: string;
    /** The program, relative to the checkout: src/cli.ts by default, or dist/cli.js (hack/bundle.ts). */
    cli?: string;
    /** Called with the milliseconds from starting the plugin in the guest to its first answered Probe. */
    onFirstProbe?: (ms: number) => void;
  },
): Promise<GuestPlugin> {
  const mountPort = Number(bed.WARREN_MOUNT_PORT);
  const guest = await bootGuest({
    forwards: [pluginPort],
    relays: [
      { listen: 2049, port: Number(bed.WARREN_NFS_PORT) },
      { listen: mountPort, port: mountPort },
    ],
    logFile: opts.logFile,
  });
  const sh = (script: string, timeoutMs = 60_000) => guest.exec(['sh', '-c', script], { timeoutMs });
  try {
    const setup = await sh(
      [
        'set -e',
        'mkdir -p /exports/main',
        `mount -t nfs -o vers=4.1 127.0.0.1:${bed.WARREN_NFS_SHARE} /exports/main`,
        `cd ${repoRoot}`,
        `NODE_NAME=guest-node setsid ${node} ${opts.cli ?? 'src/cli.ts'} node --endpoint=tcp://0.0.0.0:${pluginPort} --controller` +
          ` --share=127.0.0.1:${bed.WARREN_NFS_SHARE}=/exports/main --mount-timeout=${opts.mountTimeout ?? '15s'}` +
          ' --log-level=debug > /tmp/warren-node.log 2>&1 < /dev/null &',
      ].join('\n'),
    );
    if (setup.code !== 0) throw new Error(`guest setup failed: ${setup.stderr}`);
    const started = performance.now();
    const clients = csiClients(`127.0.0.1:${guest.hostPortFor(pluginPort)}`);
    await pollUntil(() => call(clients.identity.Probe.bind(clients.identity), {}).then(() => true), {
      what: 'warren node to answer in the guest',
      timeoutMs: 180_000, // Node 24 under TCG starts in ~50 s on a quiet machine; far longer on a busy one
      intervalMs: 250,
    }).catch(async (err) => {
      const log = await sh('tail -n 30 /tmp/warren-node.log');
      throw new Error(`${(err as Error).message}\n${log.stdout}`);
    });
    opts.onFirstProbe?.(performance.now() - started);
    return {
      guest,
      clients,
      server: '127.0.0.1',
      v3Options: ['vers=3', 'port=2049', `mountport=${mountPort}`, 'nolock', 'proto=tcp', 'mountproto=tcp'],
      sh,
      mountsAt: async (target) =>
        (await sh('cat /proc/mounts')).stdout.split('\n').filter((l) => l.split(' ')[1] === target),
      stop: async () => {
        clients.close();
        await guest.stop();
      },
    };
  } catch (err) {
    await guest.stop();
    throw err;
  }
}
