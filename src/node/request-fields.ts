// Pure checks of the fields of Node requests; each failure is InvalidArgument naming the field.

import { type AccessMode, accessModes, knownAccessMode } from '../csi/access-modes.ts';
import type { VolumeCapability__Output } from '../csi/generated/csi/v1/VolumeCapability.ts';
import { invalidArgument } from '../errors.ts';
import { hasControlCharacter, quote } from '../provisioning/paths.ts';
import { maxVolumeIdBytes } from '../provisioning/volume-id.ts';
import type { NfsFsType } from './mounter.ts';

export const maxPathBytes = 4096;
export const maxMountFlags = 64;
export const maxMountFlagBytes = 256;
export const maxAttributes = 64;
export const maxAttributeKeyBytes = 256;
export const maxAttributeValueBytes = 4096;
export const maxAttributesBytes = 16 * 1024;

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

const readerOnlyModes: ReadonlySet<string> = new Set(['SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY']);

/** A present, non-empty string field or an InvalidArgument naming it. */
function requiredString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalidArgument(`${field} is required`);
  return value;
}

export function checkVolumeId(value: unknown): string {
  const id = requiredString(value, 'volume_id');
  if (byteLength(id) > maxVolumeIdBytes) {
    throw invalidArgument(`volume_id ${quote(id)} is longer than ${maxVolumeIdBytes} bytes`);
  }
  if (hasControlCharacter(id))
    throw invalidArgument(`volume_id ${quote(id)} contains NUL or other control characters`);
  return id;
}

/** An absolute path on this node without `.`/`..` segments; returned with `//` and a trailing `/` removed. */
export function checkNodePath(value: unknown, field: string): string {
  const path = requiredString(value, field);
  const fail = (why: string) => invalidArgument(`${field} ${quote(path)} ${why}`);
  if (byteLength(path) > maxPathBytes) throw fail(`is longer than ${maxPathBytes} bytes`);
  if (!path.startsWith('/')) throw fail('must be an absolute path');
  if (hasControlCharacter(path)) throw fail('must not contain NUL or other control characters');
  const segments = path.split('/').filter((segment) => segment !== '');
  const climbing = segments.find((segment) => segment === '.' || segment === '..');
  if (climbing) throw fail(`must not contain a ${quote(climbing)} segment`);
  if (segments.length === 0) throw fail('is the root directory');
  return `/${segments.join('/')}`;
}

export interface MountCapability {
  fsType: NfsFsType;
  mountFlags: string[];
  accessMode: AccessMode;
  /** The access mode only allows reading. */
  readerOnly: boolean;
}

export function checkMountFlags(flags: readonly unknown[]): string[] {
  if (flags.length > maxMountFlags)
    throw invalidArgument(`mount_flags has ${flags.length} entries; at most ${maxMountFlags}`);
  return flags.map((flag, index) => {
    const fail = (why: string) => invalidArgument(`mount_flags[${index}] ${why}`);
    if (typeof flag !== 'string' || flag === '') throw fail('is empty');
    if (byteLength(flag) > maxMountFlagBytes) throw fail(`is longer than ${maxMountFlagBytes} bytes`);
    if (hasControlCharacter(flag)) throw fail(`${quote(flag)} contains NUL or other control characters`);
    if (/\s/.test(flag)) throw fail(`${quote(flag)} contains whitespace`);
    if (flag.includes(','))
      throw fail(`${quote(flag)} contains ","; give each mount option as its own entry`);
    return flag;
  });
}

export function checkVolumeCapability(
  capability: VolumeCapability__Output | null | undefined,
): MountCapability {
  if (!capability) throw invalidArgument('volume_capability is required');
  const accessType =
    capability.access_type ?? (capability.block ? 'block' : capability.mount ? 'mount' : undefined);
  if (accessType === 'block') {
    throw invalidArgument(
      'volume_capability asks for a block volume; Warren serves NFS file systems (access type mount) only',
    );
  }
  if (accessType !== 'mount' || !capability.mount) {
    throw invalidArgument('volume_capability must have access type mount');
  }
  const fsType = capability.mount.fs_type ?? '';
  if (fsType !== '' && fsType !== 'nfs' && fsType !== 'nfs4') {
    throw invalidArgument(
      `volume_capability.mount.fs_type ${quote(fsType)} is not supported; use "nfs", "nfs4" or leave it empty`,
    );
  }
  const mode = capability.access_mode?.mode;
  if (mode === undefined || mode === null) throw invalidArgument('volume_capability.access_mode is required');
  const accessMode = knownAccessMode(mode);
  if (!accessMode) {
    throw invalidArgument(
      `volume_capability.access_mode ${quote(String(mode))} is not supported; use one of ${accessModes.join(', ')}`,
    );
  }
  return {
    fsType: fsType === 'nfs4' ? 'nfs4' : 'nfs',
    mountFlags: checkMountFlags(capability.mount.mount_flags ?? []),
    accessMode,
    readerOnly: readerOnlyModes.has(accessMode),
  };
}

/** Bounds the size of volume_context as a whole; the keys Warren reads are checked where they are used. */
export function checkAttributeSizes(context: Record<string, string>, field: string): void {
  const entries = Object.entries(context);
  if (entries.length > maxAttributes)
    throw invalidArgument(`${field} has ${entries.length} entries; at most ${maxAttributes}`);
  let total = 0;
  for (const [key, value] of entries) {
    if (typeof value !== 'string') throw invalidArgument(`${field}[${quote(key)}] is not a string`);
    if (byteLength(key) > maxAttributeKeyBytes)
      throw invalidArgument(`${field} key ${quote(key)} is longer than ${maxAttributeKeyBytes} bytes`);
    if (byteLength(value) > maxAttributeValueBytes) {
      throw invalidArgument(`${field}[${quote(key)}] is longer than ${maxAttributeValueBytes} bytes`);
    }
    total += byteLength(key) + byteLength(value);
  }
  if (total > maxAttributesBytes)
    throw invalidArgument(`${field} is ${total} bytes in all; at most ${maxAttributesBytes}`);
}
