// A published volume whose NFS server freezes (SIGSTOP) or dies (SIGKILL): NodeUnpublishVolume
// still returns within 30 s with the target unmounted and no mount/umount process left behind,
// stats report the volume abnormal instead of hanging, and a publish while the server is down
// fails within the mount timeout with a retryable code.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readStateSync, restartDaemon } from '../../hack/bed/bed.ts';
import { isRunning } from '../../hack/bed/daemon.ts';
import { type GuestPlugin, repoRoot, startGuestPlugin } from '../../hack/bed/guest-plugin.ts';
import { pollUntil } from '../../hack/lib/poll.ts';
import { encodeVolumeId } from '../../src/provisioning/volume-id.ts';
import { call, expectStatus } from '../unit/csi-grpc-client.ts';

const resultsDir = join(repoRoot, 'test-results');
let plugin: GuestPlugin;

beforeAll(async () => {
  mkdirSync(resultsDir, { recursive: true });
  plugin = await startGuestPlugin(inject('bed'), {
    logFile: join(resultsDir, 'stale-guest-console.log'),
    mountTimeout: '10s',
  });
});
afterAll(async () => {
  const g = await ganesha();
  if (g && isRunning(g)) process.kill(g.pid, 'SIGCONT');
  await plugin?.stop();
});

async function ganesha() {
  return readStateSync(inject('bedStateDir'))?.nfsServer.ganesha;
}

function publishRequest(name: string) {
  const bed = inject('bed');
  mkdirSync(join(bed.WARREN_EXPORT_DIR, name), { recursive: true });
  const location = { server: '127.0.0.1', share: bed.WARREN_NFS_SHARE, subDir: name };
  return {
    volume_id: encodeVolumeId(location, 'retain'),
    target_path: `/var/lib/kubelet/pods/${name}/mount`,
    volume_capability: {
      mount: { fs_type: 'nfs', mount_flags: ['vers=4.1'] },
      access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' as const },
    },
    readonly: false,
    volume_context: { server: location.server, share: location.share, subDir: location.subDir },
  };
}

async function leftoverMountProcesses(): Promise<string[]> {
  const { stdout } = await plugin.sh('cat /proc/[0-9]*/comm 2>/dev/null');
  return stdout.split('\n').filter((c) => /^(mount|umount|mount\.nfs4?|umount\.nfs4?)$/.test(c));
}

/** The state letter (/proc/PID/stat) of every dd in the guest. */
async function ddStates(): Promise<string[]> {
  const { stdout } = await plugin.sh(
    `for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = dd ] && cut -d' ' -f3 $p/stat; done; true`,
  );
  return stdout.split('\n').filter(Boolean);
}

async function unpublishTimed(req: ReturnType<typeof publishRequest>): Promise<number> {
  const node = plugin.clients.node;
  const started = performance.now();
  await call(node.NodeUnpublishVolume.bind(node), { volume_id: req.volume_id, target_path: req.target_path });
  return performance.now() - started;
}

describe('NFS server frozen (SIGSTOP)', () => {
  it('reports the volume abnormal and still unpublishes within 30 s', async () => {
    const node = plugin.clients.node;
    const req = publishRequest('frozen');
    await call(node.NodePublishVolume.bind(node), req);
    expect(await plugin.mountsAt(req.target_path)).toHaveLength(1);
    const server = await ganesha();
    if (!server) throw new Error('no ganesha in the bed');
    process.kill(server.pid, 'SIGSTOP');
    try {
      // A pod still writing when the server froze: its fsync blocks in the kernel and keeps the
      // mount busy, so a plain umount cannot succeed and the fallbacks have to.
      await plugin.sh(
        `setsid sh -c 'dd if=/dev/zero of=${req.target_path}/busy bs=64k count=16 conv=fsync' > /dev/null 2>&1 < /dev/null &`,
      );
      // The positive sign that it is stuck: dd in uninterruptible sleep (D), waiting on the server.
      await pollUntil(async () => (await ddStates()).includes('D'), {
        what: 'dd to block on the frozen server',
        timeoutMs: 30_000,
        intervalMs: 250,
      });
      const stats = await call(node.NodeGetVolumeStats.bind(node), {
        volume_id: req.volume_id,
        volume_path: req.target_path,
      });
      expect(stats.volume_condition?.abnormal).toBe(true);
      const writers = (await plugin.sh('cat /proc/[0-9]*/comm')).stdout.split('\n').filter((c) => c === 'dd');
      const ms = await unpublishTimed(req);
      const steps = (
        await plugin.sh('grep \'"umount step"\' /tmp/warren-node.log | tail -n 3')
      ).stdout.trim();
      console.log(
        `NodeUnpublishVolume with the server frozen and a writer blocked (${writers.length} dd): ${ms.toFixed(0)} ms; steps:\n${steps}`,
      );
      expect(ms).toBeLessThan(30_000);
      expect(writers).toEqual(['dd']);
      // The busy mount refuses a plain umount; a forced or lazy one is what removed it.
      expect(steps).toMatch(/"mode":"plain".*"unmounted":false/);
      expect(steps).toMatch(/"mode":"(force|lazy)".*"unmounted":true/);
      expect(await plugin.mountsAt(req.target_path)).toEqual([]);
      expect(await leftoverMountProcesses()).toEqual([]);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
  }, 300_000);
});

describe('NFS server killed (SIGKILL)', () => {
  it('unpublishes within 30 s, and a publish while it is down fails retryably within the mount timeout', async () => {
    const node = plugin.clients.node;
    const req = publishRequest('killed');
    await call(node.NodePublishVolume.bind(node), req);
    const server = await ganesha();
    if (!server) throw new Error('no ganesha in the bed');
    process.kill(server.pid, 'SIGKILL');

    const ms = await unpublishTimed(req);
    console.log(`NodeUnpublishVolume with the server dead: ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(30_000);
    expect(await plugin.mountsAt(req.target_path)).toEqual([]);
    expect(await leftoverMountProcesses()).toEqual([]);

    const down = publishRequest('while-down');
    const started = performance.now();
    await expectStatus(call(node.NodePublishVolume.bind(node), down), status.UNAVAILABLE);
    const failedAfter = performance.now() - started;
    console.log(
      `NodePublishVolume with the server dead failed after ${failedAfter.toFixed(0)} ms (mount timeout 10 s)`,
    );
    // Within the mount timeout plus the time to kill the mount's process group and answer.
    expect(failedAfter).toBeLessThan(10_000 + 5_000);
    expect(await plugin.mountsAt(down.target_path)).toEqual([]);
    expect(await leftoverMountProcesses()).toEqual([]);

    // The server comes back on the same ports: the same publish now succeeds.
    await restartDaemon(inject('bedStateDir'), 'ganesha.nfsd');
    await pollUntil(() => call(node.NodePublishVolume.bind(node), down).then(() => true), {
      what: 'NodePublishVolume to succeed once the NFS server is back',
      intervalMs: 1_000,
    });
    expect(await plugin.mountsAt(down.target_path)).toHaveLength(1);
    await unpublishTimed(down);
  }, 300_000);
});
