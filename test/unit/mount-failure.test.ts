// mount.nfs's own words -> the error kind NodePublishVolume answers with (its gRPC code is
// errors.ts's table, tested in status.test.ts).
import { describe, expect, it } from 'vitest';
import { mountFailureKind } from '../../src/node/mount-failure.ts';

describe('mountFailureKind', () => {
  it.each([
    [
      'mount.nfs: mounting srv:/export/gone failed, reason given by server: No such file or directory',
      'NotFound',
    ],
    ['mount.nfs: Connection refused', 'Unavailable'],
    ['mount.nfs: Connection timed out', 'Unavailable'],
    ['mount.nfs: No route to host', 'Unavailable'],
    ['mount.nfs: Network is unreachable', 'Unavailable'],
    ['mount.nfs: Failed to resolve server nfs.example.com: Name or service not known', 'Unavailable'],
    ['mount.nfs: requested NFS version or transport protocol is not supported', 'FailedPrecondition'],
    ['mount.nfs: access denied by server while mounting srv:/export/x', 'FailedPrecondition'],
    ['mount.nfs: an incorrect mount option was specified', 'FailedPrecondition'],
    ['mount: /mnt/x: permission denied.', 'FailedPrecondition'],
    ['mount.nfs: something nobody has seen before', 'Internal'],
    ['', 'Internal'],
  ] as const)('%j -> %s', (said, kind) => {
    expect(mountFailureKind(said)).toBe(kind);
  });
});
