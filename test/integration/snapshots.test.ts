// Snapshots on the bed's real share, through the CSI Controller service over the production share
// I/O (share workers, copy workers): a volume of 10,000 files, nested directories, symbolic links
// (one pointing outside), hard links, a sparse file and several owners is snapshotted, restored
// and compared entry by entry; a second snapshot after changing 1% of the files stores only those
// (its unchanged files share inodes with the first); deleting the first leaves the second whole;
// a snapshot of a volume whose directory is gone is NOT_FOUND. Times and bytes are printed.
import { lstatSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CreateVolumeRequest } from '../../src/csi/generated/csi/v1/CreateVolumeRequest.ts';
import { makeControllerService } from '../../src/csi-controller/controller-service.ts';
import { createShareWorkerBackend, type ShareIo } from '../../src/provisioning/share-worker-backend.ts';
import { snapshotEntry } from '../../src/provisioning/snapshot-area.ts';
import { parseSnapshotId } from '../../src/provisioning/snapshot-id.ts';
import { findSnapshot } from '../../src/provisioning/snapshots.ts';
import type { VolumeStore } from '../../src/provisioning/volume-directory.ts';
import { describeTree, fill } from './volume-content.ts';

const bed = inject('bed');
const fileCount = 10_000;
const suffix = Date.now().toString(36);
const ctx = { log: pino({ level: 'silent' }) };
let io: ShareIo;
let service: ReturnType<typeof makeControllerService>;
let store: VolumeStore;

beforeAll(() => {
  const shares = [
    { server: bed.WARREN_NFS_SERVER, share: bed.WARREN_NFS_SHARE, localDir: bed.WARREN_EXPORT_DIR },
  ];
  io = createShareWorkerBackend({ shares });
  store = { shares, backend: io.backend };
  service = makeControllerService({ store, copier: io.copier });
});
afterAll(async () => {
  await io?.close();
});

const request = (name: string, extra: Partial<CreateVolumeRequest> = {}) =>
  ({
    name,
    volume_capabilities: [
      { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } },
    ],
    parameters: {
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      subDir: `snapshots-${suffix}/\${pv.metadata.name}`,
    },
    capacity_range: { required_bytes: String(1 << 30), limit_bytes: '0' },
    secrets: {},
    mutable_parameters: {},
    accessibility_requirements: null,
    volume_content_source: null,
    ...extra,
  }) as never;

async function createVolume(name: string, extra: Partial<CreateVolumeRequest> = {}) {
  const answer = await service.CreateVolume(request(name, extra), ctx);
  const volumeId = answer.volume?.volume_id ?? '';
  return { volumeId, dir: join(bed.WARREN_EXPORT_DIR, `snapshots-${suffix}`, name) };
}

async function timedSnapshot(name: string, sourceVolumeId: string) {
  const started = performance.now();
  const answer = await service.CreateSnapshot(
    { name, source_volume_id: sourceVolumeId, parameters: {}, secrets: {} } as never,
    ctx,
  );
  const seconds = (performance.now() - started) / 1000;
  const snapshot = answer.snapshot as { snapshot_id: string; size_bytes: string; ready_to_use: boolean };
  const parsed = parseSnapshotId(snapshot.snapshot_id);
  if (parsed.form !== 'location') throw new Error('expected a location id');
  const tree = join(bed.WARREN_EXPORT_DIR, '.warren/snapshots', snapshotEntry(parsed.location, 'snap'));
  return { snapshot, seconds, tree };
}

/** What the controller logged is not visible here; the snapshot's record says what it stored. */
async function recorded(snapshotId: string) {
  const listed = await service.ListSnapshots(
    {
      snapshot_id: snapshotId,
      source_volume_id: '',
      starting_token: '',
      max_entries: 0,
      secrets: {},
    } as never,
    ctx,
  );
  return listed.entries?.map((e) => e.snapshot?.snapshot_id);
}

const inode = (path: string) => lstatSync(path).ino;

