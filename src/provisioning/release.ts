// The one release path: every delete, archive or retain of a volume's directory (a released PV,
// a claim deleted mid-provisioning, CSI DeleteVolume) goes through releaseDirectory, and every
// rule that keeps other data safe lives here:
//   - retain touches no directory (so a planted link below the mount cannot keep it from finishing);
//   - only the volume's own directory is touched, inside a share root checked once (openShare);
//   - a claim deleted before its PV existed releases only an empty directory (`onlyIfEmpty`): a
//     template may map a new claim onto an older claim's directory, whose data stays;
//   - archive renames to a fresh name and never replaces anything;
//   - a directory is deleted or archived only when Warren recorded creating it for this volume
//     (ownership.ts); otherwise it is left as it is, and the outcome says why;
//   - a clone's partial copy is removed only while the share's record marks it as one, and only
//     when Warren recorded creating its directory for that clone;
//   - the ownership and location records go once the directory is handled, not before;
//   - a snapshot's entries in the snapshot area are removed only while the share's snapshot record
//     names that very snapshot (snapshot-records.ts), and the record goes last. Removing an entry
//     unlinks names: data another snapshot links stays with it.
import { partialCopyKey } from './clone-directory.ts';
import type { DirectoryBackend } from './directory-backend.ts';
import { judgeOwnership, type LegacyEvidence, ownerKey, ownershipEra, readOwnership } from './ownership.ts';
import { localRootFor } from './paths.ts';
import { snapshotEntry } from './snapshot-area.ts';
import type { SnapshotLocation } from './snapshot-id.ts';
import { judgeSnapshotOwnership, readSnapshotRecord, snapshotRecordKey } from './snapshot-records.ts';
import type { OnDelete, VolumeLocation } from './types.ts';
import { openShare, recordRoot, type VolumeStore } from './volume-directory.ts';
import { locationDigest } from './volume-id.ts';

export interface ReleaseRequest {
  location: VolumeLocation;
  onDelete: OnDelete;
  /** Delete the directory only while it is empty (nothing was ever handed out to write into it). */
  onlyIfEmpty: boolean;
  /** The volume the directory must have been created for. */
  volumeId: string;
  /** Its name, where the caller knows it (the PV's name): must match the ownership record's. */
  name?: string;
  /**
   * What Warren recorded about this volume before ownership records existed (the claim watcher's
   * finalizer, onDelete annotation and matching handle; the CSI name record): a directory with no
   * ownership record is then taken as Warren's, if the volume is older than the share's ownership era.
   */
  legacy?: LegacyEvidence;
}

export type ReleaseOutcome =
  | { result: 'deleted' | 'missing' | 'retained' }
  /** onlyIfEmpty and something is inside: left as it is. */
  | { result: 'kept-not-empty' }
  /** Not Warren's to delete or archive: left as it is. */
  | { result: 'not-ours'; why: string }
  | { result: 'archived'; archivedAs: string };

export async function releaseDirectory(
  store: VolumeStore,
  request: ReleaseRequest,
  now: Date,
): Promise<ReleaseOutcome> {
  const { location, onDelete } = request;
  if (onDelete === 'retain') {
    const root = recordRoot(store, localRootFor(store.shares, location.server, location.share));
    const owner = await readOwnership(store.backend, root, location);
    if (!owner || owner.volumeId === request.volumeId) await forgetLocation(store.backend, root, location);
    return { result: 'retained' };
  }
  const share = await openShare(store, location.server, location.share);
  const owner = await readOwnership(store.backend, share.recordRoot, location);
  const era =
    !owner && request.legacy?.createdAt
      ? await ownershipEra(store.backend, share.recordRoot, now)
      : undefined;
  const judged = judgeOwnership(owner, request, era);
  if (!judged.owned) {
    // Another volume's record stays; this volume's own (a directory it found) and the location go.
    if (!owner || owner.volumeId === request.volumeId)
      await forgetLocation(store.backend, share.recordRoot, location);
    return { result: 'not-ours', why: judged.why };
  }
  const outcome = await applyOnDelete(store.backend, share.root, request, now);
  if (outcome.result !== 'kept-not-empty') await forgetLocation(store.backend, share.recordRoot, location);
  return outcome;
}

