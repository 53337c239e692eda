// The PV cache's answers the plans need, indexed so that a plan costs the same with 10 PVs or
// 10,000: which volume's directory is, contains or lies inside a place (shared-directory.ts says
// what "overlaps" means, and stays the reference the index is tested against), and which PV of a
// class is bound to no claim. Kept current from the PV informer: refresh(name) after each event.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { VolumeLocation } from '../provisioning/types.ts';
import { attributeLocation } from '../provisioning/volume-attributes.ts';
import { fullPath } from './shared-directory.ts';

/** What plans ask of the PV cache. */
export interface VolumeLookup {
  /** A PV of `driver` other than `self` whose directory is, contains or lies inside `location`'s. */
  overlapping(location: VolumeLocation, driver: string, self: string): string | undefined;
  /** A PV of this StorageClass that names no claim. */
  unboundOfClass(className: string): string | undefined;
}

export interface VolumeIndex extends VolumeLookup {
  /** Records the PV as the cache now holds it (undefined: it is gone). */
  refresh(name: string, pv: V1PersistentVolume | undefined): void;
}

interface Entry {
  /** `${driver}\0${server, lower case}`, or undefined when the PV names no NFS place. */
  place?: string;
  path?: string;
  unboundClass?: string;
}

export function makeVolumeIndex(): VolumeIndex {
  const entries = new Map<string, Entry>();
  /** place → full path → PVs at exactly that path. */
  const at = new Map<string, Map<string, Set<string>>>();
  /** place → full path → PVs strictly below it. */
  const below = new Map<string, Map<string, Set<string>>>();
  /** class → PVs of it that name no claim. */
  const unbound = new Map<string, Set<string>>();

  function add(map: Map<string, Set<string>>, key: string, name: string) {
    const set = map.get(key) ?? new Set<string>();
    map.set(key, set.add(name));
  }
  function drop(map: Map<string, Set<string>>, key: string, name: string) {
    const set = map.get(key);
    set?.delete(name);
    if (set?.size === 0) map.delete(key);
  }
  function byPlace(root: Map<string, Map<string, Set<string>>>, place: string) {
    const map = root.get(place) ?? new Map<string, Set<string>>();
    root.set(place, map);
    return map;
  }
  function forget(name: string) {
    const old = entries.get(name);
    if (!old) return;
    entries.delete(name);
    if (old.place !== undefined && old.path !== undefined) {
      drop(byPlace(at, old.place), old.path, name);
      for (const parent of parents(old.path)) drop(byPlace(below, old.place), parent, name);
    }
    if (old.unboundClass !== undefined) drop(unbound, old.unboundClass, name);
  }
  const other = (set: Set<string> | undefined, self: string) => {
    for (const name of set ?? []) if (name !== self) return name;
    return undefined;
  };

  return {
    refresh(name, pv) {
      forget(name);
      if (!pv) return;
      const entry: Entry = {};
      const csi = pv.spec?.csi;
      if (csi) {
        const recorded = attributeLocation(csi.volumeAttributes);
        if (recorded.server) {
          entry.place = placeOf(csi.driver, recorded.server);
          entry.path = fullPath(recorded);
          add(byPlace(at, entry.place), entry.path, name);
          for (const parent of parents(entry.path)) add(byPlace(below, entry.place), parent, name);
        }
      }
      const className = pv.spec?.storageClassName;
      if (className && !pv.spec?.claimRef) {
        entry.unboundClass = className;
        add(unbound, className, name);
      }
      entries.set(name, entry);
    },
    overlapping(location, driver, self) {
      const place = placeOf(driver, location.server);
      const mine = fullPath(location);
      const exact = at.get(place);
      return (
        other(exact?.get(mine), self) ??
        other(below.get(place)?.get(mine), self) ??
        parents(mine)
          .map((parent) => other(exact?.get(parent), self))
          .find((name) => name !== undefined)
      );
    },
    unboundOfClass(className) {
      return other(unbound.get(className), '');
    },
  };
}

/** An index of a fixed list (tests, and callers that have only a list). */
export function volumeLookupOf(volumes: readonly V1PersistentVolume[]): VolumeLookup {
  const index = makeVolumeIndex();
  for (const pv of volumes) index.refresh(pv.metadata?.name ?? '', pv);
  return index;
}

function placeOf(driver: string, server: string): string {
  return `${driver}\u0000${server.toLowerCase()}`;
}

/** Every proper prefix of `path` that ends just before a `/`: the paths `path` lies below. */
function parents(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}
