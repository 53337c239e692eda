// A volume decided but perhaps not yet made: recorded on the claim before the directory is
// created, so a restarted controller finishes (or cleans up) exactly what it started.
// The record is only ever compared with a fresh plan, never trusted on its own: anyone who
// can edit the claim can edit its annotations.
import { renderSubDir } from './template.ts';
import type { ClaimFacts, ClassParameters, OnDelete, VolumeLocation } from './types.ts';
import { encodeVolume, type VolumeIdForm } from './volume-id.ts';

export interface VolumeIntent {
  volumeId: string;
  /** How the id names the volume: a digest id needs the share's location record to be found again. */
  idForm: VolumeIdForm;
  location: VolumeLocation;
  onDelete: OnDelete;
  mode: number;
  uid?: number;
  gid?: number;
}

export function volumeIntentFor(params: ClassParameters, claim: ClaimFacts, pvName: string): VolumeIntent {
  const location: VolumeLocation = {
    server: params.server,
    share: params.share,
    subDir: renderSubDir(params.subDir, claim, pvName),
  };
  const { volumeId, form } = encodeVolume(location, params.onDelete);
  return {
    volumeId,
    idForm: form,
    location,
    onDelete: params.onDelete,
    mode: params.mode,
    ...(params.uid === undefined ? {} : { uid: params.uid }),
    ...(params.gid === undefined ? {} : { gid: params.gid }),
  };
}

/** The annotation's text: the fields a restarted controller compares (the id's form follows from the id). */
export function serializeIntent(intent: VolumeIntent): string {
  const { volumeId, location, onDelete, mode, uid, gid } = intent;
  return JSON.stringify({
    volumeId,
    location,
    onDelete,
    mode,
    ...(uid === undefined ? {} : { uid }),
    ...(gid === undefined ? {} : { gid }),
  });
}
