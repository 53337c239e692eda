// Snapshots on the real bed, with the real snapshot-controller and no csi-snapshotter: `warren
// controller` takes the snapshot of a VolumeSnapshot's content (ready, restoreSize), a claim
// restores it as a full unlinked copy, a second snapshot links its unchanged files to the first,
// deletionPolicy Delete removes the snapshot from the share and Retain keeps it, a controller
// SIGKILLed mid-snapshot never reports a half one and leaves no orphan, and bad restores get Events.
import { createHash } from 'node:crypto';
import {
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ControllerProcess, startController } from '../../hack/bed/controller.ts';
import { bootGuest, guestNfsHost } from '../../hack/bed/guest.ts';
import { poll } from '../../hack/lib/poll.ts';
import type { VolumeSnapshot, VolumeSnapshotContent } from '../../src/claims/snapshot-objects.ts';
import { parseSnapshotId, snapshotDigest } from '../../src/provisioning/snapshot-id.ts';
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

const { kc, core, storage } = bedClients();
const custom = kc.makeApiClient(CustomObjectsApi);
const bed = inject('bed');
const provisioner = provisionerFor('snapshot');
const logDir = mkdtempSync(join(tmpdir(), 'warren-snapshot-'));
const suffix = Date.now().toString(36);
const className = `snap-${suffix}`;
const deleteClass = `snap-delete-${suffix}`;
const retainClass = `snap-retain-${suffix}`;
const group = 'snapshot.storage.k8s.io';
const version = 'v1';
const area = join(bed.WARREN_EXPORT_DIR, '.warren', 'snapshots');
let ns: string;
let sourceDir: string;
/** The restored claim's directory on the share and its subDir (the guest mounts it). */
let restored: { dir: string; subDir: string } | undefined;
const running: ControllerProcess[] = [];

const start = async (name: string) => {
  const c = await startController({ bed, provisioner, logFile: join(logDir, `${name}.log`) });
  running.push(c);
  return c;
};

beforeAll(async () => {
  ns = await freshNamespace(core, 'snapshot');
  await createClass(storage, className, {
    provisioner,
    parameters: {
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      subDir: `snap-${suffix}/\${pvc.metadata.name}`,
    },
  });
  for (const [name, deletionPolicy] of [
    [deleteClass, 'Delete'],
    [retainClass, 'Retain'],
  ] as const) {
    await custom.createClusterCustomObject({
      group,
      version,
      plural: 'volumesnapshotclasses',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'VolumeSnapshotClass',
        metadata: { name },
        driver: provisioner,
        deletionPolicy,
      },
    });
  }
  await start('first');
  await createClaim(core, ns, 'origin', className);
  const { pv } = await waitBound(core, ns, 'origin');
  sourceDir = join(bed.WARREN_EXPORT_DIR, pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing');
  fill(sourceDir, 300);
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((c) => c.kill()));
  await storage.deleteStorageClass({ name: className }).catch(() => undefined);
  for (const name of [deleteClass, retainClass])
    await custom
      .deleteClusterCustomObject({ group, version, plural: 'volumesnapshotclasses', name })
      .catch(() => undefined);
});

