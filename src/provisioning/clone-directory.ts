// The directory a clone is copied into, for both front doors: made only where nothing is (or where
// this clone's own copy was cut off), with a record on the share that marks it as a partial copy
// until the copy is complete. release.ts's discardPartialCopy removes only what that record marks.
import { posix } from 'node:path';
import { failedPrecondition } from '../errors.ts';
import { quote } from '../text.ts';
import type { ShareRoot } from './directory-backend.ts';
import type { VolumeLocation } from './types.ts';
import { ensureVolumeDirectory, openShare, type VolumeStore } from './volume-directory.ts';
import { locationDigest } from './volume-id.ts';
import type { VolumeIntent } from './volume-intent.ts';

/** The record key that marks a clone's directory as a copy still in progress. */
export const partialCopyKey = (location: VolumeLocation) => `copy-${locationDigest(location)}`;

/**
 * Marks the copy as begun, then makes the directory (through ensureVolumeDirectory, so it has the
 * same record as every volume's): 'fresh' for a new directory, 'resumed' for this clone's own
 * partial copy. A directory already there without the mark holds someone's data: refused.
 */
export async function beginCopy(
  store: VolumeStore,
  share: ShareRoot,
  intent: VolumeIntent,
  /** What is copied: a volume, or a snapshot (a restore). Kept in the partial-copy record. */
  from: VolumeLocation | { snapshotId: string },
  owner: Parameters<typeof ensureVolumeDirectory>[3],
): Promise<'fresh' | 'resumed'> {
  const { location } = intent;
  const key = partialCopyKey(location);
  const marked = await store.backend.getRecord(share.recordRoot, key);
  if (!marked) {
    if (await store.backend.exists(share.root, location.subDir)) {
      throw failedPrecondition(
        `directory ${quote(location.subDir)} on ${location.server}:${location.share} already exists; a clone is copied only into a new directory (change subDir, or move that directory away)`,
      );
    }
    await store.backend.putRecord(share.recordRoot, key, { location, from });
  }
  // A resumed copy's directory is this clone's own (the mark was written before it was made).
  await ensureVolumeDirectory(store, share, intent, {
    ...owner,
    adoptExisting: owner.adoptExisting || Boolean(marked),
  });
  return marked ? 'resumed' : 'fresh';
}

/** The copy is complete: the directory is an ordinary volume directory from now on. */
export async function endCopy(store: VolumeStore, share: ShareRoot, location: VolumeLocation): Promise<void> {
  await store.backend.deleteRecord(share.recordRoot, partialCopyKey(location));
}

/** Local paths of a copy's source and target, each checked to follow no symbolic link on the way. */
export async function copyPaths(
  store: VolumeStore,
  from: VolumeLocation,
  to: { share: ShareRoot; location: VolumeLocation },
): Promise<{ source: string; target: string }> {
  const sourceShare = await openShare(store, from.server, from.share);
  await store.backend.checkPathBelow(sourceShare.root, from.subDir);
  if (!(await store.backend.exists(sourceShare.root, from.subDir))) {
    throw failedPrecondition(
      `the source volume's directory ${quote(from.subDir)} on ${from.server}:${from.share} is gone; nothing to copy`,
    );
  }
  await store.backend.checkPathBelow(to.share.root, to.location.subDir);
  return {
    source: posix.join(sourceShare.root, from.subDir),
    target: posix.join(to.share.root, to.location.subDir),
  };
}
