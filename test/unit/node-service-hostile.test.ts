// Hostile and malformed Node requests: each is refused with the exact error kind before anything
// is mounted, created or removed.
import { describe, expect, it } from 'vitest';
import type { NodePublishVolumeRequest__Output } from '../../src/csi/generated/csi/v1/NodePublishVolumeRequest.ts';
import type { ErrorKind } from '../../src/errors.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';
import { ctx, nodeOnFakes, publishRequest, target, volumeId } from './node-fixtures.ts';

type Mutation = (request: NodePublishVolumeRequest__Output) => void;
const capability = (r: NodePublishVolumeRequest__Output) => r.volume_capability!;
const mount = (r: NodePublishVolumeRequest__Output) => capability(r).mount!;
const context = (r: NodePublishVolumeRequest__Output) => r.volume_context;
const digestId = `2#d#${'A'.repeat(32)}`;

const publishCases: Array<[string, Mutation, ErrorKind, string]> = [
  ['missing volume_id', (r) => (r.volume_id = ''), 'InvalidArgument', 'volume_id is required'],
  [
    'volume_id of 129 bytes',
    (r) => (r.volume_id = 'v'.repeat(129)),
    'InvalidArgument',
    'longer than 128 bytes',
  ],
  [
    'volume_id of 65 two-byte characters',
    (r) => (r.volume_id = 'é'.repeat(65)),
    'InvalidArgument',
    '128 bytes',
  ],
  ['volume_id with NUL', (r) => (r.volume_id = 'vol\0x'), 'InvalidArgument', 'control characters'],
  ['missing target_path', (r) => (r.target_path = ''), 'InvalidArgument', 'target_path is required'],
  ['relative target_path', (r) => (r.target_path = 'var/lib/kubelet/x'), 'InvalidArgument', 'absolute'],
  [
    'target_path climbing with ..',
    (r) => (r.target_path = '/var/lib/kubelet/../../etc'),
    'InvalidArgument',
    '".."',
  ],
  [
    'target_path ending in ..',
    (r) => (r.target_path = '/var/lib/kubelet/pods/..'),
    'InvalidArgument',
    '".."',
  ],
  ['target_path with a . segment', (r) => (r.target_path = '/var/./lib/x'), 'InvalidArgument', '"."'],
  ['target_path that is /', (r) => (r.target_path = '/'), 'InvalidArgument', 'root directory'],
  ['target_path that is //', (r) => (r.target_path = '//'), 'InvalidArgument', 'root directory'],
  [
    'target_path of 4097 bytes',
    (r) => (r.target_path = `/${'a'.repeat(4096)}`),
    'InvalidArgument',
    '4096 bytes',
  ],
  ['target_path with NUL', (r) => (r.target_path = '/var/lib/x\0/mount'), 'InvalidArgument', 'NUL'],
  ['target_path with a newline', (r) => (r.target_path = '/var/lib/x\n/mount'), 'InvalidArgument', 'control'],
  [
    'missing volume_capability',
    (r) => (r.volume_capability = null),
    'InvalidArgument',
    'volume_capability is required',
  ],
  [
    'block capability',
    (r) =>
      (r.volume_capability = {
        access_type: 'block',
        block: {},
        access_mode: { mode: 'SINGLE_NODE_WRITER' },
      }),
    'InvalidArgument',
    'block access is not supported',
  ],
  [
    'block capability without discriminator',
    (r) => (r.volume_capability = { block: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }),
    'InvalidArgument',
    'block access is not supported',
  ],
  [
    'capability with neither mount nor block',
    (r) => (r.volume_capability = { access_mode: { mode: 'SINGLE_NODE_WRITER' } }),
    'InvalidArgument',
    'need mount access',
  ],
  ['fs_type ext4', (r) => (mount(r).fs_type = 'ext4'), 'InvalidArgument', '"ext4"'],
  ['fs_type NFS in capitals', (r) => (mount(r).fs_type = 'NFS'), 'InvalidArgument', '"NFS"'],
  [
    'missing access_mode',
    (r) => (capability(r).access_mode = null),
    'InvalidArgument',
    'access_mode is required',
  ],
  [
    'access mode UNKNOWN',
    (r) => (capability(r).access_mode = { mode: 'UNKNOWN' }),
    'InvalidArgument',
    '"UNKNOWN"',
  ],
  [
    'access mode number 99',
    (r) => (capability(r).access_mode = { mode: 99 as unknown as 'UNKNOWN' }),
    'InvalidArgument',
    '"99"',
  ],
  [
    'invented access mode',
    (r) => (capability(r).access_mode = { mode: 'MULTI_NODE_EVERYTHING' as 'UNKNOWN' }),
    'InvalidArgument',
    'MULTI_NODE_EVERYTHING',
  ],
  [
    'empty mount flag',
    (r) => (mount(r).mount_flags = ['hard', '']),
    'InvalidArgument',
    'mount_flags[1] is empty',
  ],
  ['mount flag with a space', (r) => (mount(r).mount_flags = ['hard soft']), 'InvalidArgument', 'whitespace'],
  ['mount flag with a tab', (r) => (mount(r).mount_flags = ['hard\tsoft']), 'InvalidArgument', 'control'],
  ['mount flag with NUL', (r) => (mount(r).mount_flags = ['vers=4\0']), 'InvalidArgument', 'NUL'],
  [
    'mount flag smuggling rw after a comma',
    (r) => (mount(r).mount_flags = ['hard,rw']),
    'InvalidArgument',
    '","',
  ],
  ['65 mount flags', (r) => (mount(r).mount_flags = Array(65).fill('hard')), 'InvalidArgument', 'at most 64'],
  [
    'mount flag of 257 bytes',
    (r) => (mount(r).mount_flags = ['x'.repeat(257)]),
    'InvalidArgument',
    '256 bytes',
  ],
  [
    'readonly with an rw flag',
    (r) => {
      r.readonly = true;
      mount(r).mount_flags = ['rw'];
    },
    'InvalidArgument',
    'readonly is set',
  ],
  [
    'reader-only access mode with an rw flag',
    (r) => {
      capability(r).access_mode = { mode: 'MULTI_NODE_READER_ONLY' };
      mount(r).mount_flags = ['rw'];
    },
    'InvalidArgument',
    'MULTI_NODE_READER_ONLY',
  ],
  ['server with a slash', (r) => (context(r).server = 'nfs.example.com/export'), 'InvalidArgument', '"/"'],
  ['empty server', (r) => (context(r).server = ''), 'InvalidArgument', 'server is empty'],
  ['server with a space', (r) => (context(r).server = 'nfs example'), 'InvalidArgument', 'must not contain'],
  ['server with an unclosed bracket', (r) => (context(r).server = '[fd00::1'), 'InvalidArgument', 'IPv6'],
  ['server with a bad IPv4 address', (r) => (context(r).server = '999.1.1.1'), 'InvalidArgument', 'IPv4'],
  [
    'server with a port',
    (r) => (context(r).server = 'nfs.example.com:2049'),
    'InvalidArgument',
    'valid hostname',
  ],
  ['relative share', (r) => (context(r).share = 'export'), 'InvalidArgument', 'absolute'],
  ['share climbing with ..', (r) => (context(r).share = '/export/../etc'), 'InvalidArgument', '".."'],
  [
    'share of 1025 bytes',
    (r) => (context(r).share = `/${'s'.repeat(1024)}`),
    'InvalidArgument',
    '1024 bytes',
  ],
  ['share with NUL', (r) => (context(r).share = '/export\0'), 'InvalidArgument', 'NUL'],
  ['server without share', (r) => delete context(r).share, 'InvalidArgument', 'no "share"'],
  ['share without server', (r) => delete context(r).server, 'InvalidArgument', 'no "server"'],
  ['subDir climbing with ..', (r) => (context(r).subDir = '../other'), 'InvalidArgument', '".."'],
  ['subDir climbing in the middle', (r) => (context(r).subDir = 'a/../../b'), 'InvalidArgument', '".."'],
  ['absolute subDir', (r) => (context(r).subDir = '/etc'), 'InvalidArgument', 'relative'],
  ['subDir with NUL', (r) => (context(r).subDir = 'a\0b'), 'InvalidArgument', 'NUL'],
  [
    'subDir in the reserved directory',
    (r) => (context(r).subDir = '.warren/index'),
    'InvalidArgument',
    '".warren"',
  ],
  ['subDir with a 256-byte segment', (r) => (context(r).subDir = 'x'.repeat(256)), 'InvalidArgument', '255'],
  [
    'attribute value of 4097 bytes',
    (r) => (context(r).note = 'n'.repeat(4097)),
    'InvalidArgument',
    '4096 bytes',
  ],
  ['attribute key of 257 bytes', (r) => (context(r)['k'.repeat(257)] = 'v'), 'InvalidArgument', '256 bytes'],
  [
    '65 attributes',
    (r) => {
      for (let i = 0; i < 62; i++) context(r)[`key${i}`] = 'v';
    },
    'InvalidArgument',
    'at most 64',
  ],
  [
    'attributes over 16 KiB in all',
    (r) => {
      for (let i = 0; i < 5; i++) context(r)[`note${i}`] = 'n'.repeat(4000);
    },
    'InvalidArgument',
    'in all',
  ],
  [
    'foreign volume id without context',
    (r) => {
      r.volume_id = 'pvc-0b0e1c2d';
      r.volume_context = {};
    },
    'InvalidArgument',
    'does not say where the volume is',
  ],
  [
    'digest volume id without context',
    (r) => {
      r.volume_id = digestId;
      r.volume_context = {};
    },
    'InvalidArgument',
    "the PV's volumeAttributes",
  ],
  [
    'malformed Warren id without context',
    (r) => {
      r.volume_id = '1#d#nfs.example.com';
      r.volume_context = {};
    },
    'InvalidArgument',
    'does not say where the volume is',
  ],
  [
    'location id with a climbing subDir and no context',
    (r) => {
      r.volume_id = '1#d#nfs.example.com#/export#../etc';
      r.volume_context = {};
    },
    'InvalidArgument',
    '".."',
  ],
  [
    'id and context naming different places',
    (r) => (r.volume_id = '1#d#nfs.example.com#/export#ns-b/other'),
    'InvalidArgument',
    'edited inconsistently',
  ],
  [
    'inline volume without server',
    (r) => (r.volume_context = { 'csi.storage.k8s.io/ephemeral': 'true', share: '/export' }),
    'InvalidArgument',
    'inline volume',
  ],
  [
    'inline volume without any location',
    (r) => (r.volume_context = { 'csi.storage.k8s.io/ephemeral': 'true' }),
    'InvalidArgument',
    'no "server"',
  ],
];