/** Files, directories, owners, modes, times, a symbolic link and a hard link pair. */
function fill(dir: string, files: number): void {
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${i % 5}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}`), `file ${i}\n`.repeat(1 + (i % 7)));
  }
  writeFileSync(join(dir, 'owned'), 'owned by 1001');
  chownSync(join(dir, 'owned'), 1001, 2002);
  writeFileSync(join(dir, 'private'), 'mode 0600', { mode: 0o600 });
  symlinkSync('d0/f0', join(dir, 'link'));
  writeFileSync(join(dir, 'linked'), 'one inode, two names');
  linkSync(join(dir, 'linked'), join(dir, 'd1', 'linked-too'));
  utimesSync(join(dir, 'owned'), new Date('2021-01-01T00:00:00Z'), new Date('2021-01-01T00:00:00Z'));
}

/** Every entry's kind, mode, owner, size, content digest, link target and mtime; the hard-link groups. */
function describeTree(root: string) {
  const entries: Record<string, string> = {};
  const inodes = new Map<number, string[]>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const key = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path);
      const base = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        entries[key] = base;
        walk(path, key);
      } else if (st.isSymbolicLink()) entries[key] = `${base} -> ${readlinkSync(path)}`;
      else {
        const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
        entries[key] = `${base} ${st.size} ${digest} ${Math.round(st.mtimeMs)}`;
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), key]);
      }
    }
  };
  walk(root, '');
  // Hard links within the tree (a snapshot's file linked from another snapshot has one name here).
  const groups = [...inodes.values()].filter((g) => g.length > 1);
  return { entries, hardLinks: groups.map((g) => g.join(' = ')).sort() };
}

/** The inode of every regular file below root, by relative path. */
function inodes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const st = lstatSync(join(dir, name));
      const key = rel ? `${rel}/${name}` : name;
      if (st.isDirectory()) walk(join(dir, name), key);
      else if (st.isFile()) out.set(key, st.ino);
    }
  };
  walk(root, '');
  return out;
}

async function createSnapshot(name: string, claim: string, snapshotClass = deleteClass): Promise<void> {
  await custom.createNamespacedCustomObject({
    group,
    version,
    namespace: ns,
    plural: 'volumesnapshots',
    body: {
      apiVersion: `${group}/${version}`,
      kind: 'VolumeSnapshot',
      metadata: { name },
      spec: { volumeSnapshotClassName: snapshotClass, source: { persistentVolumeClaimName: claim } },
    },
  });
}

const readSnapshot = (name: string) =>
  custom.getNamespacedCustomObject({
    group,
    version,
    namespace: ns,
    plural: 'volumesnapshots',
    name,
  }) as Promise<VolumeSnapshot>;
const readContent = (name: string) =>
  custom.getClusterCustomObject({
    group,
    version,
    plural: 'volumesnapshotcontents',
    name,
  }) as Promise<VolumeSnapshotContent>;

async function waitReady(name: string, timeoutMs = 120_000) {
  const snapshot = await poll(
    () => readSnapshot(name),
    (s) => s.status?.readyToUse === true,
    { what: `VolumeSnapshot ${ns}/${name} to be readyToUse`, timeoutMs },
  );
  const content = await readContent(snapshot.status?.boundVolumeSnapshotContentName ?? '');
  return { snapshot, content };
}

/** The snapshot area's complete entry for a snapshot handle (its name comes from the handle's digest). */
function treeOf(handle: string): string {
  const parsed = parseSnapshotId(handle);
  const digest = parsed.form === 'digest' ? parsed.digest : snapshotDigest(parsed.location);
  return join(area, `snap-${digest}`);
}

function restoreOf(
  name: string,
  snapshot: string,
  size = '1Gi',
  kind = 'VolumeSnapshot',
): V1PersistentVolumeClaim {
  return {
    metadata: { name },
    spec: {
      storageClassName: className,
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: size } },
      dataSource: { apiGroup: group, kind, name: snapshot },
    },
  };
}

describe('snapshots', () => {
  let firstTree: string;

  it('takes a snapshot of a bound claim: readyToUse, restoreSize, a complete copy on the share', async () => {
    await createSnapshot('first', 'origin');
    const { snapshot, content } = await waitReady('first');
    const sizes = Object.values(describeTree(sourceDir).entries)
      .filter((e) => e.startsWith('100000'))
      .map((e) => Number(e.split(' ')[3]));
    const total = sizes.reduce((a, b) => a + b, 0) - 'one inode, two names'.length; // the hard link counts once
    expect(content.status?.restoreSize).toBe(total);
    expect(snapshot.status?.restoreSize).toBeDefined();
    expect(content.status?.snapshotHandle).toMatch(/^s[12]#/);
    expect(
      content.metadata?.annotations?.['snapshot.storage.kubernetes.io/volumesnapshot-being-created'],
    ).toBeUndefined();
    firstTree = treeOf(content.status?.snapshotHandle ?? '');
    expect(existsSync(firstTree)).toBe(true);
    expect(describeTree(firstTree)).toStrictEqual(describeTree(sourceDir));
    expect(readdirSync(area).filter((e) => e.startsWith('part-'))).toStrictEqual([]);
  }, 180_000);

  it('restores it into a new claim: the same content and metadata, linked to nothing', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: restoreOf('restored', 'first') });
    const { pv } = await waitBound(core, ns, 'restored', 120_000);
    const subDir = pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing';
    const restoredDir = join(bed.WARREN_EXPORT_DIR, subDir);
    restored = { dir: restoredDir, subDir };
    expect(describeTree(restoredDir)).toStrictEqual(describeTree(sourceDir));
    const snapshotInodes = new Set(inodes(firstTree).values());
    expect([...inodes(restoredDir).values()].filter((i) => snapshotInodes.has(i))).toStrictEqual([]);
    const done = await waitEvent(core, ns, 'restored', 'CloneCompleted');
    expect(done.message).toMatch(new RegExp(`copied VolumeSnapshot ${ns}/first in`));
    // A write to the restore never reaches the snapshot.
    writeFileSync(join(restoredDir, 'owned'), 'changed');
    expect(readFileSync(join(firstTree, 'owned'), 'utf8')).toBe('owned by 1001');
  }, 180_000);

  it('a second snapshot after a change links its unchanged files to the first', async () => {
    writeFileSync(join(sourceDir, 'd0', 'f0'), 'changed since the first snapshot\n');
    await createSnapshot('second', 'origin');
    const { content } = await waitReady('second');
    const secondTree = treeOf(content.status?.snapshotHandle ?? '');
    expect(describeTree(secondTree)).toStrictEqual(describeTree(sourceDir));
    const first = inodes(firstTree);
    const second = inodes(secondTree);
    const shared = [...second].filter(([path, ino]) => first.get(path) === ino).map(([path]) => path);
    expect(shared).not.toContain('d0/f0');
    expect(shared.length).toBe(second.size - 1);

    // deletionPolicy Delete: the snapshot leaves the share, the first one keeps every file.
    await custom.deleteNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural: 'volumesnapshots',
      name: 'second',
    });
    await waitGone(() => readSnapshot('second'), `VolumeSnapshot ${ns}/second`, 60_000);
    await waitGone(
      () => readContent(content.metadata?.name ?? ''),
      `content ${content.metadata?.name}`,
      60_000,
    );
    expect(existsSync(secondTree)).toBe(false);
    expect(describeTree(firstTree).entries['d1/f1']).toBe(describeTree(sourceDir).entries['d1/f1']);
  }, 180_000);

  it('deletionPolicy Retain: the VolumeSnapshot goes, its content and the snapshot stay', async () => {
    await createSnapshot('kept', 'origin', retainClass);
    const { content } = await waitReady('kept');
    const tree = treeOf(content.status?.snapshotHandle ?? '');
    await custom.deleteNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural: 'volumesnapshots',
      name: 'kept',
    });
    await waitGone(() => readSnapshot('kept'), `VolumeSnapshot ${ns}/kept`, 60_000);
    const after = await readContent(content.metadata?.name ?? '');
    expect(after.metadata?.deletionTimestamp).toBeUndefined();
    expect(after.status?.readyToUse).toBe(true);
    expect(existsSync(tree)).toBe(true);
  }, 180_000);

  it('SIGKILLed mid-snapshot: nothing reported ready, and after a restart one complete snapshot, no part left', async () => {
    await createClaim(core, ns, 'big', className);
    const { pv } = await waitBound(core, ns, 'big');
    fill(join(bed.WARREN_EXPORT_DIR, pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing'), 4000);
    const completeBefore = new Set(readdirSync(area).filter((e) => e.startsWith('snap-')));
    await createSnapshot('cut', 'big');
    await poll(
      async () => readdirSync(area).filter((e) => e.startsWith('part-')),
      (parts) => parts.length > 0,
      { what: 'the snapshot copy to begin (a part- entry)', timeoutMs: 60_000, intervalMs: 20 },
    );
    await Promise.all(running.splice(0).map((c) => c.kill()));
    const cut = await readSnapshot('cut');
    expect(cut.status?.readyToUse ?? false).toBe(false);
    const contentName = cut.status?.boundVolumeSnapshotContentName ?? '';
    const halfway = await readContent(contentName);
    expect(halfway.status?.readyToUse ?? false).toBe(false);
    expect(
      halfway.metadata?.annotations?.['snapshot.storage.kubernetes.io/volumesnapshot-being-created'],
    ).toBe('yes');

    await start('restarted');
    const { content } = await waitReady('cut', 180_000);
    const complete = readdirSync(area).filter((e) => e.startsWith('snap-') && !completeBefore.has(e));
    expect(complete).toStrictEqual([
      treeOf(content.status?.snapshotHandle ?? '')
        .split('/')
        .at(-1),
    ]);
    expect(readdirSync(area).filter((e) => e.startsWith('part-'))).toStrictEqual([]);
  }, 300_000);

  it.each([
    [
      'a VolumeSnapshot that does not exist',
      restoreOf('from-nothing', 'nothing'),
      `VolumeSnapshot NS/nothing not found`,
    ],
    ['a restore smaller than the snapshot', restoreOf('too-small', 'first', '1Ki'), 'request at least that'],
  ])(
    '%s: a ProvisioningFailed Event, no PV',
    async (_what, body, message) => {
      if (running.length === 0) await start('bad-input');
      await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body });
      const name = body.metadata?.name ?? '';
      const event = await waitEvent(core, ns, name, 'ProvisioningFailed', 60_000);
      expect(event.message).toContain(message.replace('NS', ns));
      const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name });
      await expect(core.readPersistentVolume({ name: `pvc-${claim.metadata?.uid}` })).rejects.toMatchObject({
        code: 404,
      });
    },
    90_000,
  );

  it.each([
    [
      'of another driver',
      { driver: 'other.example.com', handle: 'elsewhere' },
      'is a snapshot of driver other.example.com',
    ],
    [
      'on a share this controller does not serve',
      { driver: provisioner, handle: 's1#nfs.elsewhere.example#/export#x' },
      'no --share flag covers nfs.elsewhere.example:/export',
    ],
    [
      'that is not there',
      { driver: provisioner, handle: 's1#NFS#/export#missing' },
      'does not exist (or is not complete)',
    ],
  ])(
    'restoring a pre-provisioned snapshot %s: a clear Event',
    async (_what, source, message) => {
      if (running.length === 0) await start('bad-input');
      const name = `pre-${createHash('sha256').update(source.handle).digest('hex').slice(0, 8)}`;
      const handle = source.handle.replace('NFS', bed.WARREN_NFS_SERVER);
      await custom.createClusterCustomObject({
        group,
        version,
        plural: 'volumesnapshotcontents',
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'VolumeSnapshotContent',
          metadata: { name: `${name}-${suffix}` },
          spec: {
            driver: source.driver,
            deletionPolicy: 'Retain',
            source: { snapshotHandle: handle },
            volumeSnapshotRef: { namespace: ns, name },
          },
        },
      });
      await custom.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: 'volumesnapshots',
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'VolumeSnapshot',
          metadata: { name },
          spec: { source: { volumeSnapshotContentName: `${name}-${suffix}` } },
        },
      });
      const claimName = `restore-${name}`;
      await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: restoreOf(claimName, name) });
      // Each distinct message is an Event of its own: the one that says what is wrong must come.
      const messages = await poll(
        async () =>
          (await eventsFor(core, ns, claimName))
            .filter((e) => e.reason === 'ProvisioningFailed')
            .map((e) => e.message ?? ''),
        (list) => list.some((m) => m.includes(message)),
        { what: `an Event on ${claimName} saying "${message}"`, timeoutMs: 60_000 },
      );
      console.log(`restoring a pre-provisioned snapshot ${_what}: ${messages.join(' | ')}`);
    },
    90_000,
  );
  it('a restore mounted in the guest reads the same through the kernel NFS client', async () => {
    if (!restored) throw new Error('the restore test did not run');
    const { dir, subDir } = restored;
    const guest = await bootGuest({ logFile: join(logDir, 'guest-console.log') });
    try {
      const target = '/mnt/restored';
      expect(await guest.exec(['mkdir', '-p', target])).toMatchObject({ code: 0 });
      const source = `${guestNfsHost}:${bed.WARREN_NFS_PSEUDO}/${subDir}`;
      const options = `vers=4.1,port=${bed.WARREN_NFS_PORT},ro`;
      expect(
        await guest.exec(['mount', '-t', 'nfs4', '-o', options, source, target], { timeoutMs: 30_000 }),
      ).toMatchObject({ code: 0, stderr: '' });
      for (const file of ['owned', 'private', 'linked', 'd1/linked-too', 'd0/f5', 'd4/f299']) {
        const read = await guest.exec(['cat', `${target}/${file}`]);
        expect({ file, code: read.code, stdout: read.stdout }).toStrictEqual({
          file,
          code: 0,
          stdout: readFileSync(join(dir, file), 'utf8'),
        });
      }
      const st = lstatSync(join(dir, 'owned'));
      expect((await guest.exec(['stat', '-c', '%u:%g %a %s %Y', `${target}/owned`])).stdout).toBe(
        `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${st.size} ${Math.floor(st.mtimeMs / 1000)}\n`,
      );
      expect((await guest.exec(['readlink', `${target}/link`])).stdout).toBe('d0/f0\n');
      const count = await guest.exec(['sh', '-c', `find ${target} -type f | wc -l`]);
      expect(Number(count.stdout.trim())).toBe([...inodes(dir).keys()].length);
      expect(await guest.exec(['umount', target], { timeoutMs: 30_000 })).toMatchObject({ code: 0 });
      console.log(`[warren] restore read in the guest over NFS v4.1 (guest boot ${guest.bootMs} ms)`);
    } finally {
      await guest.stop();
    }
  }, 420_000);
});
