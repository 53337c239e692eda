// The one reading of a CSI VolumeCapability, for the Controller and the Node side alike: what
// Warren can serve (mount access over NFS, any known access mode) and the mount it asks for.
import { invalidArgument } from '../errors.ts';
import { byteLength, hasControlCharacter, quote } from '../text.ts';
import type { VolumeCapability__Output } from './generated/csi/v1/VolumeCapability.ts';

// Every access mode of the spec but UNKNOWN: an NFS directory can be shared by any number of
// readers and writers on any number of nodes.
export const accessModes = [
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
] as const;

export type AccessMode = (typeof accessModes)[number];
export type NfsFsType = 'nfs' | 'nfs4';

export const maxMountFlags = 64;
export const maxMountFlagBytes = 256;

const readerOnlyModes: ReadonlySet<string> = new Set(['SINGLE_NODE_READER_ONLY', 'MULTI_NODE_READER_ONLY']);

export interface MountCapability {
  fsType: NfsFsType;
  mountFlags: string[];
  accessMode: AccessMode;
  /** The access mode only allows reading. */
  readerOnly: boolean;
}

/** What is wrong with a capability: `at` extends the capability's field name (e.g. `.access_mode`). */
export interface CapabilityProblem {
  at: string;
  problem: string;
}

export type CapabilityReading =
  | { ok: true; capability: MountCapability }
  | { ok: false; problem: CapabilityProblem };

const wrong = (at: string, problem: string): CapabilityReading => ({ ok: false, problem: { at, problem } });

function knownAccessMode(mode: unknown): AccessMode | undefined {
  return accessModes.find((known) => known === mode);
}

function mountFlagProblem(flags: readonly unknown[]): CapabilityProblem | undefined {
  if (flags.length > maxMountFlags) {
    return { at: '.mount.mount_flags', problem: `has ${flags.length} entries; at most ${maxMountFlags}` };
  }
  for (const [index, flag] of flags.entries()) {
    const at = `.mount.mount_flags[${index}]`;
    if (typeof flag !== 'string' || flag === '') return { at, problem: 'is empty' };
    if (byteLength(flag) > maxMountFlagBytes)
      return { at, problem: `is longer than ${maxMountFlagBytes} bytes` };
    if (hasControlCharacter(flag))
      return { at, problem: `${quote(flag)} contains NUL or other control characters` };
    if (/\s/.test(flag)) return { at, problem: `${quote(flag)} contains whitespace` };
    if (flag.includes(','))
      return { at, problem: `${quote(flag)} contains ","; give each mount option as its own entry` };
  }
  return undefined;
}

export function readCapability(capability: VolumeCapability__Output | null | undefined): CapabilityReading {
  if (!capability) return wrong('', 'is required');
  const accessType =
    capability.access_type ?? (capability.block ? 'block' : capability.mount ? 'mount' : undefined);
  if (accessType === 'block' || capability.block) {
    return wrong(
      '',
      'asks for block access: block access is not supported by an NFS volume; request mount access',
    );
  }
  if (accessType !== 'mount' || !capability.mount) {
    return wrong('', 'sets neither mount nor block access; Warren volumes need mount access');
  }
  const fsType = capability.mount.fs_type ?? '';
  if (fsType !== '' && fsType !== 'nfs' && fsType !== 'nfs4') {
    return wrong('.mount.fs_type', `${quote(fsType)} is not supported; use "nfs", "nfs4" or leave it empty`);
  }
  const mode = capability.access_mode?.mode;
  if (mode === undefined || mode === null) return wrong('.access_mode', 'is required');
  const accessMode = knownAccessMode(mode);
  if (!accessMode) {
    return wrong(
      '.access_mode',
      `${quote(String(mode))} is not a known CSI access mode; use one of ${accessModes.join(', ')}`,
    );
  }
  const flags = capability.mount.mount_flags ?? [];
  const flagProblem = mountFlagProblem(flags);
  if (flagProblem) return { ok: false, problem: flagProblem };
  return {
    ok: true,
    capability: {
      fsType: fsType === 'nfs4' ? 'nfs4' : 'nfs',
      mountFlags: [...flags],
      accessMode,
      readerOnly: readerOnlyModes.has(accessMode),
    },
  };
}

/** `field` plus where in it the problem is, as one message. */
export const describeProblem = (field: string, p: CapabilityProblem): string =>
  `${field}${p.at} ${p.problem}`;

/** The capability, or INVALID_ARGUMENT naming the field and what to change. */
export function requireCapability(
  field: string,
  capability: VolumeCapability__Output | null | undefined,
): MountCapability {
  const reading = readCapability(capability);
  if (!reading.ok) throw invalidArgument(describeProblem(field, reading.problem));
  return reading.capability;
}

/** Every capability of a non-empty list must be usable; the first that is not is named. */
export function requireCapabilities(field: string, capabilities: readonly VolumeCapability__Output[]): void {
  if (capabilities.length === 0) throw invalidArgument(`${field} is required and must not be empty`);
  capabilities.forEach((capability, index) => {
    requireCapability(`${field}[${index}]`, capability);
  });
}