describe('NodePublishVolume refuses hostile requests', () => {
  it('has at least 40 cases', () => expect(publishCases.length).toBeGreaterThanOrEqual(40));

  it.each(publishCases)('%s', async (_name, mutate, kind, fragment) => {
    const { service, mounter, fs } = nodeOnFakes();
    const request = publishRequest();
    mutate(request);
    await expectWarrenRejection(service.NodePublishVolume(request, ctx), kind, fragment);
    expect(mounter.calls.filter((c) => c.op !== 'health')).toEqual([]);
    expect(fs.calls).toEqual([]);
  });
});

const unpublishCases: Array<[string, { volume_id: string; target_path: string }, string]> = [
  ['missing volume_id', { volume_id: '', target_path: target }, 'volume_id is required'],
  ['volume_id of 129 bytes', { volume_id: 'v'.repeat(129), target_path: target }, '128 bytes'],
  ['missing target_path', { volume_id: volumeId, target_path: '' }, 'target_path is required'],
  ['relative target_path', { volume_id: volumeId, target_path: 'mount' }, 'absolute'],
  ['target_path climbing with ..', { volume_id: volumeId, target_path: '/var/lib/kubelet/../..' }, '".."'],
  ['target_path /', { volume_id: volumeId, target_path: '/' }, 'root directory'],
  ['target_path with NUL', { volume_id: volumeId, target_path: '/var\0/x' }, 'NUL'],
];

