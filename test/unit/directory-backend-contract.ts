// The same cases against every DirectoryBackend, so the in-memory fake keeps the real one's rules.
// Each harness gives a sandbox holding `share/` (the root) and `outside/secret.txt` (must never change).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DirectoryBackend } from '../../src/provisioning/directory-backend.ts';
import { ownerKey } from '../../src/provisioning/ownership.ts';
import type { VolumeIntent } from '../../src/provisioning/volume-intent.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

export interface BackendHarness {
  backend: DirectoryBackend;
  /** Absolute path of the share root (sandbox/share). */
  root: string;
  /** Absolute path of sandbox/outside. */
  outside: string;
  /** False where ownership cannot be changed (the real backend, not running as root). */
  canChown: boolean;
  /** Paths below are relative to the sandbox. */
  mkdir(path: string, mode?: number): Promise<void>;
  writeFile(path: string, content: string): Promise<void>;
  symlink(path: string, absoluteTarget: string): Promise<void>;
  /** Sorted: `dir/`, `file`, `link -> target`. */
  tree(): Promise<string[]>;
  modeOf(path: string): Promise<number>;
  ownerOf(path: string): Promise<{ uid?: number; gid?: number }>;
  cleanup(): Promise<void>;
}

const now = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
const outsideTree = ['outside/', 'outside/secret.txt'];

