// The index answers as the linear scan it replaces (shared-directory.ts) does, for any set of PVs,
// and stays right as PVs change and go.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { overlappingVolume } from '../../src/claims/shared-directory.ts';
import { makeVolumeIndex, volumeLookupOf } from '../../src/claims/volume-index.ts';

const driver = 'nfs.warren.dev';
const pv = (
  name: string,
  place: { server: string; share: string; subDir: string; driver?: string },
  spec: { storageClassName?: string; bound?: boolean } = {},
): V1PersistentVolume => ({
  metadata: { name },
  spec: {
    ...(spec.storageClassName ? { storageClassName: spec.storageClassName } : {}),
    ...(spec.bound ? { claimRef: { namespace: 'a', name } } : {}),
    csi: {
      driver: place.driver ?? driver,
      volumeHandle: name,
      volumeAttributes: { server: place.server, share: place.share, subDir: place.subDir },
    },
  },
});

// Few segments, so that random places often share, contain or lie inside one another.
const segment = fc.constantFrom('a', 'b', 'ab', 'team');
const place = fc.record({
  server: fc.constantFrom('nfs.example.com', 'NFS.example.com', 'other.example.com', ''),
  share: fc.constantFrom('/export', '/export/', '/export/team', '/'),
  subDir: fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')),
  driver: fc.constantFrom(driver, 'other.csi.io'),
});

describe('volume index', () => {
  it('finds an overlapping volume exactly when the linear scan does', () => {
    fc.assert(
      fc.property(fc.array(place, { maxLength: 12 }), place, fc.nat(12), (places, mine, selfAt) => {
        const volumes = places.map((p, i) => pv(`pv-${i}`, p));
        const self = `pv-${selfAt}`;
        const location = { server: mine.server || 'nfs.example.com', share: mine.share, subDir: mine.subDir };
        const scanned = overlappingVolume(location, volumes, driver, self);
        const indexed = volumeLookupOf(volumes).overlapping(location, driver, self);
        // Either may name any one of several overlapping PVs: both find one, or neither does.
        expect(indexed === undefined).toBe(scanned === undefined);
        if (indexed !== undefined)
          expect(
            overlappingVolume(
              location,
              [volumes[Number(indexed.slice(3))] as V1PersistentVolume],
              driver,
              self,
            ),
          ).toBe(indexed);
      }),
    );
  });

  it('follows a PV that moves, and forgets one that goes', () => {
    const index = makeVolumeIndex();
    const here = { server: 'nfs.example.com', share: '/export', subDir: 'team/a' };
    index.refresh('x', pv('x', { ...here, subDir: 'team' }));
    expect(index.overlapping(here, driver, 'self')).toBe('x');
    index.refresh('x', pv('x', { ...here, subDir: 'team/b' }));
    expect(index.overlapping(here, driver, 'self')).toBeUndefined();
    index.refresh('x', pv('x', { ...here, subDir: 'team/a/inner' }));
    expect(index.overlapping(here, driver, 'self')).toBe('x');
    index.refresh('x', undefined);
    expect(index.overlapping(here, driver, 'self')).toBeUndefined();
  });

  it('names a PV of a class that names no claim, until it is bound or gone', () => {
    const index = makeVolumeIndex();
    const at = { server: 'nfs.example.com', share: '/export', subDir: 's' };
    index.refresh('bound', pv('bound', at, { storageClassName: 'fast', bound: true }));
    index.refresh('other-class', pv('other-class', at, { storageClassName: 'slow' }));
    expect(index.unboundOfClass('fast')).toBeUndefined();
    index.refresh('free', pv('free', at, { storageClassName: 'fast' }));
    expect(index.unboundOfClass('fast')).toBe('free');
    index.refresh('free', pv('free', at, { storageClassName: 'fast', bound: true }));
    expect(index.unboundOfClass('fast')).toBeUndefined();
    expect(index.unboundOfClass('slow')).toBe('other-class');
    index.refresh('other-class', undefined);
    expect(index.unboundOfClass('slow')).toBeUndefined();
  });
});
