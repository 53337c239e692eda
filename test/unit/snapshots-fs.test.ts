// The snapshot core on a real filesystem (fs directory backend and copy engine): snapshots share
// the inodes of unchanged files, deleting one frees nothing another links, a restore shares none,
// and the area is 0700 outside every volume directory.
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFsDirectoryBackend } from '../../src/provisioning/fs-directory-backend.ts';
import { snapshotEntry } from '../../src/provisioning/snapshot-area.ts';
import { restoreSnapshot } from '../../src/provisioning/snapshot-restore.ts';
import { deleteSnapshot, listSnapshots, takeSnapshot } from '../../src/provisioning/snapshots.ts';
import { createFsTreeCopier } from '../../src/provisioning/tree-copy.ts';
import { openShare, type VolumeStore } from '../../src/provisioning/volume-directory.ts';
import { encodeVolumeId } from '../../src/provisioning/volume-id.ts';
import { volumeIntentFor } from '../../src/provisioning/volume-intent.ts';

let root: string;
let store: VolumeStore;
const server = '127.0.0.1';
const copier = createFsTreeCopier();
const location = { server, share: '/export', subDir: 'vol' };
const source = { volumeId: encodeVolumeId(location, 'delete'), location };
const treeOf = (name: string) =>
  join(root, '.warren/snapshots', snapshotEntry({ server, share: '/export', name }, 'snap'));

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warren-snapshots-'));
  store = { shares: [{ server, share: '/export', localDir: root }], backend: createFsDirectoryBackend() };
  mkdirSync(join(root, 'vol/dir'), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(root, 'vol/dir', `f${i}`), `file ${i}\n`);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('snapshots on a real filesystem', () => {
  it('shares unchanged inodes, survives deleting the first, restores unlinked', async () => {
    const first = await takeSnapshot({ store, copier }, { name: 'first', source });
    expect(first).toMatchObject({ files: 20, linkedFiles: 0, storedBytes: 150, sizeBytes: 150 });
    expect(lstatSync(join(root, '.warren/snapshots')).mode & 0o777).toBe(0o700);
    writeFileSync(join(root, 'vol/dir/f3'), 'changed\n');
    const second = await takeSnapshot({ store, copier }, { name: 'second', source });
    expect(second).toMatchObject({ files: 20, linkedFiles: 19, storedBytes: 8, basedOn: first.snapshotId });
    expect(lstatSync(join(treeOf('second'), 'dir/f0')).ino).toBe(
      lstatSync(join(treeOf('first'), 'dir/f0')).ino,
    );
    expect(lstatSync(join(treeOf('second'), 'dir/f3')).ino).not.toBe(
      lstatSync(join(treeOf('first'), 'dir/f3')).ino,
    );

    expect(await deleteSnapshot(store, first.snapshotId)).toBe('deleted');
    expect(readdirSync(join(root, '.warren/snapshots'))).toEqual([
      snapshotEntry({ server, share: '/export', name: 'second' }, 'snap'),
    ]);
    expect(readFileSync(join(treeOf('second'), 'dir/f0'), 'utf8')).toBe('file 0\n');
    expect(readFileSync(join(treeOf('second'), 'dir/f3'), 'utf8')).toBe('changed\n');
    expect(await listSnapshots(store)).toEqual([second]);

    const share = await openShare(store, server, '/export');
    const intent = volumeIntentFor(
      { server, share: '/export', subDir: 'restored', onDelete: 'delete', mode: 0o777 },
      { namespace: 'ns', name: 'c', uid: 'u', labels: {}, annotations: {} },
      'pv',
    );
    await restoreSnapshot(
      { store, copier },
      {
        share,
        intent,
        snapshotId: second.snapshotId,
        owner: { name: 'pv', adoptExisting: false, now: new Date() },
      },
    );
    for (let i = 0; i < 20; i++) {
      const restored = join(root, 'restored/dir', `f${i}`);
      expect(readFileSync(restored, 'utf8')).toBe(i === 3 ? 'changed\n' : `file ${i}\n`);
      expect(lstatSync(restored).nlink).toBe(1);
    }
    writeFileSync(join(root, 'restored/dir/f0'), 'written to the restore\n');
    expect(readFileSync(join(treeOf('second'), 'dir/f0'), 'utf8')).toBe('file 0\n');
  });
});
