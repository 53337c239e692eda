// Pure: reading CSI snapshot requests and writing their answers. A ListSnapshots page token names
// the last snapshot of the page before (its creation time and id), so deleting snapshots between
// pages never skips or repeats one; a token that is not Warren's is ABORTED, as the spec asks.
import type { Snapshot } from '../csi/generated/csi/v1/Snapshot.ts';
import { invalidArgument, WarrenError } from '../errors.ts';
import type { SnapshotInfo } from '../provisioning/snapshots.ts';
import { quote } from '../text.ts';
import { provisionerMetadataPrefix } from './volume-request.ts';

/** A VolumeSnapshotClass's parameters: Warren has none; csi-snapshotter's metadata is not ours. */
export function checkSnapshotParameters(parameters: Record<string, string>): void {
  const unknown = Object.keys(parameters).filter((key) => !key.startsWith(provisionerMetadataPrefix));
  if (unknown.length > 0) {
    throw invalidArgument(
      `snapshot parameter ${quote(unknown[0] ?? '')} is not known; Warren snapshots take no parameters (remove it from the VolumeSnapshotClass)`,
    );
  }
}

export function snapshotMessage(info: SnapshotInfo): Snapshot {
  const ms = info.createdAt.getTime();
  return {
    size_bytes: String(info.sizeBytes),
    snapshot_id: info.snapshotId,
    source_volume_id: info.source.volumeId,
    creation_time: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 },
    ready_to_use: info.readyToUse,
  };
}

const tokenPrefix = 'w1:';

export const pageToken = (last: SnapshotInfo): string =>
  `${tokenPrefix}${last.createdAt.getTime()}:${last.snapshotId}`;

/** The page after the token's snapshot, of at most maxEntries (0: all the rest). */
export function snapshotPage(
  sorted: readonly SnapshotInfo[],
  startingToken: string,
  maxEntries: number,
): { entries: SnapshotInfo[]; nextToken: string } {
  if (maxEntries < 0) throw invalidArgument(`max_entries ${maxEntries} must not be negative`);
  let start = 0;
  if (startingToken !== '') {
    const match = /^w1:(\d+):(.+)$/s.exec(startingToken);
    if (!match) {
      throw new WarrenError('Aborted', `starting_token ${quote(startingToken)} is not one Warren gave out`);
    }
    const ms = Number(match[1]);
    const id = match[2] ?? '';
    const after = (s: SnapshotInfo) => {
      const t = s.createdAt.getTime();
      return t > ms || (t === ms && s.snapshotId > id);
    };
    start = sorted.findIndex(after);
    if (start === -1) start = sorted.length;
  }
  const end = maxEntries === 0 ? sorted.length : Math.min(sorted.length, start + maxEntries);
  const entries = sorted.slice(start, end);
  const last = entries.at(-1);
  return { entries, nextToken: end < sorted.length && last ? pageToken(last) : '' };
}
