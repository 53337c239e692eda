// A volume decided but perhaps not yet made: recorded on the claim before the directory is
// created, so a restarted controller finishes (or cleans up) exactly what it started.
// The record is only ever compared with a fresh plan, never trusted on its own: anyone who
// can edit the claim can edit its annotations.
import { renderSubDir } from './template.ts';
import type { ClaimFacts, ClassParameters, OnDelete, VolumeLocation } from './types.ts';
import { encodeVolumeId } from './volume-id.ts';

export interface VolumeIntent {
  volumeId: string;
  location: VolumeLocation;
  onDelete: OnDelete;
  mode: number;
  uid?: number;
  gid?: number;
}

export function planVolume(params: ClassParameters, claim: ClaimFacts, pvName: string): VolumeIntent {
  const location: VolumeLocation = {
    server: params.server,
    share: params.share,
    subDir: renderSubDir(params.subDir, claim, pvName),
  };
  return {
    volumeId: encodeVolumeId(location, params.onDelete),
    location,
    onDelete: params.onDelete,
    mode: params.mode,
    ...(params.uid === undefined ? {} : { uid: params.uid }),
    ...(params.gid === undefined ? {} : { gid: params.gid }),
  };
}

export function serializeIntent(intent: VolumeIntent): string {
  return JSON.stringify(intent);
}
