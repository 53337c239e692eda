// shareRootOf: a class share below a --share mount resolves to the matching subdirectory, and a
// symbolic link planted between the two stops every operation before it can be followed.
import { describe, expect, it } from 'vitest';
import { parseClassParameters } from '../../src/provisioning/parameters.ts';
import {
  ensureVolumeDirectory,
  releaseVolumeDirectory,
  shareRootOf,
} from '../../src/provisioning/volume-directory.ts';
import { planVolume } from '../../src/provisioning/volume-intent.ts';
import { createMemoryDirectoryBackend } from '../fakes/memory-directory-backend.ts';
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

describe('a symbolic link between the mount and the class share', () => {
  const claim = { namespace: 'team', name: 'data', uid: 'u-1', labels: {}, annotations: {} };
  const linked = () => {
    const s = store();
    s.backend.plant(`${mount}/teams`, { kind: 'symlink', target: '/' });
    return s;
  };
  const intent = (onDelete: string) =>
    planVolume(
      parseClassParameters({ server: 'nfs.example.com', share: '/export/teams', subDir: 'web', onDelete }),
      claim,
      'pvc-u-1',
    );

  it('stops ensureVolumeDirectory before any directory is made', async () => {
    const s = linked();
    await expectWarrenRejection(
      ensureVolumeDirectory(s, intent('delete')),
      'FailedPrecondition',
      'symbolic link',
    );
    expect(s.backend.calls.map((c) => c.op)).toEqual(['checkPathBelow']);
  });

  it.each(['delete', 'archive'])('stops releaseVolumeDirectory with onDelete %s', async (onDelete) => {
    const s = linked();
    await expectWarrenRejection(
      releaseVolumeDirectory(s, intent(onDelete).location, onDelete as 'delete' | 'archive', new Date(0)),
      'FailedPrecondition',
      'symbolic link',
    );
    expect(s.backend.calls.map((c) => c.op)).toEqual(['checkPathBelow']);
  });

  it('lets a retain release finish: it touches no directory', async () => {
    const s = linked();
    await expect(
      releaseVolumeDirectory(s, intent('retain').location, 'retain', new Date(0)),
    ).resolves.toEqual({
      result: 'retained',
    });
    expect(s.backend.calls.map((c) => c.op)).toEqual(['deleteRecord']);
  });
});
