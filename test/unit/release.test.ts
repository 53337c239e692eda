// The one release path: what each onDelete does to the volume's own directory, and that nothing
// else on the share (a sibling, the parent, the share root, the records of other volumes) changes.
import { describe, expect, it } from 'vitest';
import { ownerKey } from '../../src/provisioning/ownership.ts';
import {
  type ReleaseOutcome,
  type ReleaseRequest,
  releaseDirectory,
} from '../../src/provisioning/release.ts';
import type { OnDelete, VolumeLocation } from '../../src/provisioning/types.ts';
import { encodeVolumeId, locationDigest } from '../../src/provisioning/volume-id.ts';
import { createMemoryDirectoryBackend, type MemoryEntry } from '../fakes/memory-directory-backend.ts';

const mount = '/exports/main';
const location: VolumeLocation = { server: 'nfs.example.com', share: '/export', subDir: 'team/data' };
const now = new Date('2025-06-01T12:00:00Z');
const dir = (): MemoryEntry => ({ kind: 'dir', mode: 0o777 });

function share(volume: 'empty' | 'full' | 'missing') {
  const backend = createMemoryDirectoryBackend([mount]);
  backend.plant(`${mount}/team`, dir());
  backend.plant(`${mount}/team/sibling`, dir());
  backend.plant(`${mount}/team/sibling/keep.txt`, { kind: 'file', content: 'sibling data' });
  if (volume !== 'missing') backend.plant(`${mount}/team/data`, dir());
  if (volume === 'full')
    backend.plant(`${mount}/team/data/file.txt`, { kind: 'file', content: 'volume data' });
  return { shares: [{ server: location.server, share: location.share, localDir: mount }], backend };
}

/** Everything on the share but the volume's own directory and its location record. */
const others = (entries: Map<string, MemoryEntry>) =>
  [...entries.keys()]
    .filter((p) => !p.startsWith(`${mount}/team/data`) && !p.includes(locationDigest(location)))
    .sort();
const volumeId = encodeVolumeId(location, 'delete');

type Case = [string, OnDelete, boolean, 'empty' | 'full' | 'missing', ReleaseOutcome, string[]];
const archived = 'team/archived-data-20250601120000';
const cases: Case[] = [
  ['delete removes the tree', 'delete', false, 'full', { result: 'deleted' }, []],
  ['delete of a missing directory', 'delete', false, 'missing', { result: 'missing' }, []],
  ['delete only-if-empty removes an empty one', 'delete', true, 'empty', { result: 'deleted' }, []],
  [
    'delete only-if-empty keeps data',
    'delete',
    true,
    'full',
    { result: 'kept-not-empty' },
    [`${mount}/team/data`, `${mount}/team/data/file.txt`],
  ],
  [
    'archive renames beside it',
    'archive',
    false,
    'full',
    { result: 'archived', archivedAs: archived },
    [`${mount}/${archived}`, `${mount}/${archived}/file.txt`],
  ],
  ['archive of a missing directory', 'archive', false, 'missing', { result: 'missing' }, []],
  [
    'retain touches nothing',
    'retain',
    false,
    'full',
    { result: 'retained' },
    [`${mount}/team/data`, `${mount}/team/data/file.txt`],
  ],
];

describe('releaseDirectory', () => {
  it.each(cases)('%s', async (_name, onDelete, onlyIfEmpty, volume, outcome, volumePathsAfter) => {
    const s = share(volume);
    await s.backend.putRecord(mount, locationDigest(location), { location, onDelete });
    await s.backend.putRecord(mount, ownerKey(location), { volumeId, location, created: true });
    await s.backend.putRecord(mount, 'other-volume', { location: { ...location, subDir: 'team/sibling' } });
    const before = others(s.backend.entries).filter((p) => !p.includes('archived-'));
    const request: ReleaseRequest = { location, onDelete, onlyIfEmpty, volumeId };
    expect(await releaseDirectory(s, request, now)).toEqual(outcome);
    const after = [...s.backend.entries.keys()].sort();
    // Nothing outside the volume's directory changed, except an archive beside it.
    expect(others(s.backend.entries).filter((p) => !p.includes('archived-'))).toEqual(before);
    expect(after.filter((p) => p.startsWith(`${mount}/team/data`) || p.includes('archived-'))).toEqual(
      volumePathsAfter,
    );
    // The location and ownership records go once the directory is handled; kept with the data otherwise.
    const kept = outcome.result === 'kept-not-empty';
    expect((await s.backend.getRecord(mount, locationDigest(location))) !== undefined).toBe(kept);
    expect((await s.backend.getRecord(mount, ownerKey(location))) !== undefined).toBe(kept);
    expect(await s.backend.getRecord(mount, 'other-volume')).toBeDefined();
  });
});

describe('releaseDirectory: only what Warren created for this volume', () => {
  const untouched = [`${mount}/team/data`, `${mount}/team/data/file.txt`];
  type OwnerCase = [string, unknown, boolean, string];
  const ownerCases: OwnerCase[] = [
    [
      'no record, no legacy evidence',
      undefined,
      false,
      'Warren holds no record of creating this directory for this volume',
    ],
    [
      'a record for another volume',
      { volumeId: '1#d#x#/y#z', location, created: true },
      true,
      'the directory was created for another volume (1#d#x#/y#z)',
    ],
    [
      'a directory that was already there',
      { volumeId, location, created: false },
      true,
      'the directory existed before Warren provisioned this volume',
    ],
    [
      'a record naming another location',
      { volumeId, location: { ...location, subDir: 'team' }, created: true },
      true,
      "the directory's ownership record names another location",
    ],
  ];
  it.each(ownerCases)(
    '%s: left untouched, and the outcome says why',
    async (_name, record, legacyOwner, why) => {
      for (const onDelete of ['delete', 'archive'] as const) {
        const s = share('full');
        if (record !== undefined) await s.backend.putRecord(mount, ownerKey(location), record);
        const before = [...s.backend.entries.keys()].filter((p) => !p.includes('.warren')).sort();
        const request: ReleaseRequest = {
          location,
          onDelete,
          onlyIfEmpty: false,
          volumeId,
          ...(legacyOwner ? { legacy: {} } : {}),
        };
        expect(await releaseDirectory(s, request, now)).toEqual({ result: 'not-ours', why });
        expect([...s.backend.entries.keys()].filter((p) => !p.includes('.warren')).sort()).toEqual(before);
        expect(before).toEqual(expect.arrayContaining(untouched));
      }
    },
  );

  it("keeps another volume's ownership record when it refuses", async () => {
    const s = share('full');
    const foreign = { volumeId: '1#d#x#/y#z', location, created: true };
    await s.backend.putRecord(mount, ownerKey(location), foreign);
    const request: ReleaseRequest = {
      location,
      onDelete: 'delete',
      onlyIfEmpty: false,
      volumeId,
      legacy: {},
    };
    await releaseDirectory(s, request, now);
    expect(await s.backend.getRecord(mount, ownerKey(location))).toEqual(foreign);
  });

  it('adopts a directory with no record when the caller holds the legacy evidence', async () => {
    const s = share('full');
    const request: ReleaseRequest = {
      location,
      onDelete: 'delete',
      onlyIfEmpty: false,
      volumeId,
      legacy: {},
    };
    expect(await releaseDirectory(s, request, now)).toEqual({ result: 'deleted' });
    expect([...s.backend.entries.keys()].some((p) => p.startsWith(`${mount}/team/data`))).toBe(false);
  });
});
