// The one release path: what each onDelete does to the volume's own directory, and that nothing
// else on the share (a sibling, the parent, the share root, the records of other volumes) changes.
import { describe, expect, it } from 'vitest';
import {
  type ReleaseOutcome,
  type ReleaseRequest,
  releaseDirectory,
} from '../../src/provisioning/release.ts';
import type { OnDelete, VolumeLocation } from '../../src/provisioning/types.ts';
import { locationDigest } from '../../src/provisioning/volume-id.ts';
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
    await s.backend.putRecord(mount, 'other-volume', { location: { ...location, subDir: 'team/sibling' } });
    const before = others(s.backend.entries).filter((p) => !p.includes('archived-'));
    const request: ReleaseRequest = { location, onDelete, onlyIfEmpty };
    expect(await releaseDirectory(s, request, now)).toEqual(outcome);
    const after = [...s.backend.entries.keys()].sort();
    // Nothing outside the volume's directory changed, except an archive beside it.
    expect(others(s.backend.entries).filter((p) => !p.includes('archived-'))).toEqual(before);
    expect(after.filter((p) => p.startsWith(`${mount}/team/data`) || p.includes('archived-'))).toEqual(
      volumePathsAfter,
    );
    // The location record goes once the directory is handled; kept with the data otherwise.
    const record = await s.backend.getRecord(mount, locationDigest(location));
    expect(record !== undefined).toBe(outcome.result === 'kept-not-empty');
    expect(await s.backend.getRecord(mount, 'other-volume')).toBeDefined();
  });
});
