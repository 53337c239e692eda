// Ownership records: Warren deletes or archives a directory only when it holds a durable record
// that it created that directory for that very volume. The record lives in the share's reserved
// record index (`.warren/index/owner-<digest of the location>.json`), is written before the
// directory is made (so before it is handed to anyone), and goes only after the release.
import type { DirectoryBackend } from './directory-backend.ts';
import type { VolumeLocation } from './types.ts';
import { locationDigest } from './volume-id.ts';

export interface OwnershipRecord {
  volumeId: string;
  location: VolumeLocation;
  /** Warren made the directory; false when it was already there (handed out, never removed). */
  created: boolean;
}

export const ownerKey = (location: VolumeLocation): string => `owner-${locationDigest(location)}`;

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
 * Warren recorded before ownership records existed (`legacyOwner`, see README: upgrades) counts.
 */
export function judgeOwnership(
  record: OwnershipRecord | undefined,
  volume: { volumeId: string; location: VolumeLocation },
  legacyOwner: boolean,
): { owned: true } | { owned: false; why: string } {
  const { volumeId, location } = volume;
  if (!record) {
    return legacyOwner
      ? { owned: true }
      : { owned: false, why: 'Warren holds no record of creating this directory for this volume' };
  }
  const at = record.location;
  if (at?.server !== location.server || at.share !== location.share || at.subDir !== location.subDir) {
    return { owned: false, why: "the directory's ownership record names another location" };
  }
  if (record.volumeId !== volumeId) {
    return { owned: false, why: `the directory was created for another volume (${record.volumeId})` };
  }
  if (!record.created) {
    return { owned: false, why: 'the directory existed before Warren provisioned this volume' };
  }
  return { owned: true };
}