export function describeDirectoryBackendContract(
  name: string,
  makeHarness: () => Promise<BackendHarness>,
): void {
  describe(`${name} (DirectoryBackend contract)`, () => {
    let h: BackendHarness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.cleanup();
    });
    const perms = { mode: 0o770 };

    it("ensureVolumeDirectory: the ownership record first, then the directory; another volume's directory is refused", async () => {
      const location = { server: 'nfs.example.com', share: '/export', subDir: 'team/data' };
      const intent: VolumeIntent = {
        location,
        volumeId: 'id-1',
        idForm: 'location',
        onDelete: 'delete',
        mode: 0o770,
      };
      const share = { root: h.root, recordRoot: h.root };
      const owner = { name: 'pvc-1', adoptExisting: false, now };
      expect(await h.backend.ensureVolumeDirectory({ share, intent, owner })).toBe('created');
      expect(await h.backend.getRecord(h.root, ownerKey(location))).toStrictEqual({
        volumeId: 'id-1',
        name: 'pvc-1',
        location,
        created: true,
      });
      expect(await h.backend.ensureVolumeDirectory({ share, intent, owner })).toBe('existed');
      await expectWarrenRejection(
        h.backend.ensureVolumeDirectory({
          share,
          intent: { ...intent, volumeId: 'id-2' },
          owner: { ...owner, name: 'pvc-2' },
        }),
        'FailedPrecondition',
        'belongs to volume pvc-1',
      );
      expect(await h.modeOf('share/team/data')).toBe(0o770);
    });

    it('creates nested directories: parents 0755, leaf with the given mode', async () => {
      expect(await h.backend.ensureDirectory(h.root, 'ns/claim', perms)).toBe('created');
      expect(await h.tree()).toEqual([...outsideTree, 'share/', 'share/ns/', 'share/ns/claim/']);
      expect(await h.modeOf('share/ns')).toBe(0o755);
      expect(await h.modeOf('share/ns/claim')).toBe(0o770);
    });

    it('reports an existing leaf as existed and re-applies its mode, leaving parents alone', async () => {
      await h.mkdir('share/ns', 0o711);
      await h.backend.ensureDirectory(h.root, 'ns/claim', perms);
      expect(await h.backend.ensureDirectory(h.root, 'ns/claim', { mode: 0o2775 })).toBe('existed');
      expect(await h.modeOf('share/ns/claim')).toBe(0o2775);
      expect(await h.modeOf('share/ns')).toBe(0o711);
    });

    it('applies uid and gid', async (context) => {
      if (!h.canChown) context.skip('changing ownership needs root');
      await h.backend.ensureDirectory(h.root, 'owned', { mode: 0o700, uid: 4321, gid: 8765 });
      expect(await h.ownerOf('share/owned')).toEqual({ uid: 4321, gid: 8765 });
    });

    it.each([
      ['a symlinked parent', 'evil/claim', 'share/evil'],
      ['a symlinked leaf', 'evil', 'share/evil'],
      ['a symlink deeper in the path', 'ns/evil/claim', 'share/ns/evil'],
    ])('refuses %s and leaves the target alone', async (_name, subDir, link) => {
      await h.mkdir('share/ns');
      await h.symlink(link, h.outside);
      await expectWarrenRejection(
        h.backend.ensureDirectory(h.root, subDir, perms),
        'FailedPrecondition',
        link,
      );
      await expectWarrenRejection(
        h.backend.removeDirectory(h.root, subDir),
        'FailedPrecondition',
        'symbolic link',
      );
      await expectWarrenRejection(
        h.backend.archiveDirectory(h.root, subDir, now),
        'FailedPrecondition',
        link,
      );
      await expectWarrenRejection(h.backend.exists(h.root, subDir), 'FailedPrecondition', link);
      expect((await h.tree()).filter((entry) => entry.startsWith('outside'))).toEqual(outsideTree);
      expect(await h.modeOf('outside')).not.toBe(0o770);
    });

    it.each([
      ['a file as leaf', 'f'],
      ['a file as parent', 'f/claim'],
    ])('refuses %s', async (_name, subDir) => {
      await h.writeFile('share/f', 'x');
      await expectWarrenRejection(
        h.backend.ensureDirectory(h.root, subDir, perms),
        'FailedPrecondition',
        'not a directory',
      );
      await expectWarrenRejection(
        h.backend.removeDirectory(h.root, subDir),
        'FailedPrecondition',
        'not a directory',
      );
    });

    it.each([
      '',
      '.',
      '..',
      '../outside',
      'a/../../outside',
      '/etc',
      'a//b',
      '.warren',
      '.warren/index',
      'a\0b',
    ])('rejects subDir %j in every operation without touching anything', async (subDir) => {
      const before = await h.tree();
      await expectWarrenRejection(h.backend.ensureDirectory(h.root, subDir, perms), 'InvalidArgument');
      await expectWarrenRejection(h.backend.removeDirectory(h.root, subDir), 'InvalidArgument');
      await expectWarrenRejection(h.backend.archiveDirectory(h.root, subDir, now), 'InvalidArgument');
      await expectWarrenRejection(h.backend.exists(h.root, subDir), 'InvalidArgument');
      expect(await h.tree()).toEqual(before);
    });

    it.each([
      ['mode above 07777', { mode: 0o10000 }, 'mode'],
      ['negative uid', { mode: 0o700, uid: -1 }, 'uid -1'],
      ['fractional gid', { mode: 0o700, gid: 1.5 }, 'gid 1.5'],
    ])('rejects %s', async (_name, badPerms, fragment) => {
      await expectWarrenRejection(
        h.backend.ensureDirectory(h.root, 'x', badPerms),
        'InvalidArgument',
        fragment,
      );
    });

    it('reports an unmounted root as Unavailable and a relative root as InvalidArgument', async () => {
      const missing = `${h.root}-not-mounted`;
      await expectWarrenRejection(
        h.backend.ensureDirectory(missing, 'x', perms),
        'Unavailable',
        missing,
        'mounted',
      );
      await expectWarrenRejection(h.backend.removeDirectory(missing, 'x'), 'Unavailable');
      await expectWarrenRejection(h.backend.getRecord(missing, 'k'), 'Unavailable');
      await h.writeFile('file-root', '');
      await expectWarrenRejection(
        h.backend.exists(h.root.replace(/share$/, 'file-root'), 'x'),
        'Unavailable',
      );
      await expectWarrenRejection(
        h.backend.exists('relative/root', 'x'),
        'InvalidArgument',
        '"relative/root"',
      );
    });

    it('removes a whole tree but never the parents or siblings', async () => {
      await h.mkdir('share/ns/claim/deep/er');
      await h.writeFile('share/ns/claim/deep/er/file', 'data');
      await h.mkdir('share/ns/other');
      expect(await h.backend.removeDirectory(h.root, 'ns/claim')).toBe('removed');
      expect(await h.tree()).toEqual([...outsideTree, 'share/', 'share/ns/', 'share/ns/other/']);
      expect(await h.backend.removeDirectory(h.root, 'ns/claim')).toBe('missing');
      expect(await h.backend.removeDirectory(h.root, 'gone/claim')).toBe('missing');
    });

    it('removes an empty directory only while it is empty', async () => {
      await h.mkdir('share/ns/empty');
      await h.mkdir('share/ns/used');
      await h.writeFile('share/ns/used/data', 'older claim');
      expect(await h.backend.removeEmptyDirectory(h.root, 'ns/used')).toBe('not-empty');
      expect(await h.backend.removeEmptyDirectory(h.root, 'ns/empty')).toBe('removed');
      expect(await h.backend.removeEmptyDirectory(h.root, 'ns/empty')).toBe('missing');
      expect(await h.tree()).toEqual([
        ...outsideTree,
        'share/',
        'share/ns/',
        'share/ns/used/',
        'share/ns/used/data',
      ]);
    });

    it('checks the directories between a share mount and a class share below it, following no link', async () => {
      await h.mkdir('share/teams');
      await h.mkdir('share/teams/web');
      await expect(h.backend.checkPathBelow(h.root, 'teams/web')).resolves.toBeUndefined();
      // A missing directory is for the operation on the class share to report.
      await expect(h.backend.checkPathBelow(h.root, 'teams/missing/x')).resolves.toBeUndefined();
      await h.symlink('share/linked', h.outside);
      await expectWarrenRejection(
        h.backend.checkPathBelow(h.root, 'linked/web'),
        'FailedPrecondition',
        'share/linked',
        'symbolic link',
      );
      await h.writeFile('share/plain', 'x');
      await expectWarrenRejection(
        h.backend.checkPathBelow(h.root, 'plain/web'),
        'FailedPrecondition',
        'not a directory',
      );
      expect(await h.tree()).toEqual([
        ...outsideTree,
        'share/',
        `share/linked -> ${h.outside}`,
        'share/plain',
        'share/teams/',
        'share/teams/web/',
      ]);
    });

    it('removes symlinks inside a volume without following them', async () => {
      await h.mkdir('share/claim/sub');
      await h.symlink('share/claim/escape', h.outside);
      await h.symlink('share/claim/sub/secret', `${h.outside}/secret.txt`);
      await h.symlink('share/claim/root', h.root);
      expect(await h.backend.removeDirectory(h.root, 'claim')).toBe('removed');
      expect(await h.tree()).toEqual([...outsideTree, 'share/']);
    });

    it('archives to a unique sibling and moves the contents', async () => {
      await h.mkdir('share/ns/claim');
      await h.writeFile('share/ns/claim/file', 'data');
      expect(await h.backend.archiveDirectory(h.root, 'ns/claim', now)).toEqual({
        archivedAs: 'ns/archived-claim-20240102030405',
      });
      await h.mkdir('share/ns/claim');
      expect(await h.backend.archiveDirectory(h.root, 'ns/claim', now)).toEqual({
        archivedAs: 'ns/archived-claim-20240102030405-1',
      });
      expect(await h.tree()).toEqual([
        ...outsideTree,
        'share/',
        'share/ns/',
        'share/ns/archived-claim-20240102030405-1/',
        'share/ns/archived-claim-20240102030405/',
        'share/ns/archived-claim-20240102030405/file',
      ]);
      expect(await h.backend.archiveDirectory(h.root, 'ns/claim', now)).toBe('missing');
    });

    it('keeps archive names of long leaves within 255 bytes', async () => {
      const leaf = 'é'.repeat(127);
      await h.mkdir(`share/${leaf}`);
      const result = await h.backend.archiveDirectory(h.root, leaf, now);
      expect(result).not.toBe('missing');
      const archivedAs = (result as { archivedAs: string }).archivedAs;
      expect(Buffer.byteLength(archivedAs)).toBeLessThanOrEqual(255);
      expect(archivedAs).toMatch(/^archived-é+-20240102030405$/);
      expect(await h.backend.exists(h.root, archivedAs)).toBe(true);
    });

    it('answers exists', async () => {
      await h.mkdir('share/ns/claim');
      expect(await h.backend.exists(h.root, 'ns/claim')).toBe(true);
      expect(await h.backend.exists(h.root, 'ns/other')).toBe(false);
      expect(await h.backend.exists(h.root, 'missing/claim')).toBe(false);
    });

    it('stores, replaces and deletes records', async () => {
      expect(await h.backend.getRecord(h.root, 'abc')).toBeUndefined();
      expect(await h.tree()).toEqual([...outsideTree, 'share/']);
      await h.backend.putRecord(h.root, 'abc', { subDir: 'x', n: 1 });
      await h.backend.putRecord(h.root, 'abc', { subDir: 'y', n: 2 });
      expect(await h.backend.getRecord(h.root, 'abc')).toEqual({ subDir: 'y', n: 2 });
      expect(await h.tree()).toEqual([
        ...outsideTree,
        'share/',
        'share/.warren/',
        'share/.warren/index/',
        'share/.warren/index/abc.json',
      ]);
      await h.backend.deleteRecord(h.root, 'abc');
      await h.backend.deleteRecord(h.root, 'abc');
      expect(await h.backend.getRecord(h.root, 'abc')).toBeUndefined();
    });

    it.each(['', '../x', 'a.json', 'a/b', 'x'.repeat(65), 'é'])('rejects record key %j', async (key) => {
      await expectWarrenRejection(
        h.backend.putRecord(h.root, key, {}),
        'InvalidArgument',
        JSON.stringify(key),
      );
      await expectWarrenRejection(h.backend.getRecord(h.root, key), 'InvalidArgument');
      await expectWarrenRejection(h.backend.deleteRecord(h.root, key), 'InvalidArgument');
    });

    it('refuses a symlinked record directory', async () => {
      await h.symlink('share/.warren', h.outside);
      await expectWarrenRejection(h.backend.putRecord(h.root, 'k', {}), 'FailedPrecondition', '.warren');
      await expectWarrenRejection(h.backend.getRecord(h.root, 'k'), 'FailedPrecondition', '.warren');
      expect((await h.tree()).filter((entry) => entry.startsWith('outside'))).toEqual(outsideTree);
    });

    it('refuses a record that is not JSON-serialisable', async () => {
      await expectWarrenRejection(h.backend.putRecord(h.root, 'k', undefined), 'InvalidArgument', '"k"');
    });

    describe('the snapshot area', () => {
      const snap = `snap-${'a'.repeat(32)}`;
      const part = `part-${'a'.repeat(32)}`;
      const area = 'share/.warren/snapshots';

      it('lists nothing before the area exists, then the entries made in it (0700)', async () => {
        expect(await h.backend.listSnapshotEntries(h.root)).toEqual([]);
        expect(await h.backend.makeSnapshotEntry(h.root, part)).toBe('created');
        expect(await h.backend.makeSnapshotEntry(h.root, part)).toBe('existed');
        expect(await h.backend.listSnapshotEntries(h.root)).toEqual([part]);
        expect(await h.modeOf(area)).toBe(0o700);
        expect(await h.modeOf(`${area}/${part}`)).toBe(0o700);
      });

      it('renames an entry, never onto another', async () => {
        await h.backend.makeSnapshotEntry(h.root, part);
        await h.writeFile(`${area}/${part}/data`, 'copied');
        expect(await h.backend.renameSnapshotEntry(h.root, part, snap)).toBe('renamed');
        expect(await h.backend.renameSnapshotEntry(h.root, part, snap)).toBe('missing');
        await h.backend.makeSnapshotEntry(h.root, part);
        expect(await h.backend.renameSnapshotEntry(h.root, part, snap)).toBe('target-exists');
        expect((await h.tree()).filter((e) => e.startsWith(`${area}/`) && e !== `${area}/`)).toEqual([
          `${area}/${part}/`,
          `${area}/${snap}/`,
          `${area}/${snap}/data`,
        ]);
      });

      it('removes an entry, unlinking a symbolic link inside it without following it', async () => {
        await h.backend.makeSnapshotEntry(h.root, snap);
        await h.writeFile(`${area}/${snap}/data`, 'copied');
        await h.symlink(`${area}/${snap}/out`, h.outside);
        expect(await h.backend.removeSnapshotEntry(h.root, snap)).toBe('removed');
        expect(await h.backend.removeSnapshotEntry(h.root, snap)).toBe('missing');
        expect(await h.backend.listSnapshotEntries(h.root)).toEqual([]);
        expect((await h.tree()).filter((entry) => entry.startsWith('outside'))).toEqual(outsideTree);
      });

      it('refuses entry names that are not snap-/part- digests', async () => {
        for (const entry of ['..', '.', 'snap-x', `snap-${'a'.repeat(32)}/..`, `other-${'a'.repeat(32)}`]) {
          await expectWarrenRejection(h.backend.makeSnapshotEntry(h.root, entry), 'InvalidArgument', 'entry');
          await expectWarrenRejection(h.backend.removeSnapshotEntry(h.root, entry), 'InvalidArgument');
          await expectWarrenRejection(h.backend.renameSnapshotEntry(h.root, snap, entry), 'InvalidArgument');
        }
      });

      it('refuses a symbolic link in place of the area, touching nothing behind it', async () => {
        await h.mkdir('share/.warren');
        await h.symlink('share/.warren/snapshots', h.outside);
        await expectWarrenRejection(
          h.backend.makeSnapshotEntry(h.root, snap),
          'FailedPrecondition',
          'snapshots',
        );
        await expectWarrenRejection(h.backend.listSnapshotEntries(h.root), 'FailedPrecondition', 'snapshots');
        await expectWarrenRejection(
          h.backend.removeSnapshotEntry(h.root, snap),
          'FailedPrecondition',
          'snapshots',
        );
        expect((await h.tree()).filter((entry) => entry.startsWith('outside'))).toEqual(outsideTree);
      });
    });
  });
}