async function applyOnDelete(
  backend: DirectoryBackend,
  root: string,
  request: ReleaseRequest,
  now: Date,
): Promise<ReleaseOutcome> {
  const { subDir } = request.location;
  if (request.onDelete === 'archive') {
    const archived = await backend.archiveDirectory(root, subDir, now);
    return archived === 'missing'
      ? { result: 'missing' }
      : { result: 'archived', archivedAs: archived.archivedAs };
  }
  if (request.onlyIfEmpty) {
    const removed = await backend.removeEmptyDirectory(root, subDir);
    return {
      result: removed === 'removed' ? 'deleted' : removed === 'missing' ? 'missing' : 'kept-not-empty',
    };
  }
  return { result: (await backend.removeDirectory(root, subDir)) === 'missing' ? 'missing' : 'deleted' };
}

/** The location record (kept for digest volume ids) and the ownership record have no volume left to serve. */
async function forgetLocation(backend: DirectoryBackend, root: string, location: VolumeLocation) {
  await backend.deleteRecord(root, locationDigest(location));
  await backend.deleteRecord(root, ownerKey(location));
}

/**
 * Removes a clone's copy that did not complete (it ran out of space, or its claim was deleted
 * mid-copy), only while the share's record marks that directory as a partial copy; then the mark.
 */
export async function discardPartialCopy(
  store: VolumeStore,
  volume: { location: VolumeLocation; volumeId: string; name: string },
): Promise<'removed' | 'not-a-partial-copy' | { notOurs: string }> {
  const { location } = volume;
  const share = await openShare(store, location.server, location.share);
  const key = partialCopyKey(location);
  if (!(await store.backend.getRecord(share.recordRoot, key))) return 'not-a-partial-copy';
  const judged = judgeOwnership(
    await readOwnership(store.backend, share.recordRoot, location),
    volume,
    undefined,
  );
  if (!judged.owned) return { notOurs: judged.why };
  await store.backend.removeDirectory(share.root, location.subDir);
  await forgetLocation(store.backend, share.recordRoot, location);
  await store.backend.deleteRecord(share.recordRoot, key);
  return 'removed';
}

/** A snapshot as release.ts needs it: where its records live and what it is called there. */
export interface SnapshotAt {
  /** The top of the configured mount holding the snapshot's share (its records and area). */
  recordRoot: string;
  location: SnapshotLocation;
  digest: string;
  snapshotId: string;
}

export type SnapshotReleaseOutcome = { result: 'deleted' | 'missing' } | { result: 'not-ours'; why: string };

/** Deletes a snapshot (its complete and partial entries, then its record) while its record names it. */
export async function releaseSnapshot(store: VolumeStore, at: SnapshotAt): Promise<SnapshotReleaseOutcome> {
  const { backend } = store;
  const record = await readSnapshotRecord(backend, at.recordRoot, at.digest);
  const judged = judgeSnapshotOwnership(record, at.snapshotId);
  const entries = [snapshotEntry(at.location, 'snap'), snapshotEntry(at.location, 'part')];
  if (!judged.owned) {
    const present = await backend.listSnapshotEntries(at.recordRoot);
    return entries.some((e) => present.includes(e))
      ? { result: 'not-ours', why: judged.why }
      : { result: 'missing' };
  }
  let removed = false;
  for (const entry of entries) {
    if ((await backend.removeSnapshotEntry(at.recordRoot, entry)) === 'removed') removed = true;
  }
  await backend.deleteRecord(at.recordRoot, snapshotRecordKey(at.digest));
  return { result: removed ? 'deleted' : 'missing' };
}

/** Removes what a snapshot copy that never completed left (its `part-` entry), while its record names it. */
export async function discardPartialSnapshot(
  store: VolumeStore,
  at: SnapshotAt,
): Promise<'removed' | 'missing' | { notOurs: string }> {
  const record = await readSnapshotRecord(store.backend, at.recordRoot, at.digest);
  const judged = judgeSnapshotOwnership(record, at.snapshotId);
  if (!judged.owned) return { notOurs: judged.why };
  return store.backend.removeSnapshotEntry(at.recordRoot, snapshotEntry(at.location, 'part'));
}
