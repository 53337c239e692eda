// CreateVolume from a volume_content_source volume: the source checked, the copy made by the same
// engine and the same partial-copy record as the claim watcher's clones, before CreateVolume answers.
// (A snapshot source is restored by provisioning/snapshot-restore.ts.)
import type { Logger } from 'pino';
import type { VolumeContentSource__Output } from '../csi/generated/csi/v1/VolumeContentSource.ts';
import { invalidArgument, WarrenError } from '../errors.ts';
import { beginCopy, copyPaths, endCopy } from '../provisioning/clone-directory.ts';
import type { ShareRoot } from '../provisioning/directory-backend.ts';
import { discardPartialCopy } from '../provisioning/release.ts';
import type { TreeCopier } from '../provisioning/tree-copy.ts';
import type { VolumeLocation } from '../provisioning/types.ts';
import type { VolumeStore } from '../provisioning/volume-directory.ts';
import type { VolumeIntent } from '../provisioning/volume-intent.ts';
import { errorMessage, quote } from '../text.ts';

export type ContentSource = { kind: 'volume'; volumeId: string } | { kind: 'snapshot'; snapshotId: string };

/** What a new volume is made from: a volume (a clone) or a snapshot (a restore). */
export function readContentSource(source: VolumeContentSource__Output): ContentSource {
  if (source.type === 'snapshot' || (source.type === undefined && source.snapshot)) {
    const snapshotId = source.snapshot?.snapshot_id ?? '';
    if (snapshotId === '') throw invalidArgument('volume_content_source.snapshot.snapshot_id is required');
    return { kind: 'snapshot', snapshotId };
  }
  const volumeId = source.volume?.volume_id ?? '';
  if (volumeId === '') throw invalidArgument('volume_content_source.volume.volume_id is required');
  return { kind: 'volume', volumeId };
}

/** Copies the source volume's directory into the new volume's, through the partial-copy record. */
export async function cloneInto(
  deps: { store: VolumeStore; copier: TreeCopier },
  input: {
    share: ShareRoot;
    intent: VolumeIntent;
    from: VolumeLocation;
    owner: { name: string; adoptExisting: boolean; now: Date };
    log: Logger;
  },
): Promise<'copied'> {
  const { share, intent, from, owner, log } = input;
  const { location } = intent;
  if (from.server === location.server && from.share === location.share && from.subDir === location.subDir) {
    throw invalidArgument(
      `the clone's directory ${quote(location.subDir)} is its source's own; give it its own subDir`,
    );
  }
  const paths = await copyPaths(deps.store, from, { share, location });
  const begun = await beginCopy(deps.store, share, intent, from, owner);
  try {
    const stats = await deps.copier.copy(paths.source, paths.target);
    await endCopy(deps.store, share, location);
    log.info({ from, begun, ...stats, skipped: stats.skipped.length }, 'volume cloned');
    return 'copied';
  } catch (err) {
    const discarded = await discardPartialCopy(deps.store, {
      location,
      volumeId: intent.volumeId,
      name: owner.name,
    }).catch((removal: unknown) => {
      // A share that stopped the copy often cannot be reached to remove it either: say both. The
      // partial-copy mark stays, so the CO's retry copies over it.
      throw new WarrenError(
        removal instanceof WarrenError ? removal.kind : 'Internal',
        `copying volume ${from.subDir} failed: ${errorMessage(err)}. Its partial copy cannot be removed yet ` +
          `(${errorMessage(removal)}); a retry copies over it`,
        { cause: removal },
      );
    });
    log.warn({ from, discarded }, 'clone failed; partial copy handled');
    if (err instanceof WarrenError) {
      throw new WarrenError(
        err.kind,
        `copying volume ${from.subDir} failed (the partial copy was removed): ${err.message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}
