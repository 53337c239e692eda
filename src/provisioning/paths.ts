// Rules for where volumes live: servers, shares, subDirs, and their place under a controller's mounts.
import { isIPv4, isIPv6 } from 'node:net';
import { posix } from 'node:path';
import { failedPrecondition, invalidArgument } from '../errors.ts';
import { byteLength, hasControlCharacter, quote } from '../text.ts';
import { reservedDirName } from './names.ts';
import type { ShareMount } from './types.ts';

export const maxSegmentBytes = 255;
export const maxRelativePathBytes = 1024;
export const maxShareBytes = 1024;
const maxServerLength = 253;
const hostnameLabel = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** Accepts a hostname, an IPv4 address or a bracketed IPv6 address; returns it unchanged. */
export function checkServer(server: string, what: string): string {
  const fail = (why: string) => invalidArgument(`${what} ${quote(server)} ${why}`);
  if (server === '') {
    throw invalidArgument(`${what} is empty; set it to the NFS server's hostname or address`);
  }
  if (server.length > maxServerLength) throw fail(`is longer than ${maxServerLength} characters`);
  const bad = /[\s/#%]/.exec(server);
  if (bad) throw fail(`must not contain ${quote(bad[0])}; give only a hostname or address, no path or port`);
  if (server.startsWith('[')) {
    if (server.endsWith(']') && isIPv6(server.slice(1, -1))) return server;
    throw fail('is not a valid bracketed IPv6 address such as [fd00::1]');
  }
  if (isIPv6(server)) throw fail(`is an IPv6 address; write it in brackets: [${server}]`);
  if (/^[0-9.]+$/.test(server)) {
    if (isIPv4(server)) return server;
    throw fail('is not a valid IPv4 address');
  }
  if (!server.split('.').every((label) => hostnameLabel.test(label))) {
    throw fail(
      'is not a valid hostname (letters, digits, "-", "_" and dots between labels of 1-63 characters)',
    );
  }
  return server;
}

/** Checks an absolute export path and returns it normalised (`//` collapsed, no trailing `/`). */
export function normaliseShare(share: string, what: string): string {
  const fail = (why: string) => invalidArgument(`${what} ${quote(share)} ${why}`);
  if (share === '') throw invalidArgument(`${what} is empty; set it to the exported path, e.g. /export`);
  if (!share.startsWith('/')) throw fail('must be an absolute path starting with "/"');
  if (hasControlCharacter(share)) throw fail('must not contain NUL or other control characters');
  const segments = share.split('/').filter((segment) => segment !== '');
  for (const segment of segments) {
    if (segment === '.' || segment === '..') throw fail(`must not contain a ${quote(segment)} segment`);
    if (byteLength(segment) > maxSegmentBytes) {
      throw fail(`has segment ${quote(segment)} longer than ${maxSegmentBytes} bytes`);
    }
  }
  const normalised = `/${segments.join('/')}`;
  if (byteLength(normalised) > maxShareBytes) throw fail(`is longer than ${maxShareBytes} bytes`);
  return normalised;
}

/**
 * Checks a volume's directory relative to its share: not empty, relative, no empty/`.`/`..` segments,
 * no control characters, segments <= 255 bytes, total <= 1024 bytes, not inside the reserved directory.
 */
export function checkSubDir(subDir: string, what: string, context?: string): string {
  const where = context ? ` (${context})` : '';
  const fail = (why: string) => invalidArgument(`${what} ${quote(subDir)}${where} ${why}`);
  if (subDir === '') throw invalidArgument(`${what}${where} is empty`);
  if (subDir.startsWith('/')) throw fail('must be relative to the share, not start with "/"');
  if (hasControlCharacter(subDir)) throw fail('must not contain NUL or other control characters');
  if (byteLength(subDir) > maxRelativePathBytes) throw fail(`is longer than ${maxRelativePathBytes} bytes`);
  const segments = subDir.split('/');
  for (const segment of segments) {
    if (segment === '') throw fail('must not contain an empty segment ("//" or a trailing "/")');
    if (segment === '.' || segment === '..') throw fail(`must not contain a ${quote(segment)} segment`);
    if (byteLength(segment) > maxSegmentBytes) {
      throw fail(
        `has segment ${quote(segment)} of ${byteLength(segment)} bytes; the limit is ${maxSegmentBytes}`,
      );
    }
  }
  if (segments[0] === reservedDirName) {
    throw fail(`must not start with ${quote(reservedDirName)}; Warren keeps its records there`);
  }
  return subDir;
}

/** Parses one `--share SERVER:PATH=LOCALDIR` flag (IPv6 servers in brackets). */
export function parseShareFlag(value: string): ShareMount {
  const usage =
    'expected SERVER:PATH=LOCALDIR, e.g. nfs.example.com:/export=/mnt/export or [fd00::1]:/export=/mnt/export';
  const fail = (why: string) => invalidArgument(`--share ${quote(value)}: ${why}; ${usage}`);
  const bracketed = value.startsWith('[');
  const serverEnd = bracketed ? value.indexOf(']') + 1 : value.indexOf(':');
  if (bracketed && serverEnd === 0) throw fail('"[" around the IPv6 server is not closed');
  if (serverEnd === -1) throw fail('no ":" between the server and the exported path');
  if (serverEnd === 0) throw fail('no server before ":"');
  if (value[serverEnd] !== ':') throw fail('the server must be followed by ":" and the exported path');
  const rest = value.slice(serverEnd + 1);
  const parts = rest.split('=');
  if (parts.length !== 2) throw fail(parts.length < 2 ? 'no "=LOCALDIR"' : 'more than one "="');
  const [sharePart = '', localPart = ''] = parts;
  const server = checkServer(value.slice(0, serverEnd), `--share ${quote(value)}: server`);
  const share = normaliseShare(sharePart, `--share ${quote(value)}: exported path`);
  const localDir = normaliseShare(localPart, `--share ${quote(value)}: local directory`);
  return { server, share, localDir };
}

const isUnder = (child: string, parent: string) =>
  child === parent || parent === '/' || child.startsWith(`${parent}/`);

/** The local directory where `server:share` is reachable, through the `--share` mount covering it most closely. */
export function localRootFor(shares: ShareMount[], server: string, share: string): string {
  const wanted = normaliseShare(share, 'share');
  let best: ShareMount | undefined;
  for (const mount of shares) {
    if (mount.server.toLowerCase() !== server.toLowerCase() || !isUnder(wanted, mount.share)) continue;
    if (!best || mount.share.length > best.share.length) best = mount;
  }
  if (!best) {
    throw failedPrecondition(
      `no --share flag covers ${server}:${wanted}; start the controller with --share ${server}:${wanted}=/some/local/dir ` +
        `and mount that export there (configured: ${shares.map((m) => `${m.server}:${m.share}`).join(', ') || 'none'})`,
    );
  }
  const remainder = posix.relative(best.share, wanted);
  return remainder === '' ? best.localDir : posix.join(best.localDir, remainder);
}

/** root/subDir, verified to lie strictly inside root. */
export function volumePathIn(localRoot: string, subDir: string): string {
  checkSubDir(subDir, 'subDir');
  const root = posix.resolve(localRoot);
  const joined = posix.resolve(root, subDir);
  const relative = posix.relative(root, joined);
  if (relative === '' || relative === '..' || relative.startsWith('../') || posix.isAbsolute(relative)) {
    throw invalidArgument(`subDir ${quote(subDir)} does not lie inside ${quote(localRoot)}`);
  }
  return joined;
}
