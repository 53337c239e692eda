// End to end, as kubelet would do it: the controller on the host provisions a claim on the
// real control plane; the test reads the bound PV and calls the node plugin in the guest with
// the PV's handle, attributes and mount options; the mount is a real kernel NFS mount.
// A volume restored from a snapshot (through the guest plugin's CSI Controller) is read the same way.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ControllerProcess, startController } from '../../hack/bed/controller.ts';
import { type GuestPlugin, repoRoot, startGuestPlugin } from '../../hack/bed/guest-plugin.ts';
import { call, expectStatus } from '../unit/csi-grpc-client.ts';
import { createClaim, createClass, provisionerFor, waitBound } from './fixtures.ts';
import { bedClients, freshNamespace } from './kube.ts';

const { core, storage } = bedClients();
const provisioner = provisionerFor('e2e');
const resultsDir = join(repoRoot, 'test-results');
const suffix = Date.now().toString(36);
let plugin: GuestPlugin;
let controller: ControllerProcess;
let ns: string;

beforeAll(async () => {
  mkdirSync(resultsDir, { recursive: true });
  const bed = inject('bed');
  ns = await freshNamespace(core, 'e2e');
  [plugin, controller] = await Promise.all([
    startGuestPlugin(inject('bed'), { logFile: join(resultsDir, 'e2e-guest-console.log') }),
    startController({
      bed: inject('bed'),
      provisioner,
      logFile: join(resultsDir, 'e2e-controller.log'),
    }),
  ]);
  const parameters = { server: '127.0.0.1', share: bed.WARREN_NFS_SHARE, subDir: 'e2e/${pvc.metadata.name}' };
  await createClass(storage, `e2e-v41-${suffix}`, { provisioner, parameters, mountOptions: ['vers=4.1'] });
  await createClass(storage, `e2e-v3-${suffix}`, { provisioner, parameters, mountOptions: plugin.v3Options });
});
afterAll(async () => {
  await Promise.all([plugin?.stop(), controller?.stop()]);
});

function publishRequest(pv: V1PersistentVolume, target: string, readonly = false) {
  return {
    volume_id: pv.spec?.csi?.volumeHandle ?? '',
    target_path: target,
    volume_capability: {
      mount: { fs_type: '', mount_flags: pv.spec?.mountOptions ?? [] },
      access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' as const },
    },
    readonly,
    volume_context: pv.spec?.csi?.volumeAttributes ?? {},
  };
}

describe.each([
  ['4.1', 'v41', 'vers=4.1'],
  ['3', 'v3', 'vers=3'],
])('NFS v%s', (_version, tag, versOption) => {
  it('publishes a provisioned volume, writes through it, reports stats and unpublishes', async () => {
    const bed = inject('bed');
    const name = `data-${tag}`;
    await createClaim(core, ns, name, `e2e-${tag}-${suffix}`);
    const { pv } = await waitBound(core, ns, name);
    const target = `/var/lib/kubelet/pods/pod-${tag}/volumes/kubernetes.io~csi/${pv.metadata?.name}/mount`;
    const node = plugin.clients.node;

    let started = performance.now();
    await call(node.NodePublishVolume.bind(node), publishRequest(pv, target));
    const publishMs = performance.now() - started;
    const mounts = await plugin.mountsAt(target);
    expect(mounts).toHaveLength(1);
    expect(mounts[0]).toContain(`127.0.0.1:${bed.WARREN_NFS_SHARE}/e2e/${name}`);
    expect(mounts[0]).toContain(versOption);

    // Idempotent: the same publish again is OK and mounts nothing new.
    await call(node.NodePublishVolume.bind(node), publishRequest(pv, target));
    expect(await plugin.mountsAt(target)).toHaveLength(1);

    const write = await plugin.sh(`echo 'written in the guest over NFS ${versOption}' > ${target}/hello.txt`);
    expect(write.code).toBe(0);
    expect(readFileSync(join(bed.WARREN_EXPORT_DIR, 'e2e', name, 'hello.txt'), 'utf8')).toBe(
      `written in the guest over NFS ${versOption}\n`,
    );

    // `used` counts this volume's directory, not the share (nor the disk the export lives on).
    writeFileSync(join(bed.WARREN_EXPORT_DIR, 'e2e', name, 'one-mib.bin'), Buffer.alloc(1 << 20, 1));
    writeFileSync(join(bed.WARREN_EXPORT_DIR, 'e2e', `${name}-outside.bin`), Buffer.alloc(8 << 20, 1));
    const stats = await call(node.NodeGetVolumeStats.bind(node), {
      volume_id: pv.spec?.csi?.volumeHandle ?? '',
      volume_path: target,
    });
    const bytes = stats.usage?.find((u) => u.unit === 'BYTES');
    expect(Number(bytes?.total)).toBeGreaterThan(0);
    expect(Number(bytes?.used)).toBeGreaterThanOrEqual(1 << 20);
    expect(Number(bytes?.used)).toBeLessThan(8 << 20);
    expect(stats.volume_condition?.abnormal).toBe(false);

    started = performance.now();
    await call(node.NodeUnpublishVolume.bind(node), {
      volume_id: pv.spec?.csi?.volumeHandle ?? '',
      target_path: target,
    });
    const unpublishMs = performance.now() - started;
    expect(await plugin.mountsAt(target)).toEqual([]);
    expect((await plugin.sh(`test -e ${target}`)).code).not.toBe(0);
    console.log(
      `NFS ${versOption}: NodePublishVolume ${publishMs.toFixed(0)} ms, NodeUnpublishVolume ${unpublishMs.toFixed(0)} ms (guest under TCG)`,
    );
  });
});

