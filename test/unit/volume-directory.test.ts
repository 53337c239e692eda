// shareRootOf: a class share below a --share mount resolves to the matching subdirectory, and a
// symbolic link planted between the two stops every operation before it can be followed.
import { describe, expect, it } from 'vitest';
import { createMemoryDirectoryBackend } from '../../src/provisioning/memory-directory-backend.ts';
import { shareRootOf } from '../../src/provisioning/volume-directory.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

const mount = '/exports/main';
const shares = [{ server: 'nfs.example.com', share: '/export', localDir: mount }];

function store() {
  const backend = createMemoryDirectoryBackend([mount]);
  return { shares, backend };
}

describe('shareRootOf', () => {
  it('is the mount itself for the exported path, with nothing to check', async () => {
    const s = store();
    expect(await shareRootOf(s, 'nfs.example.com', '/export')).toBe(mount);
    expect(s.backend.calls).toEqual([]);
  });

  it('maps a share below the export to its subdirectory, checking the directories in between', async () => {
    const s = store();
    s.backend.plant(`${mount}/teams`, { kind: 'dir', mode: 0o755 });
    s.backend.plant(`${mount}/teams/web`, { kind: 'dir', mode: 0o755 });
    expect(await shareRootOf(s, 'NFS.example.com', '/export/teams/web/')).toBe(`${mount}/teams/web`);
    expect(s.backend.calls).toEqual([{ op: 'checkPathBelow', args: [mount, 'teams/web'] }]);
  });

  it('refuses a symbolic link between the mount and the class share', async () => {
    const s = store();
    s.backend.plant(`${mount}/teams`, { kind: 'symlink', target: '/' });
    await expectWarrenRejection(
      shareRootOf(s, 'nfs.example.com', '/export/teams/web'),
      'FailedPrecondition',
      `"${mount}/teams" is a symbolic link`,
    );
  });

  it('names the missing --share flag for a share no mount covers', async () => {
    await expectWarrenRejection(
      shareRootOf(store(), 'nfs.example.com', '/elsewhere'),
      'FailedPrecondition',
      'no --share flag covers nfs.example.com:/elsewhere',
    );
  });
});