describe('snapshots on the real share', () => {
  it('snapshot, incremental snapshot, restore, delete: byte for byte, by metadata, by inode', async () => {
    const source = await createVolume('origin');
    fill(source.dir, fileCount);
    const before = describeTree(source.dir);
    expect(Object.keys(before.entries).length).toBeGreaterThan(fileCount);

    const first = await timedSnapshot(`first-${suffix}`, source.volumeId);
    expect(first.snapshot.ready_to_use).toBe(true);
    expect(Number(first.snapshot.size_bytes)).toBeGreaterThan(64 << 20); // the sparse file's apparent size
    const firstTree = describeTree(first.tree);
    expect({ entries: firstTree.entries, hardLinks: firstTree.hardLinks }).toStrictEqual({
      entries: before.entries,
      hardLinks: before.hardLinks,
    });
    expect(lstatSync(join(first.tree, 'sparse')).blocks * 512).toBeLessThan(1 << 20);

    // 1% of the files change; the rest are as they were.
    const changed: string[] = [];
    for (let i = 0; i < fileCount; i += 100) {
      const path = join(`d${i % 10}`, `e${i % 7}`, `f${i}`);
      writeFileSync(join(source.dir, path), `changed ${i}\n`.repeat(50));
      changed.push(path);
    }
    const after = describeTree(source.dir);
    const second = await timedSnapshot(`second-${suffix}`, source.volumeId);
    const secondTree = describeTree(second.tree);
    expect({ entries: secondTree.entries, hardLinks: secondTree.hardLinks }).toStrictEqual({
      entries: after.entries,
      hardLinks: after.hardLinks,
    });
    const unchanged = 'd1/e1/f1';
    expect(inode(join(second.tree, unchanged))).toBe(inode(join(first.tree, unchanged)));
    expect(inode(join(second.tree, 'sparse'))).toBe(inode(join(first.tree, 'sparse')));
    for (const path of changed)
      expect(inode(join(second.tree, path))).not.toBe(inode(join(first.tree, path)));
    const changedBytes = changed.reduce((sum, path) => sum + lstatSync(join(source.dir, path)).size, 0);
    const firstInfo = await findSnapshot(store, first.snapshot.snapshot_id);
    const secondInfo = await findSnapshot(store, second.snapshot.snapshot_id);
    const distinctFiles = firstInfo?.files ?? 0;
    expect(secondInfo).toMatchObject({
      files: distinctFiles,
      linkedFiles: distinctFiles - changed.length,
      storedBytes: changedBytes,
      basedOn: first.snapshot.snapshot_id,
    });
    const mib = (n: number) => (n / (1 << 20)).toFixed(2);
    console.log(
      `snapshot of ${distinctFiles} files (${mib(firstInfo?.sizeBytes ?? 0)} MiB apparent): first ${first.seconds.toFixed(1)} s, ` +
        `${mib(firstInfo?.storedBytes ?? 0)} MiB stored (${Math.round(distinctFiles / first.seconds)} files/s); ` +
        `after changing ${changed.length} files (${changedBytes} bytes), second ${second.seconds.toFixed(1)} s, ` +
        `${secondInfo?.storedBytes} bytes stored, ${secondInfo?.linkedFiles} files linked to the first`,
    );

    // A restore of the first: the content before the change, no inode shared with any snapshot.
    const restored = await createVolume('restored', {
      volume_content_source: { snapshot: { snapshot_id: first.snapshot.snapshot_id }, type: 'snapshot' },
    } as never);
    const restoredTree = describeTree(restored.dir);
    expect({ entries: restoredTree.entries, hardLinks: restoredTree.hardLinks }).toStrictEqual({
      entries: before.entries,
      hardLinks: before.hardLinks,
    });
    expect(inode(join(restored.dir, unchanged))).not.toBe(inode(join(first.tree, unchanged)));
    expect(lstatSync(join(restored.dir, unchanged)).nlink).toBe(1);
    writeFileSync(join(restored.dir, unchanged), 'written to the restore');
    expect(describeTree(first.tree).entries[unchanged]).toBe(before.entries[unchanged]);

    // Deleting the first leaves the second whole, the files it linked included.
    await service.DeleteSnapshot({ snapshot_id: first.snapshot.snapshot_id, secrets: {} } as never, ctx);
    expect(await recorded(first.snapshot.snapshot_id)).toEqual([]);
    expect(() => lstatSync(first.tree)).toThrow();
    expect(describeTree(second.tree).entries).toStrictEqual(after.entries);
    expect(await recorded(second.snapshot.snapshot_id)).toEqual([second.snapshot.snapshot_id]);
    await service.DeleteSnapshot({ snapshot_id: second.snapshot.snapshot_id, secrets: {} } as never, ctx);
    expect(readdirSync(join(bed.WARREN_EXPORT_DIR, '.warren/snapshots'))).not.toContain(
      second.tree.split('/').at(-1),
    );
  }, 300_000);

  it('a snapshot of a volume whose directory is gone is NOT_FOUND, and leaves nothing', async () => {
    const gone = await createVolume('gone');
    rmSync(gone.dir, { recursive: true });
    const name = `of-gone-${suffix}`;
    await expect(
      service.CreateSnapshot(
        { name, source_volume_id: gone.volumeId, parameters: {}, secrets: {} } as never,
        ctx,
      ),
    ).rejects.toMatchObject({
      kind: 'NotFound',
      message: expect.stringContaining('is gone; nothing to snapshot'),
    });
    const entry = snapshotEntry({ server: bed.WARREN_NFS_SERVER, share: bed.WARREN_NFS_SHARE, name }, 'part');
    expect(readdirSync(join(bed.WARREN_EXPORT_DIR, '.warren/snapshots'))).not.toContain(entry);
  });
});