it('publishes read-only: the mount says ro and writes fail', async () => {
  await createClaim(core, ns, 'data-ro', `e2e-v41-${suffix}`);
  const { pv } = await waitBound(core, ns, 'data-ro');
  const target = '/var/lib/kubelet/pods/pod-ro/volumes/kubernetes.io~csi/ro/mount';
  const node = plugin.clients.node;
  await call(node.NodePublishVolume.bind(node), publishRequest(pv, target, true));
  const [mount] = await plugin.mountsAt(target);
  expect(mount?.split(' ')[3]?.split(',')).toContain('ro');
  const write = await plugin.sh(`echo nope > ${target}/nope.txt`);
  expect(write.code).not.toBe(0);
  expect(write.stderr).toMatch(/Read-only file system/);
  // The same target published read-write is a different publication: ALREADY_EXISTS.
  await expectStatus(
    call(node.NodePublishVolume.bind(node), publishRequest(pv, target, false)),
    status.ALREADY_EXISTS,
  );
  await call(node.NodeUnpublishVolume.bind(node), {
    volume_id: pv.spec?.csi?.volumeHandle ?? '',
    target_path: target,
  });
  expect(await plugin.mountsAt(target)).toEqual([]);
});

it('mounts an inline ephemeral volume straight from its attributes', async () => {
  const bed = inject('bed');
  const { mkdirSync: mkdir } = await import('node:fs');
  mkdir(join(bed.WARREN_EXPORT_DIR, 'inline', 'cache'), { recursive: true });
  const target = '/var/lib/kubelet/pods/pod-inline/volumes/kubernetes.io~csi/cache/mount';
  // kubelet names inline volumes itself (csi-<hash>) and passes the pod's attributes.
  const volume = { volume_id: 'csi-0f3a9c2b7d41e6f58a90b1c2d3e4f5a6', target_path: target };
  const node = plugin.clients.node;
  await call(node.NodePublishVolume.bind(node), {
    ...volume,
    volume_capability: {
      mount: { fs_type: '', mount_flags: ['vers=4.1'] },
      access_mode: { mode: 'SINGLE_NODE_WRITER' as const },
    },
    readonly: false,
    volume_context: {
      server: '127.0.0.1',
      share: bed.WARREN_NFS_SHARE,
      subDir: 'inline/cache',
      'csi.storage.k8s.io/ephemeral': 'true',
    },
  });
  expect((await plugin.mountsAt(target))[0]).toContain(`127.0.0.1:${bed.WARREN_NFS_SHARE}/inline/cache`);
  expect((await plugin.sh(`echo inline > ${target}/x`)).code).toBe(0);
  expect(readFileSync(join(bed.WARREN_EXPORT_DIR, 'inline', 'cache', 'x'), 'utf8')).toBe('inline\n');
  await call(node.NodeUnpublishVolume.bind(node), volume);
  expect(await plugin.mountsAt(target)).toEqual([]);
});

it('replaces a mount whose directory the server no longer has (ESTALE) on the next publish', async () => {
  const bed = inject('bed');
  const dir = join(bed.WARREN_EXPORT_DIR, 'stale', 'dir');
  mkdirSync(dir, { recursive: true });
  const target = '/var/lib/kubelet/pods/pod-stale/volumes/kubernetes.io~csi/stale/mount';
  const request = {
    volume_id: 'static-stale-dir',
    target_path: target,
    volume_capability: {
      mount: { fs_type: '', mount_flags: ['vers=4.1'] },
      access_mode: { mode: 'SINGLE_NODE_WRITER' as const },
    },
    readonly: false,
    volume_context: { server: '127.0.0.1', share: bed.WARREN_NFS_SHARE, subDir: 'stale/dir' },
  };
  const node = plugin.clients.node;
  await call(node.NodePublishVolume.bind(node), request);
  expect(await plugin.mountsAt(target)).toHaveLength(1);

  // The directory is removed and made again on the server: the mounted file handle is stale.
  rmSync(dir, { recursive: true });
  mkdirSync(dir);
  writeFileSync(join(dir, 'new.txt'), 'the new directory\n');
  const stat = await plugin.sh(`stat -f ${target}`); // statfs, as the plugin checks a mount
  expect({ code: stat.code, stale: /Stale file handle/i.test(stat.stderr) }).toEqual({
    code: 1,
    stale: true,
  });

  await call(node.NodePublishVolume.bind(node), request);
  expect(await plugin.mountsAt(target)).toHaveLength(1);
  expect((await plugin.sh(`cat ${target}/new.txt`)).stdout).toBe('the new directory\n');
  await call(node.NodeUnpublishVolume.bind(node), { volume_id: request.volume_id, target_path: target });
  expect(await plugin.mountsAt(target)).toEqual([]);
});

