// The snapshot handle: exact encodings and refusals, and properties: whatever the input, a handle
// is refused with InvalidArgument or names an entry directly inside the share's snapshot area.
import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WarrenError } from '../../src/errors.ts';
import {
  snapshotAreaSegments,
  snapshotEntry,
  snapshotEntryPath,
} from '../../src/provisioning/snapshot-area.ts';
import {
  checkSnapshotName,
  encodeSnapshotId,
  parseSnapshotId,
  snapshotDigest,
  snapshotNameFor,
} from '../../src/provisioning/snapshot-id.ts';
import { expectWarrenError } from './expect-warren-error.ts';

const root = '/mnt/export';
const area = posix.join(root, ...snapshotAreaSegments);
const runs = { numRuns: 2000 };
const at = { server: '127.0.0.1', share: '/export', name: 'snapshot-1' };

describe('snapshot ids', () => {
  it.each([
    [at, 's1#127.0.0.1#/export#snapshot-1'],
    [{ ...at, share: '/ex#p%rt' }, 's1#127.0.0.1#/ex%23p%25rt#snapshot-1'],
    [{ ...at, server: '[fd00::1]' }, 's1#[fd00::1]#/export#snapshot-1'],
    [
      { ...at, share: `/${'x'.repeat(120)}` },
      `s2#${snapshotDigest({ ...at, share: `/${'x'.repeat(120)}` })}`,
    ],
  ])('encodes %j as %s and parses it back', (location, id) => {
    expect(encodeSnapshotId(location)).toBe(id);
    const parsed = parseSnapshotId(id);
    expect(parsed).toEqual(
      id.startsWith('s2#') ? { form: 'digest', digest: id.slice(3) } : { form: 'location', location },
    );
  });

  it.each([
    ['', 'is not a Warren snapshot id'],
    ['1#d#127.0.0.1#/export#sub', 'is not a Warren snapshot id'],
    ['s1#127.0.0.1#/export', 'is malformed'],
    ['s1#127.0.0.1#/export#a#b', 'is malformed'],
    ['s1#127.0.0.1#/export#..', 'name ".." must be'],
    ['s1#127.0.0.1#/export#.hidden', 'must be'],
    ['s1#127.0.0.1#/export#a/b', 'must be'],
    ['s1#127.0.0.1#/export#', 'must be'],
    ['s1#127.0.0.1#/export/#snap', 'is not normalised'],
    ['s1#127.0.0.1#/a/../b#snap', 'must not contain a ".." segment'],
    ['s1#127.0.0.1#/export%2f#snap', 'invalid escape'],
    ['s1#host/x#/export#snap', 'must not contain "/"'],
    ['s2#short', 'is malformed'],
    ['s2#0123456789abcdef0123456789abcdef#x', 'is malformed'],
    [`s1#127.0.0.1#/export#${'a'.repeat(130)}`, 'is longer than 128 bytes'],
  ])('refuses %j (%s)', (id, fragment) => {
    expectWarrenError(() => parseSnapshotId(id), 'InvalidArgument', fragment);
  });

  it.each([
    ['snapshot-0e1f', 'snapshot-0e1f'],
    ['snapcontent-1234.v2_x', 'snapcontent-1234.v2_x'],
    ['.hidden', 'n_'],
    ['a/b', 'n_'],
    ['x'.repeat(65), 'n_'],
    ['-leading', 'n_'],
  ])('gives %j the name %s on the share', (requested, expected) => {
    const name = snapshotNameFor(requested);
    if (expected.startsWith('n_')) {
      expect(name).toMatch(/^n_[A-Za-z0-9_-]{32}$/);
      expect(snapshotNameFor(requested)).toBe(name);
    } else expect(name).toBe(expected);
    expect(checkSnapshotName(name)).toBe(name);
  });
});

/** Text that leans on the characters path rules are about. */
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom('/', '.', '..', '%', '#', '%23', '%25', '\u0000', '\n', ' ', '.warren', 'é', 's1', 's2'),
    fc.string({ minLength: 1, maxLength: 3 }),
  ),
  maxLength: 12,
});

/** Refused with InvalidArgument, or an entry `snap-<digest>` directly inside the area. */
function expectInsideArea(id: string): void {
  let parsed: ReturnType<typeof parseSnapshotId>;
  try {
    parsed = parseSnapshotId(id);
  } catch (err) {
    expect(err).toBeInstanceOf(WarrenError);
    expect((err as WarrenError).kind).toBe('InvalidArgument');
    return;
  }
  const entry = parsed.form === 'location' ? snapshotEntry(parsed.location, 'snap') : `snap-${parsed.digest}`;
  const path = snapshotEntryPath(root, entry);
  expect(posix.dirname(path)).toBe(area);
  expect(posix.basename(path)).toMatch(/^snap-[A-Za-z0-9_-]{32}$/);
  if (parsed.form === 'location') {
    expect(parsed.location.name).not.toMatch(/[/]|^\.|^$/);
    expect(encodeSnapshotId(parsed.location)).toBe(id);
  }
}

describe('snapshot id properties', () => {
  it('parseSnapshotId: any id is refused or names an entry inside the snapshot area', () => {
    const ids = fc.oneof(
      tricky,
      fc
        .tuple(fc.constantFrom('s1', 's2', 's3', '1'), tricky, tricky, tricky)
        .map(([v, server, share, name]) => [v, server, share, name].join('#')),
      fc.tuple(tricky, tricky).map(([share, name]) => `s1#nfs.example.com#/${share}#${name}`),
      tricky.map((digest) => `s2#${digest}`),
    );
    fc.assert(fc.property(ids, expectInsideArea), runs);
  });

  it('any requested name gives a valid name on the share, and its id parses back', () => {
    fc.assert(
      fc.property(fc.oneof(tricky, fc.string({ maxLength: 200 })), (requested) => {
        if (requested === '') return;
        const name = snapshotNameFor(requested);
        expect(checkSnapshotName(name)).toBe(name);
        const id = encodeSnapshotId({ server: 'nfs.example.com', share: '/export', name });
        expectInsideArea(id);
      }),
      runs,
    );
  });
});
