// Pure: is a volume's directory also another volume's directory, or inside or around one?
// Templates can map two claims onto one place (e.g. `${pvc.metadata.name}` in two namespaces,
// or a claim re-created before its old volume was released); Warren then neither hands the
// place to a second volume nor deletes or moves it while another volume uses it.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { VolumeLocation } from '../provisioning/types.ts';
import { attributeLocation } from '../provisioning/volume-attributes.ts';

export function overlappingVolume(
  location: VolumeLocation,
  volumes: readonly V1PersistentVolume[],
  driver: string,
  self: string,
): string | undefined {
  const mine = fullPath(location);
  for (const pv of volumes) {
    if (pv.metadata?.name === self || pv.spec?.csi?.driver !== driver) continue;
    const recorded = attributeLocation(pv.spec.csi.volumeAttributes);
    if (!recorded.server || recorded.server.toLowerCase() !== location.server.toLowerCase()) continue;
    const theirs = fullPath(recorded);
    if (nested(mine, theirs) || nested(theirs, mine)) return pv.metadata?.name;
  }
  return undefined;
}

export function fullPath(l: VolumeLocation): string {
  return `${l.share.replace(/\/+$/, '')}/${l.subDir}`;
}

/** True when `inner` is `outer` or lies below it, segment by segment. */
function nested(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}
