// Snapshot records: what Warren knows of a snapshot it takes, in the share's record index
// (`.warren/index/snap-<digest>.json`, next to the ownership records). The record is written before
// the snapshot's entry is made, so it is Warren's durable word that it made that entry for that
// very snapshot id: release.ts removes an entry only while this record names it (ownership rule).
import type { DirectoryBackend } from './directory-backend.ts';
import { encodeSnapshotId, type SnapshotLocation, snapshotDigest } from './snapshot-id.ts';
import type { VolumeLocation } from './types.ts';

export interface SnapshotSource {
  volumeId: string;
  location: VolumeLocation;
}

/** What the copy found; written when the copy is complete, before its entry is renamed into place. */
export interface SnapshotResult {
  /** When the copy completed (the snapshot's creation time). */
  createdAt: string;
  /** Apparent size of its regular files: what a restore needs (CSI size_bytes, restoreSize). */
  sizeBytes: number;
  /** Bytes of file data this snapshot wrote; files linked to an earlier snapshot cost none. */
  storedBytes: number;
  files: number;
  /** Files hard-linked to the earlier snapshot `basedOn` (unchanged since it). */
  linkedFiles: number;
  basedOn?: string;
}

export interface SnapshotRecord {
  snapshotId: string;
  location: SnapshotLocation;
  /** The name it was asked for by (a CSI CreateSnapshot name, a VolumeSnapshotContent name). */
  requestedName: string;
  source: SnapshotSource;
  startedAt: string;
  result?: SnapshotResult;
}

export const snapshotRecordKey = (digest: string): string => `snap-${digest}`;

function isRecord(value: unknown, digest: string): value is SnapshotRecord {
  const r = value as Partial<SnapshotRecord> | undefined;
  if (!r || typeof r.snapshotId !== 'string' || typeof r.requestedName !== 'string') return false;
  if (!r.location || typeof r.location.name !== 'string') return false;
  if (!r.source || typeof r.source.volumeId !== 'string' || !r.source.location) return false;
  try {
    return snapshotDigest(r.location) === digest && encodeSnapshotId(r.location) === r.snapshotId;
  } catch {
    return false;
  }
}

/** The record of the snapshot with this digest; undefined when there is none or it is not Warren's shape. */
export async function readSnapshotRecord(
  backend: DirectoryBackend,
  recordRoot: string,
  digest: string,
): Promise<SnapshotRecord | undefined> {
  const value = await backend.getRecord(recordRoot, snapshotRecordKey(digest));
  return isRecord(value, digest) ? value : undefined;
}

/** Before removing a snapshot's entries: did Warren record taking that very snapshot? */
export function judgeSnapshotOwnership(
  record: SnapshotRecord | undefined,
  snapshotId: string,
): { owned: true } | { owned: false; why: string } {
  if (!record) return { owned: false, why: 'Warren holds no record of taking this snapshot' };
  if (record.snapshotId !== snapshotId) {
    return { owned: false, why: `the record names another snapshot (${record.snapshotId})` };
  }
  return { owned: true };
}
