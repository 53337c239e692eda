// mount.nfs's own words -> the error kind (and so the gRPC code) NodePublishVolume answers with.
import { describe, expect, it } from 'vitest';
import { statusByKind } from '../../src/csi/status.ts';
import { mountFailureKind } from '../../src/node/mount-failure.ts';

describe('mountFailureKind', () => {
  it.each([
    [
      'mount.nfs: mounting srv:/export/gone failed, reason given by server: No such file or directory',
      'NotFound',
      5,
    ],
    ['mount.nfs: Connection refused', 'Unavailable', 14],
    ['mount.nfs: Connection timed out', 'Unavailable', 14],
    ['mount.nfs: No route to host', 'Unavailable', 14],
    ['mount.nfs: Network is unreachable', 'Unavailable', 14],
    ['mount.nfs: Failed to resolve server nfs.example.com: Name or service not known', 'Unavailable', 14],
    ['mount.nfs: requested NFS version or transport protocol is not supported', 'FailedPrecondition', 9],
    ['mount.nfs: access denied by server while mounting srv:/export/x', 'FailedPrecondition', 9],
    ['mount.nfs: an incorrect mount option was specified', 'FailedPrecondition', 9],
    ['mount: /mnt/x: permission denied.', 'FailedPrecondition', 9],
    ['mount.nfs: something nobody has seen before', 'Internal', 13],
    ['', 'Internal', 13],
  ] as const)('%j -> %s', (said, kind, code) => {
    expect(mountFailureKind(said)).toBe(kind);
    expect(statusByKind[mountFailureKind(said)]).toBe(code);
  });
});
