// Restoring a snapshot: a full, unlinked copy of its tree into a new volume directory (no file of
// the volume shares an inode with any snapshot, so writes to it never reach one), made through the
// same partial-copy record as clones (clone-directory.ts): a failed copy is removed by release.ts.
import { posix } from 'node:path';
import { notFound, WarrenError } from '../errors.ts';
import { quote } from '../text.ts';
import { beginCopy, endCopy } from './clone-directory.ts';
import type { ShareRoot } from './directory-backend.ts';
import { discardPartialCopy } from './release.ts';
import { snapshotAreaSegments } from './snapshot-area.ts';
import { findSnapshotTree, type SnapshotInfo } from './snapshots.ts';
import type { CopyStats, TreeCopier } from './tree-copy.ts';
import type { VolumeLocation } from './types.ts';
import type { VolumeStore } from './volume-directory.ts';
import type { VolumeIntent } from './volume-intent.ts';

/**
 * The local paths of a restore: the snapshot's tree (complete, checked to follow no link) and the
 * new volume's directory. NotFound when no complete snapshot has that id.
 */
export async function restorePaths(
  store: VolumeStore,
  snapshotId: string,
  to: { share: ShareRoot; location: VolumeLocation },
): Promise<{ source: string; target: string; snapshot: SnapshotInfo }> {
  const found = await findSnapshotTree(store, snapshotId);
  if (!found) throw notFound(`snapshot ${quote(snapshotId)} does not exist (or is not complete)`);
  const entry = posix.relative(found.at.recordRoot, found.tree);
  await store.backend.checkPathBelow(found.at.recordRoot, entry);
  if (!entry.startsWith(`${snapshotAreaSegments.join('/')}/`)) {
    throw new WarrenError('Internal', `snapshot tree ${quote(found.tree)} is outside the snapshot area`);
  }
  await store.backend.checkPathBelow(to.share.root, to.location.subDir);
  return {
    source: found.tree,
    target: posix.join(to.share.root, to.location.subDir),
    snapshot: found.info,
  };
}

/** Copies the snapshot into the new volume's directory; on failure the partial copy is removed. */
export async function restoreSnapshot(
  deps: { store: VolumeStore; copier: TreeCopier },
  input: {
    share: ShareRoot;
    intent: VolumeIntent;
    snapshotId: string;
    owner: Parameters<typeof beginCopy>[4];
    onBytes?: (bytes: number) => void;
  },
): Promise<{ snapshot: SnapshotInfo; stats: CopyStats; begun: 'fresh' | 'resumed' }> {
  const { store } = deps;
  const { share, intent, snapshotId, owner } = input;
  const { location } = intent;
  const paths = await restorePaths(store, snapshotId, { share, location });
  const begun = await beginCopy(store, share, intent, { snapshotId }, owner);
  try {
    const stats = await deps.copier.copy(paths.source, paths.target, input.onBytes);
    await endCopy(store, share, location);
    return { snapshot: paths.snapshot, stats, begun };
  } catch (err) {
    await discardPartialCopy(store, { location, volumeId: intent.volumeId, name: owner.name });
    if (err instanceof WarrenError) {
      throw new WarrenError(
        err.kind,
        `restoring snapshot ${snapshotId} failed (the partial copy was removed): ${err.message}`,
        { cause: err },
      );
    }
    throw err;
  }
}
