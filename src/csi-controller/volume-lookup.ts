// Where a CSI volume id points, for every Controller RPC that takes one: the volume's location and
// onDelete, and whether its directory is there (NOT_FOUND otherwise).
import { notFound } from '../errors.ts';
import { localRootFor } from '../provisioning/paths.ts';
import type { OnDelete, VolumeLocation } from '../provisioning/types.ts';
import { locateVolume, openShare, recordRoot, type VolumeStore } from '../provisioning/volume-directory.ts';
import { parseVolumeId } from '../provisioning/volume-id.ts';
import { quote } from '../text.ts';

export interface FoundVolume {
  location: VolumeLocation;
  onDelete: OnDelete;
  /** Where the volume's records live (the top of the configured mount). */
  recordRoot: string;
}

/** Where a volume id points; undefined for a malformed id or a digest id nobody recorded. */
export async function findVolume(store: VolumeStore, volumeId: string): Promise<FoundVolume | undefined> {
  try {
    parseVolumeId(volumeId);
  } catch {
    return undefined;
  }
  const located = await locateVolume(store, volumeId);
  if (!located) return undefined;
  const root = localRootFor(store.shares, located.location.server, located.location.share);
  return { ...located, recordRoot: recordRoot(store, root) };
}

/** Like findVolume, and the directory must be there: NOT_FOUND otherwise. */
export async function requireExistingVolume(store: VolumeStore, volumeId: string): Promise<FoundVolume> {
  const volume = await findVolume(store, volumeId);
  const share = volume && (await openShare(store, volume.location.server, volume.location.share));
  if (!volume || !share || !(await store.backend.exists(share.root, volume.location.subDir))) {
    throw notFound(`volume ${quote(volumeId)} does not exist`);
  }
  return volume;
}
