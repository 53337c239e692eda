// What the CSI Controller remembers per volume name, so CreateVolume is idempotent by name and
// ControllerExpandVolume can record a new size. Two small records in the share's record index
// (`.warren/index/` at the top of the configured mount, next to the digest-id records):
//   csi-name-<sha256(name)>        { name, volumeId, capacityBytes, parameters }
//   csi-volume-<sha256(volumeId)>  { name }   (the way back from a volume id to its name)
// The PVC controller does not use them: a claim already carries its own record.
import { createHash } from 'node:crypto';
import type { ClassParameters } from '../provisioning/types.ts';
import type { VolumeStore } from '../provisioning/volume-directory.ts';

export interface NameRecord {
  name: string;
  volumeId: string;
  /** Decimal string: int64 does not fit a JSON number. */
  capacityBytes: string;
  parameters: ClassParameters;
}

const digest = (text: string) => createHash('sha256').update(text).digest('base64url');
export const nameRecordKey = (name: string) => `csi-name-${digest(name)}`;
export const volumeLinkKey = (volumeId: string) => `csi-volume-${digest(volumeId)}`;

function asNameRecord(value: unknown, name: string): NameRecord | undefined {
  const record = value as Partial<NameRecord> | undefined;
  if (
    record?.name !== name ||
    typeof record.volumeId !== 'string' ||
    typeof record.capacityBytes !== 'string' ||
    !/^\d+$/.test(record.capacityBytes) ||
    typeof record.parameters !== 'object' ||
    record.parameters === null
  ) {
    return undefined;
  }
  return record as NameRecord;
}

export async function readNameRecord(
  store: VolumeStore,
  root: string,
  name: string,
): Promise<NameRecord | undefined> {
  return asNameRecord(await store.backend.getRecord(root, nameRecordKey(name)), name);
}

/** Writes the name record and its back-link (link first: a name record is never unreachable). */
export async function writeNameRecord(store: VolumeStore, root: string, record: NameRecord): Promise<void> {
  await store.backend.putRecord(root, volumeLinkKey(record.volumeId), { name: record.name });
  await store.backend.putRecord(root, nameRecordKey(record.name), record);
}

/** The name record of a volume id, through the back-link; undefined if either is gone or they disagree. */
export async function nameRecordOfVolume(
  store: VolumeStore,
  root: string,
  volumeId: string,
): Promise<NameRecord | undefined> {
  const link = (await store.backend.getRecord(root, volumeLinkKey(volumeId))) as
    | { name?: unknown }
    | undefined;
  if (typeof link?.name !== 'string') return undefined;
  const record = await readNameRecord(store, root, link.name);
  return record?.volumeId === volumeId ? record : undefined;
}

/** Drops both records of a deleted volume. A name record now naming another volume is left alone. */
export async function forgetVolumeName(store: VolumeStore, root: string, volumeId: string): Promise<void> {
  const record = await nameRecordOfVolume(store, root, volumeId);
  if (record) await store.backend.deleteRecord(root, nameRecordKey(record.name));
  await store.backend.deleteRecord(root, volumeLinkKey(volumeId));
}
