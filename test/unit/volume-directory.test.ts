// openShare: a class share below a --share mount resolves to the matching subdirectory, and a
// symbolic link planted between the two stops every operation before it can be followed.
import { describe, expect, it } from 'vitest';
import { parseClassParameters } from '../../src/provisioning/parameters.ts';
import { releaseDirectory } from '../../src/provisioning/release.ts';
import { openShare } from '../../src/provisioning/volume-directory.ts';
import { volumeIntentFor } from '../../src/provisioning/volume-intent.ts';
import { createMemoryDirectoryBackend } from '../fakes/memory-directory-backend.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

const mount = '/exports/main';
const shares = [{ server: 'nfs.example.com', share: '/export', localDir: mount }];

function store() {
  const backend = createMemoryDirectoryBackend([mount]);
  return { shares, backend };
}

describe('openShare', () => {
  it('is the mount itself for the exported path, with nothing to check', async () => {
    const s = store();
    expect(await openShare(s, 'nfs.example.com', '/export')).toEqual({ root: mount, recordRoot: mount });
    expect(s.backend.calls).toEqual([]);
  });

  it('maps a share below the export to its subdirectory, checking the directories in between', async () => {
    const s = store();
    s.backend.plant(`${mount}/teams`, { kind: 'dir', mode: 0o755 });
    s.backend.plant(`${mount}/teams/web`, { kind: 'dir', mode: 0o755 });
    expect(await openShare(s, 'NFS.example.com', '/export/teams/web/')).toEqual({
      root: `${mount}/teams/web`,
      recordRoot: mount,
    });
    expect(s.backend.calls).toEqual([{ op: 'checkPathBelow', args: [mount, 'teams/web'] }]);
  });

  it('refuses a symbolic link between the mount and the class share', async () => {
    const s = store();
    s.backend.plant(`${mount}/teams`, { kind: 'symlink', target: '/' });
    await expectWarrenRejection(
      openShare(s, 'nfs.example.com', '/export/teams/web'),
      'FailedPrecondition',
      `"${mount}/teams" is a symbolic link`,
    );
  });

  it('names the missing --share flag for a share no mount covers', async () => {
    await expectWarrenRejection(
      openShare(store(), 'nfs.example.com', '/elsewhere'),
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
    volumeIntentFor(
      parseClassParameters({ server: 'nfs.example.com', share: '/export/teams', subDir: 'web', onDelete }),
      claim,
      'pvc-u-1',
    );

  it('stops provisioning before any directory is made (the share is opened first)', async () => {
    const s = linked();
    await expectWarrenRejection(
      openShare(s, intent('delete').location.server, intent('delete').location.share),
      'FailedPrecondition',
      'symbolic link',
    );
    expect(s.backend.calls.map((c) => c.op)).toEqual(['checkPathBelow']);
  });

  it.each(['delete', 'archive'])('stops releaseDirectory with onDelete %s', async (onDelete) => {
    const s = linked();
    await expectWarrenRejection(
      releaseDirectory(
        s,
        {
          location: intent(onDelete).location,
          onDelete: onDelete as 'delete' | 'archive',
          onlyIfEmpty: false,
          volumeId: intent(onDelete).volumeId,
          legacy: {},
        },
        new Date(0),
      ),
      'FailedPrecondition',
      'symbolic link',
    );
    expect(s.backend.calls.map((c) => c.op)).toEqual(['checkPathBelow']);
  });

  it('lets a retain release finish: it touches no directory', async () => {
    const s = linked();
    await expect(
      releaseDirectory(
        s,
        {
          location: intent('retain').location,
          onDelete: 'retain',
          onlyIfEmpty: false,
          volumeId: intent('retain').volumeId,
          legacy: {},
        },
        new Date(0),
      ),
    ).resolves.toEqual({
      result: 'retained',
    });
    expect(s.backend.calls.map((c) => c.op)).toEqual(['getRecord', 'deleteRecord', 'deleteRecord']);
  });
});
