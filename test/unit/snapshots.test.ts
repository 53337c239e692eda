// The snapshot core over the in-memory directory backend and copier: take (idempotent by name,
// incremental, crash-safe), find, list, delete (only what Warren recorded) and restore.
import { beforeEach, describe, expect, it } from 'vitest';
import { failedPrecondition } from '../../src/errors.ts';
import { snapshotEntry } from '../../src/provisioning/snapshot-area.ts';
import { encodeSnapshotId, snapshotDigest } from '../../src/provisioning/snapshot-id.ts';
import { snapshotRecordKey } from '../../src/provisioning/snapshot-records.ts';
import { restoreSnapshot } from '../../src/provisioning/snapshot-restore.ts';
import {
  deleteSnapshot,
  findSnapshot,
  listSnapshots,
  type SnapshotSource,
  takeSnapshot,
} from '../../src/provisioning/snapshots.ts';
import type { VolumeLocation } from '../../src/provisioning/types.ts';
import { openShare, type VolumeStore } from '../../src/provisioning/volume-directory.ts';
import { encodeVolumeId } from '../../src/provisioning/volume-id.ts';
import { volumeIntentFor } from '../../src/provisioning/volume-intent.ts';
import {
  createMemoryDirectoryBackend,
  type MemoryDirectoryBackend,
} from '../fakes/memory-directory-backend.ts';
import { createMemoryTreeCopier, type MemoryTreeCopier } from '../fakes/memory-tree-copier.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

const root = '/mnt/export';
const otherRoot = '/mnt/other';
const server = '127.0.0.1';
const area = `${root}/.warren/snapshots`;
let backend: MemoryDirectoryBackend;
let copier: MemoryTreeCopier;
let store: VolumeStore;
let clock: number;
const now = () => new Date(Date.UTC(2026, 0, 1) + clock++ * 1000);
const deps = () => ({ store, copier, now });

function volume(subDir: string, share = '/export'): SnapshotSource {
  const location: VolumeLocation = { server, share, subDir };
  return { volumeId: encodeVolumeId(location, 'delete'), location };
}
const volA = volume('vol-a');
const volB = volume('vol-b');
const file = (content: string) => ({ kind: 'file' as const, content });
const dir = { kind: 'dir' as const, mode: 0o755 };

beforeEach(() => {
  backend = createMemoryDirectoryBackend([root, otherRoot]);
  copier = createMemoryTreeCopier(backend);
  store = {
    shares: [
      { server, share: '/export', localDir: root },
      { server, share: '/other', localDir: otherRoot },
    ],
    backend,
  };
  clock = 0;
  for (const v of ['vol-a', 'vol-b']) {
    backend.plant(`${root}/${v}`, dir);
    backend.plant(`${root}/${v}/one`, file('first file'));
    backend.plant(`${root}/${v}/sub`, dir);
    backend.plant(`${root}/${v}/sub/two`, file('second'));
  }
});

const at = (name: string) => ({ server, share: '/export', name });
const snapPath = (name: string) => `${area}/${snapshotEntry(at(name), 'snap')}`;
const partPath = (name: string) => `${area}/${snapshotEntry(at(name), 'part')}`;
const entriesBelow = (path: string) =>
  [...backend.entries.keys()]
    .filter((k) => k.startsWith(`${path}/`))
    .map((k) => k.slice(path.length + 1))
    .sort();

