// The one place where volumes become directories and directories go away, for both front
// doors (`warren controller` and the CSI Controller service).
import { posix } from 'node:path';
import type { DirectoryBackend } from './directory-backend.ts';
import { localRootFor } from './paths.ts';
import type { OnDelete, ShareMount, VolumeLocation } from './types.ts';
import { locationDigest, parseVolumeId } from './volume-id.ts';
import type { VolumeIntent } from './volume-intent.ts';

export interface VolumeStore {
  shares: ShareMount[];
  backend: DirectoryBackend;
}

export type ReleaseOutcome =
  | { result: 'deleted' | 'missing' | 'retained' }
  | { result: 'archived'; archivedAs: string };

/**
 * The local directory of server:share, through the --share mount covering it. When the class's
 * share lies below the mounted export, the directories in between are checked: a symbolic link
 * planted there would otherwise carry every volume of the class somewhere else.
 */
export async function shareRootOf(store: VolumeStore, server: string, share: string): Promise<string> {
  const root = localRootFor(store.shares, server, share);
  const mount = recordRoot(store, root);
  if (root !== mount) await store.backend.checkPathBelow(mount, posix.relative(mount, root));
  return root;
}

/** Creates the directory (idempotent). For digest ids, records the location so DeleteVolume can find it. */
export async function ensureVolumeDirectory(
  store: VolumeStore,
  intent: VolumeIntent,
): Promise<'created' | 'existed'> {
  const root = await shareRootOf(store, intent.location.server, intent.location.share);
  if (parseVolumeId(intent.volumeId).form === 'digest') {
    await store.backend.putRecord(recordRoot(store, root), locationDigest(intent.location), {
      location: intent.location,
      onDelete: intent.onDelete,
    });
  }
  return store.backend.ensureDirectory(root, intent.location.subDir, {
    mode: intent.mode,
    ...(intent.uid === undefined ? {} : { uid: intent.uid }),
    ...(intent.gid === undefined ? {} : { gid: intent.gid }),
  });
}

/** Applies onDelete to the volume's own directory and nothing else. A missing directory is fine. */
export async function releaseVolumeDirectory(
  store: VolumeStore,
  location: VolumeLocation,
  onDelete: OnDelete,
  now: Date,
): Promise<ReleaseOutcome> {
  // Retaining touches no directory, so a link below the mount does not keep it from finishing.
  const root =
    onDelete === 'retain'
      ? localRootFor(store.shares, location.server, location.share)
      : await shareRootOf(store, location.server, location.share);
  let outcome: ReleaseOutcome;
  if (onDelete === 'retain') {
    outcome = { result: 'retained' };
  } else if (onDelete === 'archive') {
    const archived = await store.backend.archiveDirectory(root, location.subDir, now);
    outcome =
      archived === 'missing'
        ? { result: 'missing' }
        : { result: 'archived', archivedAs: archived.archivedAs };
  } else {
    outcome = {
      result:
        (await store.backend.removeDirectory(root, location.subDir)) === 'missing' ? 'missing' : 'deleted',
    };
  }
  await store.backend.deleteRecord(recordRoot(store, root), locationDigest(location));
  return outcome;
}

/** Finds where a volume id points: from the id itself, or from the record kept for a digest id. */
export async function locateVolume(
  store: VolumeStore,
  volumeId: string,
): Promise<{ location: VolumeLocation; onDelete: OnDelete } | undefined> {
  const parsed = parseVolumeId(volumeId);
  if (parsed.form === 'location') return { location: parsed.location, onDelete: parsed.onDelete };
  for (const share of store.shares) {
    const record = (await store.backend.getRecord(share.localDir, parsed.digest)) as
      | { location?: VolumeLocation; onDelete?: OnDelete }
      | undefined;
    if (record?.location && locationDigest(record.location) === parsed.digest) {
      return { location: record.location, onDelete: parsed.onDelete };
    }
  }
  return undefined;
}

/** Records live at the top of the configured mount that holds `root`, where locateVolume looks. */
export function recordRoot(store: VolumeStore, root: string): string {
  const holders = store.shares.filter(
    (s) => root === s.localDir || root.startsWith(`${s.localDir.replace(/\/$/, '')}/`),
  );
  return holders.sort((a, b) => b.localDir.length - a.localDir.length)[0]?.localDir ?? root;
}
