// Where volumes become directories, for both front doors (`warren controller` and the CSI
// Controller service): a share's local root, checked once, and the directory of a volume in it.
// Directories go away only through release.ts.
import { posix } from 'node:path';
import { failedPrecondition, invalidArgument } from '../errors.ts';
import { quote } from '../text.ts';
import type { DirectoryBackend, ShareRoot, VolumeDirectoryRequest } from './directory-backend.ts';
import { reservedDirName } from './names.ts';
import { type OwnershipRecord, ownerKey, ownershipEra, readOwnership } from './ownership.ts';
import { localRootFor } from './paths.ts';
import type { OnDelete, ShareMount, VolumeLocation } from './types.ts';
import { locationDigest, parseVolumeId } from './volume-id.ts';
import type { VolumeIntent } from './volume-intent.ts';

export interface VolumeStore {
  shares: ShareMount[];
  backend: DirectoryBackend;
}

/**
 * The local directory of server:share, through the --share mount covering it. When the class's
 * share lies below the mounted export, the directories in between are checked: a symbolic link
 * planted there would otherwise carry every volume of the class somewhere else.
 */
export async function openShare(store: VolumeStore, server: string, share: string): Promise<ShareRoot> {
  const root = localRootFor(store.shares, server, share);
  const mount = recordRoot(store, root);
  const between = posix.relative(mount, root);
  // Warren's records and snapshots lie in the mount's reserved directory: no share may lie in it.
  if (between.split('/').includes(reservedDirName)) {
    throw invalidArgument(
      `share ${quote(`${server}:${share}`)} lies inside ${quote(reservedDirName)}, where Warren keeps its records and snapshots; choose another share`,
    );
  }
  if (root !== mount) await store.backend.checkPathBelow(mount, between);
  return { root, recordRoot: mount };
}

/**
 * Creates the directory (idempotent). First records who owns it (ownership.ts): created by Warren
 * for this volume, or already there (then never removed). `adoptExisting`: an earlier attempt for
 * this same volume, made before ownership records existed, may have made it. A directory recorded
 * for another volume is refused. For digest ids, also records the location so DeleteVolume can
 * find it. The backend runs the steps (ensureVolumeDirectoryOn) as one operation.
 */
export function ensureVolumeDirectory(
  store: VolumeStore,
  share: ShareRoot,
  intent: VolumeIntent,
  owner: VolumeDirectoryRequest['owner'],
): Promise<'created' | 'existed'> {
  return store.backend.ensureVolumeDirectory({ share, intent, owner });
}

/** ensureVolumeDirectory's steps over a backend's primitives; each backend's ensureVolumeDirectory runs them. */
export async function ensureVolumeDirectoryOn(
  backend: DirectoryBackend,
  { share, intent, owner }: VolumeDirectoryRequest,
): Promise<'created' | 'existed'> {
  const { location, volumeId } = intent;
  const recorded = await readOwnership(backend, share.recordRoot, location);
  if (
    recorded &&
    (recorded.volumeId !== volumeId || (recorded.name !== undefined && recorded.name !== owner.name))
  ) {
    throw failedPrecondition(
      `directory ${location.subDir} on ${location.server}:${location.share} belongs to volume ${recorded.name ?? recorded.volumeId}; ` +
        'give each volume its own directory (e.g. include ${pv.metadata.name} in subDir)',
    );
  }
  if (!recorded) {
    await ownershipEra(backend, share.recordRoot, owner.now);
    const present = await backend.exists(share.root, location.subDir);
    const record: OwnershipRecord = {
      volumeId,
      name: owner.name,
      location,
      created: !present || owner.adoptExisting,
    };
    await backend.putRecord(share.recordRoot, ownerKey(location), record);
  }
  if (intent.idForm === 'digest') {
    await backend.putRecord(share.recordRoot, locationDigest(intent.location), {
      location: intent.location,
      onDelete: intent.onDelete,
    });
  }
  return backend.ensureDirectory(share.root, intent.location.subDir, {
    mode: intent.mode,
    ...(intent.uid === undefined ? {} : { uid: intent.uid }),
    ...(intent.gid === undefined ? {} : { gid: intent.gid }),
  });
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
