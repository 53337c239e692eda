// Snapshots of volumes, for both front doors (the CSI Controller's CreateSnapshot / DeleteSnapshot /
// ListSnapshots and the claim watcher's VolumeSnapshotContents): one implementation.
//
// API (stable; callers hold one operation per snapshot name at a time, as the CSI per-name lock and
// the watcher's one-reconcile-per-key do):
//   takeSnapshot(deps, { name, source, onBytes? })   -> SnapshotInfo     copy made, complete, ready
//   findSnapshot(store, snapshotId)                  -> SnapshotInfo | undefined (complete ones only)
//   listSnapshots(store, { snapshotId?, sourceVolumeId? }) -> SnapshotInfo[] by creation time, then id
//   deleteSnapshot(store, snapshotId)                -> 'deleted' | 'missing' | { notOurs }
//   restoreSnapshot (snapshot-restore.ts)            a full, unlinked copy into a new volume directory
// Errors are WarrenErrors: InvalidArgument (a malformed id or name), AlreadyExists (the name is
// taken by a snapshot of another volume), NotFound (the source's directory is gone), and what the
// copy raises (FailedPrecondition for a full share, Unavailable for a share that stops answering).
//
// A snapshot is a copy of the source volume's directory into the share's snapshot area
// (snapshot-area.ts), outside every volume directory. It is taken as:
//   1. the record (snapshot-records.ts), written first: Warren's word that what follows is its own;
//   2. the copy into `part-<digest>` (a part left by an earlier attempt is removed first, so the
//      result never holds entries of an older run), with the same volume's latest complete snapshot
//      as linkDest: unchanged files become hard links to it (incremental);
//   3. the result written into the record, then `part-` renamed to `snap-<digest>`.
// Only a `snap-` entry whose record holds a result is a snapshot, so a crash never leaves a half
// snapshot that looks complete; running takeSnapshot again finishes or starts over.
//
// Read-only: Warren never writes into a complete snapshot. Its files keep their modes and owners
// (a restore needs them, and hard links share them with the other snapshots that link the same
// file, so removing write bits would change every snapshot at once); what keeps them unchanged is
// that nothing reaches them: the area lies at the top of the controller's mount, mode 0700, and no
// class, template or volume id can name a path inside `.warren`. A snapshot's files are only read
// (restore, the next snapshot's comparison) or linked to; a restore copies their contents.
import { posix } from 'node:path';
import { failedPrecondition, notFound, WarrenError } from '../errors.ts';
import { quote } from '../text.ts';
import { discardPartialSnapshot, releaseSnapshot, type SnapshotAt } from './release.ts';
import { readSnapshotEntry, snapshotEntry, snapshotEntryPath } from './snapshot-area.ts';
import { encodeSnapshotId, parseSnapshotId, snapshotDigest, snapshotNameFor } from './snapshot-id.ts';
import {
  readSnapshotRecord,
  type SnapshotRecord,
  type SnapshotResult,
  type SnapshotSource,
  snapshotRecordKey,
} from './snapshot-records.ts';
import type { TreeCopier } from './tree-copy.ts';
import type { VolumeLocation } from './types.ts';
import { openShare, recordRoot, type VolumeStore } from './volume-directory.ts';
import { parseVolumeId } from './volume-id.ts';

export type { SnapshotSource } from './snapshot-records.ts';

export interface SnapshotDeps {
  store: VolumeStore;
  copier: TreeCopier;
  now?: () => Date;
}

export interface TakeSnapshotRequest {
  /** The name it is asked for by: the same name and source give the same snapshot. */
  name: string;
  /** The volume to copy: its id (as a CSI source_volume_id or a PV's volumeHandle) and location. */
  source: SnapshotSource;
  /** Bytes of file data as they are written (for a metric). */
  onBytes?: (bytes: number) => void;
}

/** A complete snapshot. */
export interface SnapshotInfo {
  snapshotId: string;
  requestedName: string;
  source: SnapshotSource;
  createdAt: Date;
  /** What a restore needs: the apparent size of its files (CSI size_bytes, restoreSize). */
  sizeBytes: number;
  /** Bytes of file data this snapshot stored itself (the rest is linked to `basedOn`). */
  storedBytes: number;
  files: number;
  linkedFiles: number;
  /** The earlier snapshot of the same volume its unchanged files link to. */
  basedOn?: string;
  readyToUse: true;
}

export interface SnapshotFilter {
  snapshotId?: string;
  sourceVolumeId?: string;
}

const sameLocation = (a: VolumeLocation, b: VolumeLocation) =>
  a.server === b.server && a.share === b.share && a.subDir === b.subDir;

