import { describe, expect, it } from 'vitest';
import type { OnDelete, VolumeLocation } from '../../src/provisioning/types.ts';
import {
  encodeVolumeId,
  locationDigest,
  maxVolumeIdBytes,
  parseVolumeId,
} from '../../src/provisioning/volume-id.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const location: VolumeLocation = { server: 'nfs.example.com', share: '/export', subDir: 'ns-a/data' };
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('encodeVolumeId', () => {
  it.each<[VolumeLocation, OnDelete, string]>([
    [location, 'delete', '1#d#nfs.example.com#/export#ns-a/data'],
    [{ server: 'srv', share: '/ex#port%', subDir: 'a#b%c' }, 'archive', '1#a#srv#/ex%23port%25#a%23b%25c'],
    [{ server: '[fd00::1]', share: '/', subDir: 'x' }, 'retain', '1#r#[fd00::1]#/#x'],
    [{ server: '10.0.0.5', share: '/données', subDir: '日本/é' }, 'delete', '1#d#10.0.0.5#/données#日本/é'],
  ])('encodes %j with %s as %s', (loc, onDelete, expected) => {
    expect(encodeVolumeId(loc, onDelete)).toBe(expected);
    expect(parseVolumeId(expected)).toEqual({ form: 'location', location: loc, onDelete });
  });

  it('uses the compact form up to exactly 128 bytes and the digest form beyond', () => {
    const prefix = '1#d#nfs.example.com#/export#';
    const fits = { ...location, subDir: 'x'.repeat(maxVolumeIdBytes - prefix.length) };
    const over = { ...location, subDir: 'x'.repeat(maxVolumeIdBytes - prefix.length + 1) };
    expect(encodeVolumeId(fits, 'delete')).toBe(prefix + fits.subDir);
    expect(bytes(encodeVolumeId(fits, 'delete'))).toBe(128);
    expect(encodeVolumeId(over, 'delete')).toBe(`2#d#${locationDigest(over)}`);
  });

  it('counts bytes, not characters, and escapes before measuring', () => {
    const prefix = '1#d#nfs.example.com#/export#';
    const unicode = { ...location, subDir: 'é'.repeat(50) }; // 100 bytes: 128 in total
    const escaped = { ...location, subDir: '#'.repeat(34) }; // 102 escaped bytes: over
    expect(encodeVolumeId(unicode, 'delete')).toBe(prefix + unicode.subDir);
    expect(encodeVolumeId({ ...location, subDir: `${'é'.repeat(50)}a` }, 'delete')).toMatch(/^2#d#/);
    expect(encodeVolumeId(escaped, 'delete')).toMatch(/^2#d#[A-Za-z0-9_-]{32}$/);
  });

  it.each<[string, VolumeLocation, string]>([
    ['climbing subDir', { ...location, subDir: '../x' }, '"../x"'],
    ['absolute subDir', { ...location, subDir: '/x' }, '"/x"'],
    ['reserved subDir', { ...location, subDir: '.warren/index' }, '".warren"'],
    ['relative share', { ...location, share: 'export' }, '"export"'],
    ['unnormalised share', { ...location, share: '/export/' }, 'not normalised'],
    ['server with #', { ...location, server: 'a#b' }, '"a#b"'],
  ])('refuses to encode a %s', (_name, loc, fragment) => {
    expectWarrenError(() => encodeVolumeId(loc, 'delete'), 'InvalidArgument', fragment);
  });

  it('refuses an unknown onDelete', () => {
    expectWarrenError(() => encodeVolumeId(location, 'shred' as OnDelete), 'InvalidArgument', '"shred"');
  });
});

describe('locationDigest', () => {
  it('is 32 base64url characters, stable, and separates fields', () => {
    const digest = locationDigest(location);
    expect(digest).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(locationDigest({ ...location })).toBe(digest);
    const moved = { server: 'nfs.example.com', share: '/export/ns-a', subDir: 'data' };
    expect(locationDigest(moved)).not.toBe(digest);
  });
});

// A small deterministic generator so failures are reproducible.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function generatedLocation(next: () => number): VolumeLocation {
  const alphabet = ['a', 'Z', '9', '-', '_', '.', '#', '%', '%2', '%25', 'é', '日本', '😀', ' ', '=', ':'];
  const segment = () => {
    const length = 1 + Math.floor(next() * (next() < 0.1 ? 120 : 12));
    let text = '';
    while (text.length < length) text += alphabet[Math.floor(next() * alphabet.length)];
    return text === '.' || text === '..' || text === '.warren' ? `${text}x` : text;
  };
  const segments = (count: number) => Array.from({ length: count }, segment);
  const servers = ['nfs', 'nfs.example.com', '10.1.2.3', '[fd00::1]', `${'a'.repeat(60)}.example.org`];
  return {
    server: servers[Math.floor(next() * servers.length)] ?? 'nfs',
    share: next() < 0.1 ? '/' : `/${segments(1 + Math.floor(next() * 3)).join('/')}`,
    subDir: segments(1 + Math.floor(next() * 4)).join('/'),
  };
}

describe('round trip', () => {
  it('gives back every generated location (or its digest) and stays within 128 bytes', () => {
    const next = random(42);
    const onDeletes: OnDelete[] = ['delete', 'retain', 'archive'];
    let compact = 0;
    for (let i = 0; i < 2000; i++) {
      const loc = generatedLocation(next);
      const onDelete = onDeletes[i % 3] ?? 'delete';
      const id = encodeVolumeId(loc, onDelete);
      expect(bytes(id)).toBeLessThanOrEqual(maxVolumeIdBytes);
      const parsed = parseVolumeId(id);
      if (parsed.form === 'location') {
        compact++;
        expect(parsed).toEqual({ form: 'location', location: loc, onDelete });
      } else {
        expect(parsed).toEqual({ form: 'digest', digest: locationDigest(loc), onDelete });
      }
    }
    // Both forms are exercised.
    expect(compact).toBeGreaterThan(200);
    expect(compact).toBeLessThan(1800);
  });
});

describe('parseVolumeId', () => {
  it('parses a digest id', () => {
    const digest = 'abcdefghijklmnopqrstuvwxyz012-_9';
    expect(parseVolumeId(`2#r#${digest}`)).toEqual({ form: 'digest', digest, onDelete: 'retain' });
  });

  it.each<[string, string, string]>([
    ['empty', '', 'not a Warren volume id'],
    ['csi-driver-nfs handle', 'nfs.example.com#export#pvc-1##', 'not a Warren volume id'],
    ['version 0', '0#d#srv#/e#a', 'not a Warren volume id'],
    ['version 3', '3#d#abc', 'not a Warren volume id'],
    ['unknown onDelete code', '1#x#srv#/e#a', 'onDelete code "x"'],
    ['upper-case onDelete code', '1#D#srv#/e#a', 'onDelete code "D"'],
    ['too few fields', '1#d#srv#/e', 'malformed'],
    ['too many fields', '1#d#srv#/e#a#b', 'malformed'],
    ['empty server', '1#d##/e#a', 'server is empty'],
    ['empty share', '1#d#srv##a', 'share is empty'],
    ['empty subDir', '1#d#srv#/e#', 'subDir is empty'],
    ['relative share', '1#d#srv#export#a', '"export"'],
    ['share with ..', '1#d#srv#/e/../etc#a', '".."'],
    ['unnormalised share', '1#d#srv#/e/#a', 'not normalised'],
    ['share with //', '1#d#srv#/e//f#a', 'not normalised'],
    ['subDir with ..', '1#d#srv#/e#../a', '"../a"'],
    ['subDir with .', '1#d#srv#/e#a/./b', '"."'],
    ['absolute subDir', '1#d#srv#/e#/a', '"/a"'],
    ['subDir in reserved dir', '1#d#srv#/e#.warren/index', '".warren"'],
    ['share root as subDir', '1#d#srv#/e#.', '"."'],
    ['NUL in subDir', '1#d#srv#/e#a\0b', 'NUL'],
    ['truncated escape', '1#d#srv#/e#a%2', 'invalid escape "%2"'],
    ['lone %', '1#d#srv#/e#a%', 'invalid escape "%"'],
    ['unknown escape', '1#d#srv#/e#a%41', 'invalid escape "%41"'],
    ['escaped slash', '1#d#srv#/e%2F#a', 'invalid escape "%2F"'],
    ['lower-case escape', '1#d#srv#/e#a%2f', 'invalid escape "%2f"'],
    ['escaped # in server', '1#d#a%23b#/e#x', '"a#b"'],
    ['server with space', '1#d#sr v#/e#a', '"sr v"'],
    ['oversized', `1#d#srv#/e#${'x'.repeat(118)}`, 'longer than 128 bytes'],
    ['oversized by unicode', `1#d#srv#/e#${'é'.repeat(60)}`, 'longer than 128 bytes'],
    ['short digest', '2#d#abc', 'malformed'],
    ['digest with +', `2#d#${'+'.repeat(32)}`, 'malformed'],
    ['digest with extra field', `2#d#${'a'.repeat(32)}#x`, 'malformed'],
  ])('rejects %s', (_name, id, fragment) => {
    expectWarrenError(() => parseVolumeId(id), 'InvalidArgument', fragment);
  });
});
