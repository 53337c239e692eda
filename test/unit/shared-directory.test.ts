import type { V1PersistentVolume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { overlappingVolume } from '../../src/claims/shared-directory.ts';

const driver = 'nfs.warren.dev';
const pv = (
  name: string,
  server: string,
  share: string,
  subDir: string,
  csiDriver = driver,
): V1PersistentVolume => ({
  metadata: { name },
  spec: { csi: { driver: csiDriver, volumeHandle: name, volumeAttributes: { server, share, subDir } } },
});
const here = { server: 'nfs.example.com', share: '/export', subDir: 'team/a' };

describe('overlappingVolume', () => {
  it.each([
    ['the same directory', pv('other', 'nfs.example.com', '/export', 'team/a'), 'other'],
    [
      'the same directory, server in other case',
      pv('other', 'NFS.example.com', '/export', 'team/a'),
      'other',
    ],
    [
      'the same directory through a nested share',
      pv('other', 'nfs.example.com', '/export/team', 'a'),
      'other',
    ],
    ['a directory inside ours', pv('other', 'nfs.example.com', '/export', 'team/a/deeper'), 'other'],
    ['a directory around ours', pv('other', 'nfs.example.com', '/export', 'team'), 'other'],
    ['a sibling with a common prefix', pv('other', 'nfs.example.com', '/export', 'team/ab'), undefined],
    ['a sibling', pv('other', 'nfs.example.com', '/export', 'team/b'), undefined],
    ['another server', pv('other', 'nfs2.example.com', '/export', 'team/a'), undefined],
    ['another driver', pv('other', 'nfs.example.com', '/export', 'team/a', 'other.csi.io'), undefined],
    ['ourselves', pv('self', 'nfs.example.com', '/export', 'team/a'), undefined],
  ])('%s', (_what, volume, expected) => {
    expect(overlappingVolume(here, [volume], driver, 'self')).toBe(expected);
  });

  it('handles a share at the server root', () => {
    expect(
      overlappingVolume({ server: 's', share: '/', subDir: 'x' }, [pv('o', 's', '/x', 'y')], driver, 'self'),
    ).toBe('o');
  });
});
