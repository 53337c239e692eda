// Property tests for the parsers and path rules: whatever the input, a volume's path is either
// refused with InvalidArgument or lies strictly inside its share, outside the reserved directory.
import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WarrenError } from '../../src/errors.ts';
import { archiveNameFor } from '../../src/provisioning/directory-backend.ts';
import { reservedDirName } from '../../src/provisioning/names.ts';
import { checkSubDir, volumePathIn } from '../../src/provisioning/paths.ts';
import { checkTemplate, renderSubDir } from '../../src/provisioning/template.ts';
import { encodeVolumeId, parseVolumeId } from '../../src/provisioning/volume-id.ts';
import { byteLength } from '../../src/text.ts';

const root = '/mnt/export';
const runs = { numRuns: 2000 };

/** Text that leans on the characters path rules are about. */
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      '/',
      '.',
      '..',
      '%',
      '#',
      '%2e',
      '%23',
      '%25',
      '\u0000',
      '\n',
      ' ',
      '.warren',
      'é',
      '\u202e',
    ),
    fc.string({ minLength: 1, maxLength: 3 }),
  ),
  maxLength: 12,
});

/** Either refused with InvalidArgument, or inside the share, not the share itself, not reserved. */
function expectContained(subDir: () => string): void {
  let value: string;
  try {
    value = subDir();
  } catch (err) {
    expect(err).toBeInstanceOf(WarrenError);
    expect((err as WarrenError).kind).toBe('InvalidArgument');
    return;
  }
  const path = volumePathIn(root, value);
  const relative = posix.relative(root, path);
  expect(
    relative === '' || relative === '..' || relative.startsWith('../') || posix.isAbsolute(relative),
  ).toBe(false);
  expect(relative.split('/')[0]).not.toBe(reservedDirName);
}

describe('properties', () => {
  it('checkSubDir: any string is refused or stays inside the share', () => {
    fc.assert(
      fc.property(tricky, (text) => expectContained(() => checkSubDir(text, 'subDir'))),
      runs,
    );
  });

  it('parseVolumeId: any id is refused or names a directory inside its share', () => {
    const ids = fc.oneof(
      tricky,
      fc
        .tuple(fc.constantFrom('1', '2', '3'), fc.constantFrom('d', 'a', 'r', 'x'), tricky, tricky, tricky)
        .map(([v, c, server, share, subDir]) => [v, c, server, share, subDir].join('#')),
      fc.tuple(tricky, tricky).map(([share, subDir]) => `1#d#nfs.example.com#/${share}#${subDir}`),
    );
    fc.assert(
      fc.property(ids, (id) =>
        expectContained(() => {
          const parsed = parseVolumeId(id);
          if (parsed.form === 'digest') return 'digest-form-names-no-path';
          return parsed.location.subDir;
        }),
      ),
      runs,
    );
  });

  it('encodeVolumeId then parseVolumeId gives the location back, or the digest form', () => {
    const segment = tricky.filter((s) => s !== '' && !s.includes('/'));
    const locations = fc.record({
      subDir: fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/')),
      share: fc
        .array(segment, { maxLength: 2 })
        .map((parts) => `/${parts.join('/')}`.replace(/\/$/, '') || '/'),
    });
    fc.assert(
      fc.property(locations, ({ subDir, share }) => {
        const location = { server: 'nfs.example.com', share, subDir };
        let id: string;
        try {
          id = encodeVolumeId(location, 'archive');
        } catch (err) {
          expect((err as WarrenError).kind).toBe('InvalidArgument');
          return;
        }
        const parsed = parseVolumeId(id);
        if (parsed.form === 'location') expect(parsed.location).toEqual(location);
        else expect(id).toMatch(/^2#a#[A-Za-z0-9_-]{32}$/);
        expect(byteLength(id)).toBeLessThanOrEqual(128);
        expect(parsed.onDelete).toBe('archive');
      }),
      runs,
    );
  });

  it('renderSubDir: no claim value can carry a volume outside its share', () => {
    const templates = fc.constantFrom(
      "${pvc.metadata.labels['team']}",
      "${pvc.metadata.namespace}/${pvc.metadata.annotations['dir']}",
      "teams/${pvc.metadata.labels['team']}-${pvc.metadata.name}",
      '${pvc.metadata.name}/${pv.metadata.name}',
    );
    const claims = fc.record({
      namespace: tricky,
      name: tricky,
      uid: fc.uuid(),
      labels: fc.record({ team: tricky }),
      annotations: fc.record({ dir: tricky }),
    });
    fc.assert(
      fc.property(templates, claims, tricky, (template, claim, pvName) =>
        expectContained(() => renderSubDir(checkTemplate(template), claim, pvName)),
      ),
      runs,
    );
  });

  it('archiveNameFor: one segment of at most 255 bytes, whatever the leaf', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.nat({ max: 999 }), (leaf, attempt) => {
        const name = archiveNameFor(leaf.replaceAll('/', ''), new Date(0), attempt);
        expect(name.includes('/')).toBe(false);
        expect(byteLength(name)).toBeLessThanOrEqual(255);
        expect(name.startsWith('archived-')).toBe(true);
      }),
      runs,
    );
  });
});