it('a volume restored from a snapshot, mounted in the guest, reads the snapshot through the kernel NFS client', async () => {
  const bed = inject('bed');
  const { controller: csi, node } = plugin.clients;
  const volume = (name: string, extra: Record<string, unknown> = {}) =>
    call(csi.CreateVolume.bind(csi), {
      name,
      volume_capabilities: [{ mount: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' as const } }],
      parameters: {
        server: '127.0.0.1',
        share: bed.WARREN_NFS_SHARE,
        subDir: 'e2e-snap/${pv.metadata.name}',
      },
      ...extra,
    });
  const source = await volume(`snap-src-${suffix}`);
  const sourceDir = join(bed.WARREN_EXPORT_DIR, 'e2e-snap', `snap-src-${suffix}`);
  mkdirSync(join(sourceDir, 'sub'));
  writeFileSync(join(sourceDir, 'hello.txt'), 'as it was at the snapshot\n');
  writeFileSync(join(sourceDir, 'sub', 'data.bin'), Buffer.alloc(300_000, 7));
  const sourceId = source.volume?.volume_id ?? '';
  const snap = await call(csi.CreateSnapshot.bind(csi), {
    name: `e2e-snap-${suffix}`,
    source_volume_id: sourceId,
  });
  const snapshotId = snap.snapshot?.snapshot_id ?? '';
  expect(snap.snapshot?.ready_to_use).toBe(true);
  writeFileSync(join(sourceDir, 'hello.txt'), 'changed after the snapshot\n');

  const restored = await volume(`restored-${suffix}`, {
    volume_content_source: { snapshot: { snapshot_id: snapshotId } },
  });
  const target = `/var/lib/kubelet/pods/pod-restore/volumes/kubernetes.io~csi/restored-${suffix}/mount`;
  const publish = {
    volume_id: restored.volume?.volume_id ?? '',
    target_path: target,
    volume_capability: {
      mount: { fs_type: '', mount_flags: ['vers=4.1'] },
      access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' as const },
    },
    readonly: false,
    volume_context: restored.volume?.volume_context ?? {},
  };
  await call(node.NodePublishVolume.bind(node), publish);
  try {
    expect(await plugin.mountsAt(target)).toHaveLength(1);
    const read = await plugin.sh(
      `cat ${target}/hello.txt && wc -c < ${target}/sub/data.bin && od -An -tu1 -N1 ${target}/sub/data.bin`,
    );
    expect({ code: read.code, lines: read.stdout.trim().split(/\s+/) }).toEqual({
      code: 0,
      lines: ['as', 'it', 'was', 'at', 'the', 'snapshot', '300000', '7'],
    });
    // A write through the restored volume reaches neither the snapshot nor its source.
    expect((await plugin.sh(`echo 'written to the restore' > ${target}/hello.txt`)).code).toBe(0);
    expect(readFileSync(join(sourceDir, 'hello.txt'), 'utf8')).toBe('changed after the snapshot\n');
    const again = await volume(`restored-again-${suffix}`, {
      volume_content_source: { snapshot: { snapshot_id: snapshotId } },
    });
    const againDir = join(bed.WARREN_EXPORT_DIR, 'e2e-snap', `restored-again-${suffix}`);
    expect(readFileSync(join(againDir, 'hello.txt'), 'utf8')).toBe('as it was at the snapshot\n');
    await call(csi.DeleteVolume.bind(csi), { volume_id: again.volume?.volume_id ?? '' });
  } finally {
    await call(node.NodeUnpublishVolume.bind(node), { volume_id: publish.volume_id, target_path: target });
  }
  await call(csi.DeleteSnapshot.bind(csi), { snapshot_id: snapshotId });
  await call(csi.DeleteVolume.bind(csi), { volume_id: publish.volume_id });
  await call(csi.DeleteVolume.bind(csi), { volume_id: sourceId });
  rmSync(join(bed.WARREN_EXPORT_DIR, 'e2e-snap'), { recursive: true, force: true });
}, 300_000);