describe('takeSnapshot', () => {
  it('copies the volume into the snapshot area and reports the complete snapshot', async () => {
    const info = await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    expect(info).toEqual({
      snapshotId: 's1#127.0.0.1#/export#snap-1',
      requestedName: 'snap-1',
      source: volA,
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 1)),
      sizeBytes: 16,
      storedBytes: 16,
      files: 2,
      linkedFiles: 0,
      readyToUse: true,
    });
    expect(entriesBelow(snapPath('snap-1'))).toEqual(['one', 'sub', 'sub/two']);
    expect(await backend.listSnapshotEntries(root)).toEqual([snapshotEntry(at('snap-1'), 'snap')]);
    expect(copier.calls).toEqual([{ source: `${root}/vol-a`, target: partPath('snap-1') }]);
  });

  it('is idempotent by name: the same name and source give the same snapshot, copied once', async () => {
    const first = await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    backend.plant(`${root}/vol-a/later`, file('written after'));
    expect(await takeSnapshot(deps(), { name: 'snap-1', source: volA })).toEqual(first);
    expect(copier.calls).toHaveLength(1);
  });

  it('refuses the name for another source with AlreadyExists, on this share or another', async () => {
    await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    await expectWarrenRejection(
      takeSnapshot(deps(), { name: 'snap-1', source: volB }),
      'AlreadyExists',
      'snap-1',
      volA.volumeId,
    );
    backend.plant(`${otherRoot}/vol-c`, dir);
    await expectWarrenRejection(
      takeSnapshot(deps(), { name: 'snap-1', source: volume('vol-c', '/other') }),
      'AlreadyExists',
      volA.volumeId,
    );
    expect(copier.calls).toHaveLength(1);
  });

  it('links the files unchanged since the same volume’s latest snapshot (incremental)', async () => {
    await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    await takeSnapshot(deps(), { name: 'other-volume', source: volB });
    backend.plant(`${root}/vol-a/one`, file('first file, edited'));
    const second = await takeSnapshot(deps(), { name: 'snap-2', source: volA });
    expect(copier.calls[2]).toEqual({
      source: `${root}/vol-a`,
      target: partPath('snap-2'),
      linkDest: snapPath('snap-1'),
    });
    expect(second).toMatchObject({ files: 2, linkedFiles: 1, storedBytes: 18, sizeBytes: 24 });
    expect(second.basedOn).toBe('s1#127.0.0.1#/export#snap-1');
    // The fake's hard link: both snapshots hold the very same entry.
    expect(backend.entries.get(`${snapPath('snap-2')}/sub/two`)).toBe(
      backend.entries.get(`${snapPath('snap-1')}/sub/two`),
    );
    const third = await takeSnapshot(deps(), { name: 'snap-3', source: volA });
    expect(third.basedOn).toBe(second.snapshotId);
  });

  it('a snapshot of a volume whose directory is gone is NotFound, and leaves nothing', async () => {
    await expectWarrenRejection(
      takeSnapshot(deps(), { name: 'snap-x', source: volume('gone') }),
      'NotFound',
      '"gone" on 127.0.0.1:/export is gone',
    );
    expect(await backend.listSnapshotEntries(root)).toEqual([]);
    expect(await backend.getRecord(root, snapshotRecordKey(snapshotDigest(at('snap-x'))))).toBeUndefined();
  });

  it('a copy that fails removes its partial copy; taking it again starts over', async () => {
    copier.failNext(failedPrecondition('cannot write: ENOSPC; the share is full'));
    await expectWarrenRejection(
      takeSnapshot(deps(), { name: 'snap-1', source: volA }),
      'FailedPrecondition',
      'the share is full',
    );
    expect(await backend.listSnapshotEntries(root)).toEqual([]);
    expect(await findSnapshot(store, 's1#127.0.0.1#/export#snap-1')).toBeUndefined();
    const info = await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    expect(info.files).toBe(2);
    expect(copier.calls).toHaveLength(2);
  });

  it('after a crash mid-copy, the partial copy is thrown away, not completed', async () => {
    const location = at('snap-1');
    const digest = snapshotDigest(location);
    await backend.putRecord(root, snapshotRecordKey(digest), {
      snapshotId: encodeSnapshotId(location),
      location,
      requestedName: 'snap-1',
      source: volA,
      startedAt: '2025-12-31T00:00:00.000Z',
    });
    await backend.makeSnapshotEntry(root, snapshotEntry(location, 'part'));
    backend.plant(`${partPath('snap-1')}/deleted-since`, file('stale'));
    expect(await findSnapshot(store, encodeSnapshotId(location))).toBeUndefined();
    await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    expect(entriesBelow(snapPath('snap-1'))).toEqual(['one', 'sub', 'sub/two']);
    expect(await backend.listSnapshotEntries(root)).toEqual([snapshotEntry(location, 'snap')]);
  });

  it('after a crash between recording the result and the rename, finishes without copying again', async () => {
    backend.failNext('renameSnapshotEntry', new Error('killed'));
    await expect(takeSnapshot(deps(), { name: 'snap-1', source: volA })).rejects.toThrow('killed');
    expect(await listSnapshots(store)).toEqual([]);
    const info = await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    expect(info.files).toBe(2);
    expect(copier.calls).toHaveLength(1);
    expect(entriesBelow(snapPath('snap-1'))).toEqual(['one', 'sub', 'sub/two']);
  });

  it('leaves alone an entry in the area that Warren holds no record of', async () => {
    await backend.makeSnapshotEntry(root, snapshotEntry(at('snap-1'), 'snap'));
    await expectWarrenRejection(
      takeSnapshot(deps(), { name: 'snap-1', source: volA }),
      'FailedPrecondition',
      'no record of',
    );
    expect(copier.calls).toEqual([]);
  });

  it('refuses a share inside the reserved directory', async () => {
    await expectWarrenRejection(
      openShare(store, server, '/export/.warren/snapshots'),
      'InvalidArgument',
      'inside ".warren"',
    );
  });
});

