// Clones on the real bed: a claim with dataSource PersistentVolumeClaim gets a full copy of its
// source (10,000 files, nested directories, symbolic links, hard links, a sparse file, several
// owners), compared entry by entry; the controller is SIGKILLed mid-copy and restarted, and the PV
// still appears only with the whole copy. Bad sources get a clear Event and nothing is made. (A
// dataSourceRef naming another namespace never reaches Warren here: with the API server's
// CrossNamespaceVolumeDataSource gate off, it drops the namespace; the unit tests cover the refusal.)
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ControllerProcess, metricValue, startController } from '../../hack/bed/controller.ts';
import { poll } from '../../hack/lib/poll.ts';
import {
  createClaim,
  createClass,
  eventsFor,
  provisionerFor,
  waitBound,
  waitEvent,
  waitGone,
} from './fixtures.ts';
import { bedClients, freshNamespace } from './kube.ts';
import { describeTree, fill } from './volume-content.ts';

const { core, storage } = bedClients();
const bed = inject('bed');
const provisioner = provisionerFor('clone');
const logDir = mkdtempSync(join(tmpdir(), 'warren-clone-'));
const suffix = Date.now().toString(36);
const className = `clone-${suffix}`;
/**
 * A class on a share of its own that fills up: a 4 MiB tmpfs served to the controller as
 * `/small-<suffix>`. It is mounted outside the bed's export, so the files that share the bed
 * never meet a mount point inside the export (the NFS server answers NFS3ERR_XDEV for it).
 */
const smallClass = `clone-small-${suffix}`;
const smallShare = `/small-${suffix}`;
const smallDir = join(logDir, 'small-share');
const fileCount = 10_000;
let ns: string;
const running: ControllerProcess[] = [];

const start = async (name: string) => {
  const c = await startController({ bed, provisioner, logFile: join(logDir, `${name}.log`) });
  running.push(c);
  return c;
};

beforeAll(async () => {
  ns = await freshNamespace(core, 'clone');
  await createClass(storage, className, {
    provisioner,
    parameters: {
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      subDir: `clone-${suffix}/\${pvc.metadata.name}`,
    },
  });
});
afterAll(async () => {
  await Promise.all(running.map((c) => c.kill()));
  await storage.deleteStorageClass({ name: className }).catch(() => undefined);
  await storage.deleteStorageClass({ name: smallClass }).catch(() => undefined);
  if (existsSync(smallDir)) execFileSync('umount', [smallDir], { stdio: 'ignore' });
});

function cloneOf(
  name: string,
  source: string,
  size = '1Gi',
  storageClassName = className,
): V1PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: {
      storageClassName,
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: size } },
      dataSource: { kind: 'PersistentVolumeClaim', name: source },
    },
  };
}

