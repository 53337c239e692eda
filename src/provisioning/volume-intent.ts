// A volume decided but perhaps not yet made: recorded on the claim before the directory is
// created, so a restarted controller finishes (or cleans up) exactly what it started.
import { invalidArgument } from '../errors.ts';
import { renderSubDir } from './template.ts';
import type { ClaimFacts, ClassParameters, OnDelete, VolumeLocation } from './types.ts';
import { encodeVolumeId, parseVolumeId } from './volume-id.ts';

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

/** Parses and re-validates a recorded intent: annotations can be edited by anyone with access to the claim. */
export function parseIntent(text: string): VolumeIntent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalidArgument(`the recorded intent is not JSON: ${text.slice(0, 200)}`);
  }
  const r = raw as Partial<VolumeIntent>;
  if (typeof r.volumeId !== 'string' || typeof r.mode !== 'number' || !r.location) {
    throw invalidArgument(`the recorded intent is incomplete: ${text.slice(0, 200)}`);
  }
  const parsed = parseVolumeId(r.volumeId);
  const location: VolumeLocation = { server: String(r.location.server), share: String(r.location.share), subDir: String(r.location.subDir) };
  if (encodeVolumeId(location, parsed.onDelete) !== r.volumeId) {
    throw invalidArgument(`the recorded intent's location does not match its volume id ${r.volumeId}`);
  }
  return {
    volumeId: r.volumeId,
    location,
    onDelete: parsed.onDelete,
    mode: r.mode,
    ...(typeof r.uid === 'number' ? { uid: r.uid } : {}),
    ...(typeof r.gid === 'number' ? { gid: r.gid } : {}),
  };
}
