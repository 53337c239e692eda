// The snapshot handle (CSI snapshot_id, a VolumeSnapshotContent's snapshotHandle) and where it
// points. A snapshot lives on the share of its source volume, in the reserved area at the top of
// the configured mount, `<mount>/.warren/snapshots/snap-<digest>`: the entry's name is derived from
// the digest, never taken from input, so no handle can point anywhere else. CSI caps handles at 128 bytes:
//   s1#<server>#<share>#<name>   share %-escaped (% -> %25, # -> %23); server and name need no escaping
//   s2#<first 32 chars of base64url(sha256("snapshot" \0 server \0 share \0 name))>
// A digest handle is resolved through the snapshot's record (snapshot-records.ts), whose key is the
// same digest, looked up in every configured share.
import { createHash } from 'node:crypto';
import { invalidArgument } from '../errors.ts';
import { byteLength, quote } from '../text.ts';
import { checkServer, normaliseShare } from './paths.ts';

/** Where a snapshot lives: the share (as its source volume names it) and its name in the snapshot area. */
export interface SnapshotLocation {
  server: string;
  share: string;
  /** One path segment: see checkSnapshotName. */
  name: string;
}

export type ParsedSnapshotId =
  | { form: 'location'; location: SnapshotLocation }
  | { form: 'digest'; digest: string };

export const maxSnapshotIdBytes = 128;
/** Longest snapshot name on a share (a CSI name or VolumeSnapshotContent name that fits is kept as it is). */
export const maxSnapshotNameBytes = 64;
const digestLength = 32;
const namePattern = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

const escapeField = (field: string) => field.replaceAll('%', '%25').replaceAll('#', '%23');

function unescapeField(field: string, id: string): string {
  return field.replaceAll(/%(.{0,2})/gs, (sequence: string, code: string) => {
    if (code === '25') return '%';
    if (code === '23') return '#';
    throw invalidArgument(
      `snapshot id ${quote(id)}: share has invalid escape ${quote(sequence)}; only %25 and %23 are used`,
    );
  });
}

/**
 * A snapshot's name on the share: 1-64 characters of A-Z a-z 0-9 `_` `.` `-`, not starting with
 * `.` or `-`. So it is never `.` or `..`, never holds a `/`, and never collides with the area's
 * temporary entries (which start with `.`).
 */
export function checkSnapshotName(name: string, what = 'snapshot name'): string {
  if (!namePattern.test(name) || byteLength(name) > maxSnapshotNameBytes) {
    throw invalidArgument(
      `${what} ${quote(name)} must be 1-${maxSnapshotNameBytes} characters of A-Z, a-z, 0-9, "_", "." and "-", starting with a letter, digit or "_"`,
    );
  }
  return name;
}

/**
 * The name on the share for a requested name (a CSI CreateSnapshot name, a VolumeSnapshotContent
 * name): the name itself when it is a valid snapshot name, else `n_` and a digest of it. The
 * requested name is kept in the snapshot's record, so two names never share a snapshot.
 */
export function snapshotNameFor(requested: string): string {
  if (requested === '') throw invalidArgument('snapshot name is empty');
  if (namePattern.test(requested) && byteLength(requested) <= maxSnapshotNameBytes) return requested;
  return `n_${createHash('sha256').update(requested).digest('base64url').slice(0, digestLength)}`;
}

function checkLocation(location: SnapshotLocation, what: string): SnapshotLocation {
  checkServer(location.server, `${what} server`);
  if (normaliseShare(location.share, `${what} share`) !== location.share) {
    throw invalidArgument(
      `${what} share ${quote(location.share)} is not normalised (no "//", no trailing "/")`,
    );
  }
  checkSnapshotName(location.name, `${what} name`);
  return location;
}

/** The digest of a snapshot's location: the tail of a digest handle, its record's key and its entry's name. */
export function snapshotDigest(location: SnapshotLocation): string {
  return createHash('sha256')
    .update(`snapshot\0${location.server}\0${location.share}\0${location.name}`)
    .digest('base64url')
    .slice(0, digestLength);
}

export function encodeSnapshotId(location: SnapshotLocation): string {
  checkLocation(location, 'snapshot');
  const compact = ['s1', location.server, escapeField(location.share), location.name].join('#');
  if (byteLength(compact) <= maxSnapshotIdBytes) return compact;
  return `s2#${snapshotDigest(location)}`;
}

export function parseSnapshotId(id: string): ParsedSnapshotId {
  const fail = (why: string) => invalidArgument(`snapshot id ${quote(id)} ${why}`);
  if (byteLength(id) > maxSnapshotIdBytes) throw fail(`is longer than ${maxSnapshotIdBytes} bytes`);
  const fields = id.split('#');
  const [version] = fields;
  if (version === 's2') {
    const digest = fields[1] ?? '';
    if (fields.length !== 2 || !/^[A-Za-z0-9_-]{32}$/.test(digest)) {
      throw fail(`is malformed; expected s2#<${digestLength} base64url characters>`);
    }
    return { form: 'digest', digest };
  }
  if (version !== 's1') {
    throw fail('is not a Warren snapshot id (expected it to start with "s1#" or "s2#")');
  }
  if (fields.length !== 4) throw fail('is malformed; expected s1#<server>#<share>#<name>');
  const [, server = '', share = '', name = ''] = fields;
  const location = { server, share: unescapeField(share, id), name };
  checkLocation(location, `snapshot id ${quote(id)}:`);
  return { form: 'location', location };
}
