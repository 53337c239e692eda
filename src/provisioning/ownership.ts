// Ownership records: Warren deletes or archives a directory only when it holds a durable record
// that it created that directory for that very volume. The record lives in the share's reserved
// record index (`.warren/index/owner-<digest of the location>.json`), is written before the
// directory is made (so before it is handed to anyone), and goes only after the release.
import type { DirectoryBackend } from './directory-backend.ts';
import type { VolumeLocation } from './types.ts';
import { locationDigest } from './volume-id.ts';

export interface OwnershipRecord {
  volumeId: string;
  /** The volume's name where the front door has one (the PV name; the CSI volume name). */
  name?: string;
  location: VolumeLocation;
  /** Warren made the directory; false when it was already there (handed out, never removed). */
  created: boolean;
}

export const ownerKey = (location: VolumeLocation): string => `owner-${locationDigest(location)}`;

/**
 * When this share first saw ownership records (written with the first record, or at the first
 * release that needed it): a volume made later always has its own record, so a PV created later
 * that has none is not adopted, whatever Warren-like markers it carries.
 */
export const ownershipEraKey = 'ownership-since';

/** What a caller recorded about a volume before ownership records existed. */
export interface LegacyEvidence {
  /** When the volume's object was created (a PV's creationTimestamp); absent when only Warren could have written the evidence (a CSI name record). */
  createdAt?: Date;
}

/**
 * Eras known to this process, per backend and record root. An era record is written once and never
 * changed, so it is read once (not at every new volume). Should it vanish from the share later,
 * the era kept here is still when that share's records began: it adopts no more than the share did.
 */
const knownEras = new WeakMap<DirectoryBackend, Map<string, Date>>();

/** The start of the share's ownership era, recorded now if it was not yet. */
export async function ownershipEra(backend: DirectoryBackend, recordRoot: string, now: Date): Promise<Date> {
  const known = knownEras.get(backend)?.get(recordRoot);
  if (known) return known;
  const recorded = (await backend.getRecord(recordRoot, ownershipEraKey)) as { since?: unknown } | undefined;
  const read = typeof recorded?.since === 'string' ? new Date(recorded.since) : undefined;
  let since = read;
  if (!since || Number.isNaN(since.getTime())) {
    await backend.putRecord(recordRoot, ownershipEraKey, { since: now.toISOString() });
    since = now;
  }
  const roots = knownEras.get(backend) ?? new Map<string, Date>();
  knownEras.set(backend, roots.set(recordRoot, since));
  return since;
}

export async function readOwnership(
  backend: DirectoryBackend,
  recordRoot: string,
  location: VolumeLocation,
): Promise<OwnershipRecord | undefined> {
  const value = (await backend.getRecord(recordRoot, ownerKey(location))) as
    | Partial<OwnershipRecord>
    | undefined;
  if (!value || typeof value.volumeId !== 'string' || typeof value.created !== 'boolean') return undefined;
  return value as OwnershipRecord;
}

/**
 * Before a release: may the volume's directory be removed or moved? Without a record, only what
 * Warren recorded before ownership records existed counts (`legacy`, see README: upgrades), and
 * only for a volume created before the share's ownership era began.
 */
export function judgeOwnership(
  record: OwnershipRecord | undefined,
  volume: {
    volumeId: string;
    name?: string | undefined;
    location: VolumeLocation;
    legacy?: LegacyEvidence | undefined;
  },
  era: Date | undefined,
): { owned: true } | { owned: false; why: string } {
  const { volumeId, name, location, legacy } = volume;
  if (!record) {
    if (!legacy)
      return { owned: false, why: 'Warren holds no record of creating this directory for this volume' };
    if (legacy.createdAt && era && legacy.createdAt.getTime() >= era.getTime()) {
      return {
        owned: false,
        why: `Warren holds no record of creating this directory, and the volume was made after ${era.toISOString()}, when every new volume got one`,
      };
    }
    return { owned: true };
  }
  const at = record.location;
  if (at?.server !== location.server || at.share !== location.share || at.subDir !== location.subDir) {
    return { owned: false, why: "the directory's ownership record names another location" };
  }
  if (record.volumeId !== volumeId) {
    return { owned: false, why: `the directory was created for another volume (${record.volumeId})` };
  }
  if (name !== undefined && record.name !== undefined && record.name !== name) {
    return { owned: false, why: `the directory was created for volume ${record.name}, not ${name}` };
  }
  if (!record.created) {
    return { owned: false, why: 'the directory existed before Warren provisioned this volume' };
  }
  return { owned: true };
}
