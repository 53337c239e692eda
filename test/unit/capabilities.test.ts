import { describe, expect, it } from 'vitest';
import {
  accessModes,
  type CapabilityReading,
  readCapability,
  requireCapabilities,
  requireCapability,
} from '../../src/csi/capabilities.ts';
import type { VolumeCapability__Output } from '../../src/csi/generated/csi/v1/VolumeCapability.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const mount = (mode: unknown, fsType = '', flags: unknown[] = []): VolumeCapability__Output =>
  ({
    access_type: 'mount',
    mount: { fs_type: fsType, mount_flags: flags, volume_mount_group: '' },
    access_mode: { mode },
  }) as VolumeCapability__Output;

const refused = (at: string, problem: string): CapabilityReading => ({ ok: false, problem: { at, problem } });

describe('readCapability', () => {
  it.each(accessModes)('serves mount access with %s', (mode) => {
    expect(readCapability(mount(mode, 'nfs4', ['nfsvers=4.1']))).toEqual({
      ok: true,
      capability: {
        fsType: 'nfs4',
        mountFlags: ['nfsvers=4.1'],
        accessMode: mode,
        readerOnly: mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY',
      },
    });
  });

  const cases: Array<[string, VolumeCapability__Output | null, CapabilityReading]> = [
    ['missing', null, refused('', 'is required')],
    [
      'block',
      {
        access_type: 'block',
        block: {},
        access_mode: { mode: 'SINGLE_NODE_WRITER' },
      } as VolumeCapability__Output,
      refused(
        '',
        'asks for block access: block access is not supported by an NFS volume; request mount access',
      ),
    ],
    [
      'no access type',
      { access_mode: { mode: 'SINGLE_NODE_WRITER' } } as VolumeCapability__Output,
      refused('', 'sets neither mount nor block access; Warren volumes need mount access'),
    ],
    [
      'ext4',
      mount('SINGLE_NODE_WRITER', 'ext4'),
      refused('.mount.fs_type', '"ext4" is not supported; use "nfs", "nfs4" or leave it empty'),
    ],
    ['no mode', { ...mount('x'), access_mode: null }, refused('.access_mode', 'is required')],
    [
      'unknown mode',
      mount('UNKNOWN'),
      refused(
        '.access_mode',
        `"UNKNOWN" is not a known CSI access mode; use one of ${accessModes.join(', ')}`,
      ),
    ],
    ['empty flag', mount('SINGLE_NODE_WRITER', '', ['']), refused('.mount.mount_flags[0]', 'is empty')],
    [
      'flag with a comma',
      mount('SINGLE_NODE_WRITER', '', ['hard', 'ro,soft']),
      refused('.mount.mount_flags[1]', '"ro,soft" contains ","; give each mount option as its own entry'),
    ],
    [
      'flag with whitespace',
      mount('SINGLE_NODE_WRITER', '', ['a b']),
      refused('.mount.mount_flags[0]', '"a b" contains whitespace'),
    ],
    [
      'flag with a NUL',
      mount('SINGLE_NODE_WRITER', '', ['a\u0000']),
      refused('.mount.mount_flags[0]', '"a\\u0000" contains NUL or other control characters'),
    ],
    [
      'too many flags',
      mount(
        'SINGLE_NODE_WRITER',
        '',
        Array.from({ length: 65 }, () => 'hard'),
      ),
      refused('.mount.mount_flags', 'has 65 entries; at most 64'),
    ],
    [
      'a flag too long',
      mount('SINGLE_NODE_WRITER', '', ['x'.repeat(257)]),
      refused('.mount.mount_flags[0]', 'is longer than 256 bytes'),
    ],
  ];
  it.each(cases)('refuses %s', (_name, capability, expected) => {
    expect(readCapability(capability)).toEqual(expected);
  });
});

describe('requireCapability', () => {
  it('names the field and where in it the problem is', () => {
    expectWarrenError(
      () => requireCapability('volume_capability', mount('UNKNOWN')),
      'InvalidArgument',
      `volume_capability.access_mode "UNKNOWN" is not a known CSI access mode; use one of ${accessModes.join(', ')}`,
    );
  });

  it('requires a non-empty list and names the first unusable entry', () => {
    expectWarrenError(
      () => requireCapabilities('volume_capabilities', []),
      'InvalidArgument',
      'volume_capabilities is required and must not be empty',
    );
    expectWarrenError(
      () =>
        requireCapabilities('volume_capabilities', [
          mount('SINGLE_NODE_WRITER'),
          mount('SINGLE_NODE_WRITER', 'xfs'),
        ]),
      'InvalidArgument',
      'volume_capabilities[1].mount.fs_type "xfs" is not supported; use "nfs", "nfs4" or leave it empty',
    );
  });
});
