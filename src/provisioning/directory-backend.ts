// The one side effect of provisioning: directories (and a small record index) on a mounted share.
// Implementations: fs-directory-backend.ts (real) and test/fakes/memory-directory-backend.ts.
import { invalidArgument } from '../errors.ts';
import { byteLength, maxId, quote } from '../text.ts';
import { archivePrefix, reservedDirName } from './names.ts';
import { maxSegmentBytes } from './paths.ts';
import type { VolumeIntent } from './volume-intent.ts';

export interface DirectoryPermissions {
  mode: number;
  uid?: number;
  gid?: number;
}

/** A share as this process reaches it, checked: its local directory and where its records live. */
export interface ShareRoot {
  root: string;
  /** The top of the configured mount holding `root`: record lookups start there. */
  recordRoot: string;
}

/** A volume's directory to ensure, with its ownership record (volume-directory.ts). */
export interface VolumeDirectoryRequest {
  share: ShareRoot;
  intent: VolumeIntent;
  owner: { name: string; adoptExisting: boolean; now: Date };
}

export interface DirectoryBackend {
  /**
   * ensureVolumeDirectory's steps (volume-directory.ts: ownership record, then the directory) as
   * one operation, so that a share worker runs them in one call; each backend runs those same steps.
   */
  ensureVolumeDirectory(request: VolumeDirectoryRequest): Promise<'created' | 'existed'>;
  /** Creates root/subDir (and missing parents, 0o755) and applies mode/uid/gid to the leaf; existing leaf = 'existed' (mode/owner re-applied). */
  ensureDirectory(root: string, subDir: string, perms: DirectoryPermissions): Promise<'created' | 'existed'>;
  /** Deletes the tree at root/subDir without following symlinks out of it; never removes root or any parent. Missing = 'missing'. */
  removeDirectory(root: string, subDir: string): Promise<'removed' | 'missing'>;
  /** Removes root/subDir only if it is an empty directory; anything inside keeps it. */
  removeEmptyDirectory(root: string, subDir: string): Promise<'removed' | 'missing' | 'not-empty'>;
  /** Renames root/subDir to a unique sibling `archived-<leaf>-<UTC yyyymmddhhmmss>[-n]` in the same parent; returns the new relative path, or 'missing'. */
  archiveDirectory(root: string, subDir: string, now: Date): Promise<{ archivedAs: string } | 'missing'>;
  exists(root: string, subDir: string): Promise<boolean>;
  /**
   * Each existing directory of base/relative below base must be a real directory, not a symbolic
   * link: between a --share mount (base) and a class's share below it, Warren follows no link.
   * A missing one is left for the operation on the share root to report.
   */
  checkPathBelow(base: string, relative: string): Promise<void>;
  /** Small JSON records under root/.warren/index/<key>.json (for digest volume ids). */
  putRecord(root: string, key: string, record: unknown): Promise<void>;
  getRecord(root: string, key: string): Promise<unknown | undefined>;
  deleteRecord(root: string, key: string): Promise<void>;
  /** The entries of the snapshot area `root/.warren/snapshots` (snapshot-area.ts); [] while there is none. */
  listSnapshotEntries(root: string): Promise<string[]>;
  /** Makes an entry of the snapshot area as an empty 0700 directory (the area too, 0700); an existing one = 'existed'. */
  makeSnapshotEntry(root: string, entry: string): Promise<'created' | 'existed'>;
  /** Renames entry `from` to `to`, never replacing anything. */
  renameSnapshotEntry(
    root: string,
    from: string,
    to: string,
  ): Promise<'renamed' | 'missing' | 'target-exists'>;
  /** Deletes an entry's tree without following links out of it (hard links elsewhere keep their data). */
  removeSnapshotEntry(root: string, entry: string): Promise<'removed' | 'missing'>;
}

/** Where records live, relative to a share root. */
export const recordDirSegments = [reservedDirName, 'index'] as const;
/** Gives up after this many taken archive names in one second (each attempt is one mkdir). */
export const maxArchiveAttempts = 1000;

export function checkPermissions(perms: DirectoryPermissions): DirectoryPermissions {
  const valid = (id: number | undefined) =>
    id === undefined || (Number.isInteger(id) && id >= 0 && id <= maxId);
  if (!Number.isInteger(perms.mode) || perms.mode < 0 || perms.mode > 0o7777) {
    throw invalidArgument(`mode ${perms.mode} is outside 0..07777`);
  }
  if (!valid(perms.uid) || !valid(perms.gid)) {
    throw invalidArgument(`uid ${perms.uid} / gid ${perms.gid} must be integers from 0 to ${maxId}`);
  }
  return perms;
}

export function checkRecordKey(key: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(key)) {
    throw invalidArgument(`record key ${quote(key)} must be 1-64 characters of A-Z, a-z, 0-9, "_" and "-"`);
  }
  return key;
}

const twoDigits = (n: number) => String(n).padStart(2, '0');

/** `archived-<leaf>-<UTC yyyymmddhhmmss>[-n]`, with the leaf shortened if needed to stay within 255 bytes. */
export function archiveNameFor(leaf: string, now: Date, attempt: number): string {
  const stamp =
    `${now.getUTCFullYear()}${twoDigits(now.getUTCMonth() + 1)}${twoDigits(now.getUTCDate())}` +
    `${twoDigits(now.getUTCHours())}${twoDigits(now.getUTCMinutes())}${twoDigits(now.getUTCSeconds())}`;
  const suffix = attempt === 0 ? `-${stamp}` : `-${stamp}-${attempt}`;
  const room = maxSegmentBytes - byteLength(archivePrefix + suffix);
  return `${archivePrefix}${truncateUtf8(leaf, room)}${suffix}`;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (byteLength(text) <= maxBytes) return text;
  let result = '';
  let bytes = 0;
  for (const character of text) {
    const size = byteLength(character);
    if (bytes + size > maxBytes) break;
    result += character;
    bytes += size;
  }
  return result;
}