describe('listSnapshots and findSnapshot', () => {
  it('lists complete snapshots oldest first, by id, by source volume', async () => {
    const a1 = await takeSnapshot(deps(), { name: 'a1', source: volA });
    const b1 = await takeSnapshot(deps(), { name: 'b1', source: volB });
    const a2 = await takeSnapshot(deps(), { name: 'a2', source: volA });
    await backend.makeSnapshotEntry(root, snapshotEntry(at('in-progress'), 'part'));
    expect(await listSnapshots(store)).toEqual([a1, b1, a2]);
    expect(await listSnapshots(store, { sourceVolumeId: volA.volumeId })).toEqual([a1, a2]);
    expect(await listSnapshots(store, { snapshotId: b1.snapshotId })).toEqual([b1]);
    expect(await listSnapshots(store, { snapshotId: b1.snapshotId, sourceVolumeId: volA.volumeId })).toEqual(
      [],
    );
    expect(await listSnapshots(store, { snapshotId: 's1#127.0.0.1#/export#nope' })).toEqual([]);
    expect(await findSnapshot(store, a2.snapshotId)).toEqual(a2);
    await expectWarrenRejection(findSnapshot(store, 'bogus'), 'InvalidArgument', 'not a Warren snapshot id');
  });

  it('finds a snapshot by its digest id when the location does not fit in 128 bytes', async () => {
    const share = `/export/${'x'.repeat(110)}`;
    const long = volume('vol-long', share);
    backend.plant(`${root}/${'x'.repeat(110)}`, dir);
    backend.plant(`${root}/${'x'.repeat(110)}/vol-long`, dir);
    backend.plant(`${root}/${'x'.repeat(110)}/vol-long/f`, file('long'));
    const info = await takeSnapshot(deps(), { name: 'deep', source: long });
    expect(info.snapshotId).toMatch(/^s2#[A-Za-z0-9_-]{32}$/);
    expect(await findSnapshot(store, info.snapshotId)).toEqual(info);
    expect(await listSnapshots(store, { sourceVolumeId: long.volumeId })).toEqual([info]);
    expect(await deleteSnapshot(store, info.snapshotId)).toBe('deleted');
    expect(await findSnapshot(store, info.snapshotId)).toBeUndefined();
  });
});

describe('deleteSnapshot', () => {
  it('is idempotent and removes the entry and then the record', async () => {
    const info = await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    expect(await deleteSnapshot(store, info.snapshotId)).toBe('deleted');
    expect(await deleteSnapshot(store, info.snapshotId)).toBe('missing');
    expect(await backend.listSnapshotEntries(root)).toEqual([]);
    expect(await backend.getRecord(root, snapshotRecordKey(snapshotDigest(at('snap-1'))))).toBeUndefined();
    expect(await deleteSnapshot(store, 's2#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe('missing');
    await expectWarrenRejection(deleteSnapshot(store, 's1#x#/export#..'), 'InvalidArgument');
  });

  it('deleting the first snapshot leaves what the second links', async () => {
    await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    await takeSnapshot(deps(), { name: 'snap-2', source: volA });
    const shared = backend.entries.get(`${snapPath('snap-1')}/one`);
    expect(await deleteSnapshot(store, 's1#127.0.0.1#/export#snap-1')).toBe('deleted');
    expect(backend.entries.get(`${snapPath('snap-2')}/one`)).toBe(shared);
    expect(entriesBelow(snapPath('snap-2'))).toEqual(['one', 'sub', 'sub/two']);
  });

  it("leaves an entry Warren holds no record of, and says it is not Warren's", async () => {
    await backend.makeSnapshotEntry(root, snapshotEntry(at('planted'), 'snap'));
    expect(await deleteSnapshot(store, encodeSnapshotId(at('planted')))).toEqual({
      notOurs: 'Warren holds no record of taking this snapshot',
    });
    expect(await backend.listSnapshotEntries(root)).toEqual([snapshotEntry(at('planted'), 'snap')]);
  });
});

describe('restoreSnapshot', () => {
  const params = { server, share: '/export', subDir: 'restored', onDelete: 'delete' as const, mode: 0o777 };
  const claim = { namespace: 'ns', name: 'c', uid: 'u', labels: {}, annotations: {} };

  it('copies the snapshot, without linking, into a new volume directory', async () => {
    const info = await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    backend.plant(`${root}/vol-a/one`, file('changed after the snapshot'));
    const share = await openShare(store, server, '/export');
    const intent = volumeIntentFor(params, claim, 'pv');
    const owner = { name: 'pv', adoptExisting: false, now: now() };
    const restored = await restoreSnapshot(
      { store, copier },
      { share, intent, snapshotId: info.snapshotId, owner },
    );
    expect(restored.begun).toBe('fresh');
    expect(restored.snapshot).toEqual(info);
    expect(copier.calls.at(-1)).toEqual({ source: snapPath('snap-1'), target: `${root}/restored` });
    expect(backend.entries.get(`${root}/restored/one`)).toEqual(file('first file'));
    expect(backend.entries.get(`${root}/restored/one`)).not.toBe(
      backend.entries.get(`${snapPath('snap-1')}/one`),
    );
    await expectWarrenRejection(
      restoreSnapshot(
        { store, copier },
        {
          share,
          intent: volumeIntentFor({ ...params, subDir: 'r2' }, claim, 'pv2'),
          snapshotId: 's1#127.0.0.1#/export#nope',
          owner,
        },
      ),
      'NotFound',
      'does not exist',
    );
    expect(backend.entries.has(`${root}/r2`)).toBe(false);
  });

  it('a restore whose copy fails removes its partial copy', async () => {
    const info = await takeSnapshot(deps(), { name: 'snap-1', source: volA });
    const share = await openShare(store, server, '/export');
    const intent = volumeIntentFor(params, claim, 'pv');
    copier.failNext(failedPrecondition('ENOSPC; the share is full'));
    await expectWarrenRejection(
      restoreSnapshot(
        { store, copier },
        {
          share,
          intent,
          snapshotId: info.snapshotId,
          owner: { name: 'pv', adoptExisting: false, now: now() },
        },
      ),
      'FailedPrecondition',
      'restoring snapshot s1#127.0.0.1#/export#snap-1 failed (the partial copy was removed)',
    );
    expect(backend.entries.has(`${root}/restored`)).toBe(false);
    expect(entriesBelow(snapPath('snap-1'))).toEqual(['one', 'sub', 'sub/two']);
  });
});
