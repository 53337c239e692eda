// The CSI volume handle. CSI caps it at 128 bytes, and DeleteVolume receives nothing else, so it carries
// the location when that fits and otherwise a digest that the share's record index resolves.
//   1#<d|a|r>#<server>#<share>#<subDir>   fields %-escaped (% -> %25, # -> %23)
//   2#<d|a|r>#<first 32 chars of base64url(sha256(server \0 share \0 subDir))>
import { createHash } from 'node:crypto';
import { invalidArgument } from '../errors.ts';
import { byteLength, quote } from '../text.ts';
import { checkServer, checkSubDir, normaliseShare } from './paths.ts';
import type { OnDelete, VolumeLocation } from './types.ts';

export type VolumeIdForm = 'location' | 'digest';

export type ParsedVolumeId =
  | { form: 'location'; location: VolumeLocation; onDelete: OnDelete }
  | { form: 'digest'; digest: string; onDelete: OnDelete };

export const maxVolumeIdBytes = 128;
const digestLength = 32;
const onDeleteCodes: Record<OnDelete, string> = { delete: 'd', archive: 'a', retain: 'r' };
const onDeleteByCode: Record<string, OnDelete> = { d: 'delete', a: 'archive', r: 'retain' };

const escapeField = (field: string) => field.replaceAll('%', '%25').replaceAll('#', '%23');

function unescapeField(field: string, id: string, name: string): string {
  return field.replaceAll(/%(.{0,2})/gs, (sequence: string, code: string) => {
    if (code === '25') return '%';
    if (code === '23') return '#';
    throw invalidArgument(
      `volume id ${quote(id)}: ${name} has invalid escape ${quote(sequence)}; only %25 and %23 are used`,
    );
  });
}

function checkLocation(location: VolumeLocation, what: string): VolumeLocation {
  checkServer(location.server, `${what} server`);
  if (normaliseShare(location.share, `${what} share`) !== location.share) {
    throw invalidArgument(
      `${what} share ${quote(location.share)} is not normalised (no "//", no trailing "/")`,
    );
  }
  checkSubDir(location.subDir, `${what} subDir`);
  return location;
}

/** The digest of a location: the key of its record in the share's index, and the tail of a digest-form id. */
export function locationDigest(location: VolumeLocation): string {
  return createHash('sha256')
    .update(`${location.server}\0${location.share}\0${location.subDir}`)
    .digest('base64url')
    .slice(0, digestLength);
}

/** The id of a volume, and which form it took: the location itself when it fits, else its digest. */
export function encodeVolume(
  location: VolumeLocation,
  onDelete: OnDelete,
): { volumeId: string; form: VolumeIdForm } {
  checkLocation(location, 'volume');
  const code = onDeleteCodes[onDelete];
  if (!code) {
    throw invalidArgument(`onDelete ${quote(String(onDelete))} is not one of delete, retain, archive`);
  }
  const compact = [
    '1',
    code,
    location.server,
    escapeField(location.share),
    escapeField(location.subDir),
  ].join('#');
  if (byteLength(compact) <= maxVolumeIdBytes) return { volumeId: compact, form: 'location' };
  return { volumeId: `2#${code}#${locationDigest(location)}`, form: 'digest' };
}

export const encodeVolumeId = (location: VolumeLocation, onDelete: OnDelete): string =>
  encodeVolume(location, onDelete).volumeId;

export function parseVolumeId(id: string): ParsedVolumeId {
  const fail = (why: string) => invalidArgument(`volume id ${quote(id)} ${why}`);
  if (byteLength(id) > maxVolumeIdBytes) {
    throw fail(`is longer than ${maxVolumeIdBytes} bytes`);
  }
  const fields = id.split('#');
  const [version, code = ''] = fields;
  const onDelete = Object.hasOwn(onDeleteByCode, code) ? onDeleteByCode[code] : undefined;
  if (version !== '1' && version !== '2') {
    throw fail('is not a Warren volume id (expected it to start with "1#" or "2#")');
  }
  if (!onDelete) throw fail(`has unknown onDelete code ${quote(code)}; expected d, a or r`);
  if (version === '2') {
    const digest = fields[2] ?? '';
    if (fields.length !== 3 || !/^[A-Za-z0-9_-]{32}$/.test(digest)) {
      throw fail(`is malformed; expected 2#<d|a|r>#<${digestLength} base64url characters>`);
    }
    return { form: 'digest', digest, onDelete };
  }
  if (fields.length !== 5) throw fail('is malformed; expected 1#<d|a|r>#<server>#<share>#<subDir>');
  const [, , server = '', share = '', subDir = ''] = fields;
  const location = {
    server: unescapeField(server, id, 'server'),
    share: unescapeField(share, id, 'share'),
    subDir: unescapeField(subDir, id, 'subDir'),
  };
  checkLocation(location, `volume id ${quote(id)}:`);
  return { form: 'location', location, onDelete };
}