describe('NodeUnpublishVolume refuses hostile requests', () => {
  it.each(unpublishCases)('%s', async (_name, request, fragment) => {
    const { service, mounter, fs } = nodeOnFakes();
    await expectWarrenRejection(service.NodeUnpublishVolume(request, ctx), 'InvalidArgument', fragment);
    expect(mounter.calls).toEqual([]);
    expect(fs.calls).toEqual([]);
  });
});

describe('NodeGetVolumeStats refuses hostile requests', () => {
  it.each([
    [
      'missing volume_id',
      { volume_id: '', volume_path: target, staging_target_path: '' },
      'InvalidArgument',
      'volume_id is required',
    ],
    [
      'missing volume_path',
      { volume_id: volumeId, volume_path: '', staging_target_path: '' },
      'InvalidArgument',
      'volume_path is required',
    ],
    // A path that can never be a publish target names no published volume (csi-sanity expects NOT_FOUND).
    [
      'relative volume_path',
      { volume_id: volumeId, volume_path: 'x/y', staging_target_path: '' },
      'NotFound',
      'absolute',
    ],
    [
      'climbing volume_path',
      { volume_id: volumeId, volume_path: '/a/../b', staging_target_path: '' },
      'NotFound',
      '".."',
    ],
  ] as const)('%s', async (_name, request, kind, fragment) => {
    const { service, fs } = nodeOnFakes();
    await expectWarrenRejection(service.NodeGetVolumeStats(request, ctx), kind, fragment);
    expect(fs.calls).toEqual([]);
  });
});