function infoOf(record: SnapshotRecord, result: SnapshotResult): SnapshotInfo {
  return {
    snapshotId: record.snapshotId,
    requestedName: record.requestedName,
    source: record.source,
    createdAt: new Date(result.createdAt),
    sizeBytes: result.sizeBytes,
    storedBytes: result.storedBytes,
    files: result.files,
    linkedFiles: result.linkedFiles,
    ...(result.basedOn === undefined ? {} : { basedOn: result.basedOn }),
    readyToUse: true,
  };
}

/** Every distinct record root (top of a configured mount). */
const recordRoots = (store: VolumeStore) => [
  ...new Set(store.shares.map((s) => recordRoot(store, s.localDir))),
];

/** The complete snapshots in one record root, with their records. */
async function completeIn(store: VolumeStore, root: string): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = [];
  for (const entry of await store.backend.listSnapshotEntries(root)) {
    const read = readSnapshotEntry(entry);
    if (read?.kind !== 'snap') continue;
    const record = await readSnapshotRecord(store.backend, root, read.digest);
    if (record?.result) out.push(infoOf(record, record.result));
  }
  return out;
}

const byCreation = (a: SnapshotInfo, b: SnapshotInfo) =>
  a.createdAt.getTime() - b.createdAt.getTime() ||
  (a.snapshotId < b.snapshotId ? -1 : a.snapshotId > b.snapshotId ? 1 : 0);

/** Where a snapshot id points; undefined for an id no configured share knows. InvalidArgument if malformed. */
async function resolve(store: VolumeStore, snapshotId: string): Promise<SnapshotAt | undefined> {
  const parsed = parseSnapshotId(snapshotId);
  if (parsed.form === 'location') {
    const { location } = parsed;
    const share = await openShare(store, location.server, location.share);
    return { recordRoot: share.recordRoot, location, digest: snapshotDigest(location), snapshotId };
  }
  for (const root of recordRoots(store)) {
    const record = await readSnapshotRecord(store.backend, root, parsed.digest);
    if (record && record.snapshotId === snapshotId) {
      return { recordRoot: root, location: record.location, digest: parsed.digest, snapshotId };
    }
  }
  return undefined;
}

/** A complete snapshot by id, with the local path of its tree; undefined when there is none. */
export async function findSnapshotTree(
  store: VolumeStore,
  snapshotId: string,
): Promise<{ info: SnapshotInfo; at: SnapshotAt; tree: string } | undefined> {
  const at = await resolve(store, snapshotId);
  if (!at) return undefined;
  const record = await readSnapshotRecord(store.backend, at.recordRoot, at.digest);
  if (!record?.result || record.snapshotId !== snapshotId) return undefined;
  const entry = snapshotEntry(at.location, 'snap');
  if (!(await store.backend.listSnapshotEntries(at.recordRoot)).includes(entry)) return undefined;
  return { info: infoOf(record, record.result), at, tree: snapshotEntryPath(at.recordRoot, entry) };
}

export async function findSnapshot(
  store: VolumeStore,
  snapshotId: string,
): Promise<SnapshotInfo | undefined> {
  return (await findSnapshotTree(store, snapshotId))?.info;
}

/** Complete snapshots, oldest first (ties by id): all, one by id, or those of one source volume. */
export async function listSnapshots(
  store: VolumeStore,
  filter: SnapshotFilter = {},
): Promise<SnapshotInfo[]> {
  if (filter.snapshotId !== undefined) {
    const one = await findSnapshot(store, filter.snapshotId);
    const matches =
      one && (filter.sourceVolumeId === undefined || one.source.volumeId === filter.sourceVolumeId);
    return matches ? [one] : [];
  }
  let roots = recordRoots(store);
  if (filter.sourceVolumeId !== undefined) {
    const parsed = parseVolumeId(filter.sourceVolumeId);
    // A location id names its share; a digest id may be on any.
    if (parsed.form === 'location') {
      roots = [(await openShare(store, parsed.location.server, parsed.location.share)).recordRoot];
    }
  }
  const all = (await Promise.all(roots.map((root) => completeIn(store, root)))).flat();
  return all
    .filter((s) => filter.sourceVolumeId === undefined || s.source.volumeId === filter.sourceVolumeId)
    .sort(byCreation);
}

/** The same volume's latest complete snapshot in this record root: what the next one links to. */
async function latestOf(store: VolumeStore, root: string, source: VolumeLocation) {
  const same = (await completeIn(store, root)).filter((s) => sameLocation(s.source.location, source));
  return same.sort(byCreation).at(-1);
}