describe('clones', () => {
  it('copies everything; killed mid-copy and restarted, the PV appears only with the whole copy', async () => {
    let controller = await start('first');
    await createClaim(core, ns, 'origin', className);
    const { pv } = await waitBound(core, ns, 'origin');
    const sourceDir = join(bed.WARREN_EXPORT_DIR, pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing');
    fill(sourceDir, fileCount);

    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: cloneOf('copy', 'origin') });
    await waitEvent(core, ns, 'copy', 'CloneStarted');
    // The source is held while it is copied.
    const held = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'origin' });
    expect(held.metadata?.finalizers).toContain('warren.dev/clone-source');
    await controller.kill();
    const copy = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'copy' });
    const pvName = `pvc-${copy.metadata?.uid}`;
    await expect(core.readPersistentVolume({ name: pvName })).rejects.toMatchObject({ code: 404 });

    controller = await start('restarted');
    const bound = await waitBound(core, ns, 'copy', 120_000);
    const cloneDir = join(bed.WARREN_EXPORT_DIR, bound.pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing');
    expect(cloneDir).not.toBe(sourceDir);

    const want = describeTree(sourceDir);
    const got = describeTree(cloneDir);
    expect(Object.keys(got.entries).length).toBeGreaterThan(fileCount);
    expect({ entries: got.entries, hardLinks: got.hardLinks }).toStrictEqual({
      entries: want.entries,
      hardLinks: want.hardLinks,
    });
    const drift = Object.entries(want.mtimes).filter(([k, ns]) => {
      const d = (got.mtimes[k] ?? 0n) - ns;
      return d > 1000n || d < -1000n;
    });
    expect(drift).toStrictEqual([]);
    expect(lstatSync(cloneDir).mode & 0o7777).toBe(lstatSync(sourceDir).mode & 0o7777);
    expect(lstatSync(join(cloneDir, 'sparse')).blocks * 512).toBeLessThan(1 << 20);
    expect(lstatSync(join(cloneDir, 'linked')).ino).not.toBe(lstatSync(join(sourceDir, 'linked')).ino);
    expect(readdirSync(cloneDir).filter((n) => n.startsWith('.warren'))).toStrictEqual([]);

    const done = await waitEvent(core, ns, 'copy', 'CloneCompleted');
    expect(done.message).toMatch(/copied claim .*\/origin in [\d.]+ s: \d+ files/);
    console.log(`clone of ${fileCount} files: ${done.message}`);
    expect(await metricValue(controller.metricsUrl, 'warren_clone_copied_bytes_total')).toBeGreaterThan(0);
    const released = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'origin' });
    expect(released.metadata?.finalizers ?? []).not.toContain('warren.dev/clone-source');
    // A write to the clone never reaches its source.
    writeFileSync(join(cloneDir, 'owned-a'), 'changed');
    expect(readFileSync(join(sourceDir, 'owned-a'), 'utf8')).toBe('a');
  }, 300_000);

  it.each([
    ['a source that does not exist', cloneOf('from-nothing', 'nothing'), 'source claim NS/nothing not found'],
    ['a clone smaller than its source', cloneOf('small', 'origin', '100Mi'), 'request at least 1Gi'],
  ])('%s: a ProvisioningFailed Event, no PV, no directory', async (_what, body, message) => {
    if (running.length === 0) await start('bad-input');
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body });
    const name = body.metadata?.name ?? '';
    const event = await waitEvent(core, ns, name, 'ProvisioningFailed');
    expect(event.message).toContain(message.replace('NS', ns));
    const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name });
    await expect(core.readPersistentVolume({ name: `pvc-${claim.metadata?.uid}` })).rejects.toMatchObject({
      code: 404,
    });
    expect(readdirSync(join(bed.WARREN_EXPORT_DIR, `clone-${suffix}`))).not.toContain(name);
  });

  it('a copy that runs out of space mid-way on the share: told, its partial copy removed before each new try, done once there is room', async () => {
    // One controller at a time (no leader election here): this one serves the small share too.
    await Promise.all(running.splice(0).map((c) => c.kill()));
    mkdirSync(smallDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=755', 'tmpfs', smallDir]);
    const controller = await startController({
      bed,
      provisioner,
      logFile: join(logDir, 'small.log'),
      args: [`--share=${bed.WARREN_NFS_SERVER}:${smallShare}=${smallDir}`],
    });
    running.push(controller);
    await createClass(storage, smallClass, {
      provisioner,
      parameters: { server: bed.WARREN_NFS_SERVER, share: smallShare, subDir: '${pvc.metadata.name}' },
    });
    await createClaim(core, ns, 'tiny-origin', smallClass);
    await waitBound(core, ns, 'tiny-origin');
    const sourceDir = join(smallDir, 'tiny-origin');
    for (let i = 0; i < 3; i++) writeFileSync(join(sourceDir, `part-${i}`), Buffer.alloc(1 << 20, i + 1));
    const want = describeTree(sourceDir);
    const used = () => {
      const s = statfsSync(smallDir);
      return (s.blocks - s.bfree) * s.bsize;
    };
    const usedBySource = used();
    const failedBefore = await metricValue(controller.metricsUrl, 'warren_clone_total', { result: 'failed' });

    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: cloneOf('tiny-copy', 'tiny-origin', '1Gi', smallClass),
    });
    const failed = await waitEvent(core, ns, 'tiny-copy', 'ProvisioningFailed', 120_000);
    expect(failed.type).toBe('Warning');
    expect(failed.message).toContain('copy from claim');
    expect(failed.message).toContain('(the partial copy was removed; it starts again)');
    expect(failed.message).toContain('ENOSPC; the share is full');
    const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'tiny-copy' });
    await expect(core.readPersistentVolume({ name: `pvc-${claim.metadata?.uid}` })).rejects.toMatchObject({
      code: 404,
    });
    expect(
      (await metricValue(controller.metricsUrl, 'warren_clone_total', { result: 'failed' })) - failedBefore,
    ).toBeGreaterThanOrEqual(1);
    // The release path removed each partial copy: its log says so, and the next try starts afresh
    // (a partial copy left with its mark would be copied over, "over a copy that was cut off").
    const discarded = readFileSync(controller.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('partial copy discarded') && l.includes('tiny-origin'));
    expect(discarded.length).toBeGreaterThanOrEqual(1);
    for (const line of discarded) expect(JSON.parse(line)).toMatchObject({ discarded: 'removed' });
    const tries = await poll(
      () => eventsFor(core, ns, 'tiny-copy'),
      (list) => list.filter((e) => e.reason === 'CloneStarted').reduce((n, e) => n + (e.count ?? 1), 0) >= 2,
      { what: 'the copy to start again', timeoutMs: 120_000 },
    );
    const startedMessages = tries.filter((e) => e.reason === 'CloneStarted').map((e) => e.message ?? '');
    expect(startedMessages.filter((m) => m.includes('cut off'))).toEqual([]);
    // Room again: the next try completes with the whole copy.
    execFileSync('mount', ['-o', 'remount,size=16m', smallDir]);
    const bound = await waitBound(core, ns, 'tiny-copy', 400_000);
    const cloneDir = join(smallDir, bound.pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing');
    expect(describeTree(cloneDir).entries).toStrictEqual(want.entries);
    expect(used()).toBeLessThan(usedBySource + (3 << 20) + (1 << 20));
  }, 600_000);

  it('a source claim deleted during its copy: held by warren.dev/clone-source until the copy ends, then gone', async () => {
    if (running.length === 0) await start('busy');
    const controller = running.at(-1) as ControllerProcess;
    await createClaim(core, ns, 'busy-origin', className);
    const { pv } = await waitBound(core, ns, 'busy-origin');
    const sourceDir = join(bed.WARREN_EXPORT_DIR, pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing');
    fill(sourceDir, 4000);
    const want = describeTree(sourceDir);

    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: cloneOf('busy-copy', 'busy-origin'),
    });
    await waitEvent(core, ns, 'busy-copy', 'CloneStarted');
    // The Event is recorded as the copy is handed to the copy lane; the gauge rises once the lane runs it.
    await poll(
      () => metricValue(controller.metricsUrl, 'warren_clone_copies_running'),
      (running) => running === 1,
      { what: 'the copy to be running' },
    );
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'busy-origin' });
    const deleting = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'busy-origin' });
    expect(deleting.metadata?.deletionTimestamp).toBeDefined();
    expect(deleting.metadata?.finalizers).toContain('warren.dev/clone-source');
    expect((await core.readPersistentVolume({ name: pv.metadata?.name ?? '' })).status?.phase).toBe('Bound');

    const bound = await waitBound(core, ns, 'busy-copy', 300_000);
    const cloneDir = join(bed.WARREN_EXPORT_DIR, bound.pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing');
    const got = describeTree(cloneDir);
    expect({ entries: got.entries, hardLinks: got.hardLinks }).toStrictEqual({
      entries: want.entries,
      hardLinks: want.hardLinks,
    });
    // The copy is done: the source goes, and its volume is released (its class deletes).
    await waitGone(
      () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'busy-origin' }),
      'source claim busy-origin',
      60_000,
    );
    await waitGone(() => core.readPersistentVolume({ name: pv.metadata?.name ?? '' }), 'source PV', 60_000);
    expect(existsSync(sourceDir)).toBe(false);
    expect(describeTree(cloneDir).entries).toStrictEqual(want.entries);
  }, 600_000);
});
