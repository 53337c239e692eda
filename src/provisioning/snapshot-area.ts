// Where snapshots are on a share: Warren's snapshot area `<mount>/.warren/snapshots/` (mode 0700,
// at the top of the configured mount, where no volume's directory can lie) and the names of its
// entries: `snap-<digest>` is a complete snapshot, `part-<digest>` one being copied. Entry names
// come from snapshotDigest (snapshot-id.ts), never from input.
import { posix } from 'node:path';
import { invalidArgument } from '../errors.ts';
import { quote } from '../text.ts';
import { reservedDirName } from './names.ts';
import { type SnapshotLocation, snapshotDigest } from './snapshot-id.ts';

/** The snapshot area, relative to the top of a configured mount. */
export const snapshotAreaSegments = [reservedDirName, 'snapshots'] as const;
export const snapshotAreaMode = 0o700;

export type SnapshotEntryKind = 'snap' | 'part';

const entryPattern = /^(snap|part)-[A-Za-z0-9_-]{32}$/;

export function checkSnapshotEntry(entry: string): string {
  if (!entryPattern.test(entry)) {
    throw invalidArgument(
      `snapshot area entry ${quote(entry)} is not snap-<digest> or part-<digest> (32 base64url characters)`,
    );
  }
  return entry;
}

export const snapshotEntry = (location: SnapshotLocation, kind: SnapshotEntryKind): string =>
  `${kind}-${snapshotDigest(location)}`;

/** What an entry's name says: complete or in progress, and the digest of its snapshot. */
export function readSnapshotEntry(entry: string): { kind: SnapshotEntryKind; digest: string } | undefined {
  if (!entryPattern.test(entry)) return undefined;
  return { kind: entry.startsWith('snap-') ? 'snap' : 'part', digest: entry.slice(5) };
}

/** The local path of an entry below `root` (the top of a configured mount). */
export const snapshotEntryPath = (root: string, entry: string): string =>
  posix.join(root, ...snapshotAreaSegments, checkSnapshotEntry(entry));
