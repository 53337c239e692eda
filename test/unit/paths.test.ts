import { describe, expect, it } from 'vitest';
import { localRootFor, parseShareFlag, volumePathIn } from '../../src/provisioning/paths.ts';
import type { ShareMount } from '../../src/provisioning/types.ts';
import { expectWarrenError } from './expect-warren-error.ts';

describe('parseShareFlag', () => {
  it.each<[string, ShareMount]>([
    [
      'nfs.example.com:/export=/mnt/export',
      { server: 'nfs.example.com', share: '/export', localDir: '/mnt/export' },
    ],
    ['[fd00::1]:/export/=/mnt//v6/', { server: '[fd00::1]', share: '/export', localDir: '/mnt/v6' }],
    ['10.0.0.5:/=/mnt/root', { server: '10.0.0.5', share: '/', localDir: '/mnt/root' }],
    ['nfs:/with:colon=/mnt/c', { server: 'nfs', share: '/with:colon', localDir: '/mnt/c' }],
  ])('parses %s', (flag, expected) => {
    expect(parseShareFlag(flag)).toStrictEqual(expected);
  });

  it.each<[string, string, string[]]>([
    ['empty', '', ['--share ""', 'no ":"', 'SERVER:PATH=LOCALDIR']],
    ['no path', 'nfs.example.com', ['"nfs.example.com"', 'no ":" between the server and the exported path']],
    ['no local dir', 'nfs.example.com:/export', ['no "=LOCALDIR"']],
    ['no server', ':/export=/mnt', ['no server before ":"']],
    ['two =', 'nfs:/export=/mnt=x', ['more than one "="']],
    ['relative path', 'nfs:export=/mnt', ['exported path "export"', 'absolute']],
    ['relative local dir', 'nfs:/export=mnt', ['local directory "mnt"', 'absolute']],
    ['empty local dir', 'nfs:/export=', ['local directory is empty']],
    ['unterminated bracket', '[fd00::1/export=/mnt', ['"[fd00::1/export=/mnt"', 'not closed']],
    ['bracket without colon', '[fd00::1]/export=/mnt', ['must be followed by ":"']],
    ['unbracketed IPv6', 'fd00::1:/export=/mnt', ['"fd00::1:/export=/mnt"']],
    ['path climbing out', 'nfs:/export/../etc=/mnt', ['".."']],
    ['local dir climbing out', 'nfs:/export=/mnt/../etc', ['".."']],
    ['server with space', 'nfs example:/e=/m', ['"nfs example"']],
    ['bad IPv6', '[zz::1]:/e=/m', ['"[zz::1]"']],
  ])('rejects %s', (_name, flag, fragments) => {
    expectWarrenError(() => parseShareFlag(flag), 'InvalidArgument', ...fragments);
  });
});

describe('localRootFor', () => {
  const shares: ShareMount[] = [
    { server: 'nfs.example.com', share: '/export', localDir: '/mnt/a' },
    { server: 'nfs.example.com', share: '/export/team', localDir: '/mnt/team' },
    { server: 'NFS2.example.com', share: '/', localDir: '/mnt/n2' },
    { server: '[fd00::1]', share: '/data', localDir: '/mnt/v6' },
  ];

  it.each([
    ['nfs.example.com', '/export', '/mnt/a'],
    ['NFS.Example.com', '/export/other/x', '/mnt/a/other/x'],
    ['nfs.example.com', '/export/team', '/mnt/team'],
    ['nfs.example.com', '/export/team/sub', '/mnt/team/sub'],
    ['nfs.example.com', '/export/teamx', '/mnt/a/teamx'],
    ['nfs.example.com', '/export//team/', '/mnt/team'],
    ['nfs2.example.com', '/anything/x', '/mnt/n2/anything/x'],
    ['[FD00::1]', '/data', '/mnt/v6'],
  ])('maps %s:%s to %s', (server, share, expected) => {
    expect(localRootFor(shares, server, share)).toBe(expected);
  });

  it.each<[string, ShareMount[], string, string, string[]]>([
    [
      'a sibling with a shared prefix',
      shares,
      'nfs.example.com',
      '/exportx',
      ['--share nfs.example.com:/exportx='],
    ],
    ['another server', shares, 'other', '/export', ['no --share flag covers other:/export']],
    ['no flags at all', [], 'nfs', '/export', ['configured: none']],
    ['a parent of the mount', shares, '[fd00::1]', '/', ['covers [fd00::1]:/']],
  ])('fails with FailedPrecondition for %s', (_name, mounts, server, share, fragments) => {
    expectWarrenError(() => localRootFor(mounts, server, share), 'FailedPrecondition', ...fragments);
  });

  it.each(['/export/../etc', 'export'])('rejects the share %j', (share) => {
    expectWarrenError(
      () => localRootFor(shares, 'nfs.example.com', share),
      'InvalidArgument',
      JSON.stringify(share),
    );
  });
});

describe('volumePathIn', () => {
  it.each([
    ['/mnt/a', 'x/y', '/mnt/a/x/y'],
    ['/mnt/a/', 'x', '/mnt/a/x'],
    ['/mnt/a', '..x', '/mnt/a/..x'],
  ])('joins %s and %s', (root, subDir, expected) => {
    expect(volumePathIn(root, subDir)).toBe(expected);
  });

  it.each([
    ['', 'subDir is empty'],
    ['.', '"."'],
    ['..', '".."'],
    ['../b', '"../b"'],
    ['x/../../b', '"x/../../b"'],
    ['/etc', '"/etc"'],
    ['a//b', 'empty segment'],
    ['a/', 'empty segment'],
    ['.warren', '".warren"'],
    ['.warren/index', '".warren"'],
    ['a\0', 'NUL'],
    ['x'.repeat(256), 'the limit is 255'],
    [Array(6).fill('y'.repeat(200)).join('/'), '1024 bytes'],
  ])('rejects subDir %j', (subDir, fragment) => {
    expectWarrenError(() => volumePathIn('/mnt/a', subDir), 'InvalidArgument', fragment);
  });
});