export async function takeSnapshot(deps: SnapshotDeps, request: TakeSnapshotRequest): Promise<SnapshotInfo> {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  const { source } = request;
  const share = await openShare(store, source.location.server, source.location.share);
  const location = {
    server: source.location.server,
    share: source.location.share,
    name: snapshotNameFor(request.name),
  };
  const snapshotId = encodeSnapshotId(location);
  const at: SnapshotAt = {
    recordRoot: share.recordRoot,
    location,
    digest: snapshotDigest(location),
    snapshotId,
  };
  const root = share.recordRoot;

  let record = await readSnapshotRecord(store.backend, root, at.digest);
  if (record && (record.requestedName !== request.name || record.source.volumeId !== source.volumeId)) {
    throw new WarrenError(
      'AlreadyExists',
      `snapshot name ${quote(request.name)} is taken by snapshot ${quote(record.snapshotId)} of volume ${quote(record.source.volumeId)}` +
        (record.requestedName === request.name ? '' : ` (asked for as ${quote(record.requestedName)})`),
    );
  }
  if (!record) await refuseNameElsewhere(store, request, root);
  const entries = await store.backend.listSnapshotEntries(root);
  const complete = snapshotEntry(location, 'snap');
  const partial = snapshotEntry(location, 'part');
  if (!record && (entries.includes(complete) || entries.includes(partial))) {
    throw failedPrecondition(
      `the snapshot area of ${location.server}:${location.share} holds an entry for snapshot ${quote(snapshotId)} that Warren has no record of; it is left alone (remove it, or use another name)`,
    );
  }
  if (record?.result) {
    if (entries.includes(complete)) return infoOf(record, record.result);
    // Copied and recorded, not yet renamed into place.
    if ((await store.backend.renameSnapshotEntry(root, partial, complete)) === 'renamed') {
      return infoOf(record, record.result);
    }
  }

  const sourcePath = await sourceDirectory(store, source.location);
  // Start over: a copy cut off part-way may hold entries the source no longer has.
  if (record) await discardPartialSnapshot(store, at);
  const previous = await latestOf(store, root, source.location);
  record = { snapshotId, location, requestedName: request.name, source, startedAt: now().toISOString() };
  await store.backend.putRecord(root, snapshotRecordKey(at.digest), record);
  await store.backend.makeSnapshotEntry(root, partial);
  const earlier = previous && (await findSnapshotTree(store, previous.snapshotId));
  let stats: Awaited<ReturnType<TreeCopier['copy']>>;
  try {
    stats = await deps.copier.copy(
      sourcePath,
      snapshotEntryPath(root, partial),
      request.onBytes,
      earlier ? { linkDest: earlier.tree } : {},
    );
  } catch (err) {
    // The partial copy goes; the record stays (it is Warren's) until the snapshot is deleted or taken again.
    await discardPartialSnapshot(store, at).catch(() => undefined);
    throw err;
  }
  const result: SnapshotResult = {
    createdAt: now().toISOString(),
    sizeBytes: stats.fileBytes,
    storedBytes: stats.bytes,
    files: stats.files + stats.linked,
    linkedFiles: stats.linked,
    ...(earlier ? { basedOn: earlier.info.snapshotId } : {}),
  };
  record = { ...record, result };
  await store.backend.putRecord(root, snapshotRecordKey(at.digest), record);
  await store.backend.renameSnapshotEntry(root, partial, complete);
  return infoOf(record, result);
}

/** A name is one snapshot whichever share it is on: one of another volume elsewhere takes the name. */
async function refuseNameElsewhere(store: VolumeStore, request: TakeSnapshotRequest, own: string) {
  for (const root of recordRoots(store)) {
    if (root === own) continue;
    const taken = (await completeIn(store, root).catch(() => [])).find(
      (s) => s.requestedName === request.name,
    );
    if (taken && taken.source.volumeId !== request.source.volumeId) {
      throw new WarrenError(
        'AlreadyExists',
        `snapshot name ${quote(request.name)} is taken by snapshot ${quote(taken.snapshotId)} of volume ${quote(taken.source.volumeId)}`,
      );
    }
  }
}

/** The source volume's local directory, checked to follow no link; NotFound when it is gone. */
async function sourceDirectory(store: VolumeStore, from: VolumeLocation): Promise<string> {
  const share = await openShare(store, from.server, from.share);
  await store.backend.checkPathBelow(share.root, from.subDir);
  if (!(await store.backend.exists(share.root, from.subDir))) {
    throw notFound(
      `the source volume's directory ${quote(from.subDir)} on ${from.server}:${from.share} is gone; nothing to snapshot`,
    );
  }
  return posix.join(share.root, from.subDir);
}

/** Deletes a snapshot: idempotent; only what Warren recorded taking is removed (release.ts). */
export async function deleteSnapshot(
  store: VolumeStore,
  snapshotId: string,
): Promise<'deleted' | 'missing' | { notOurs: string }> {
  const at = await resolve(store, snapshotId);
  if (!at) return 'missing';
  const outcome = await releaseSnapshot(store, at);
  return outcome.result === 'not-ours' ? { notOurs: outcome.why } : outcome.result;
}
