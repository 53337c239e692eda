// Pure: is a volume's directory also another volume's directory, or inside or around one?
// Templates can map two claims onto one place (e.g. `${pvc.metadata.name}` in two namespaces,
// or a claim re-created before its old volume was released); Warren then neither hands the
// place to a second volume nor deletes or moves it while another volume uses it.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { attributeKeys } from '../provisioning/names.ts';
import type { VolumeLocation } from '../provisioning/types.ts';

export function overlappingVolume(
  location: VolumeLocation,
  volumes: readonly V1PersistentVolume[],
  driver: string,
  self: string,
): string | undefined {
  const mine = fullPath(location);
  for (const pv of volumes) {
    if (pv.metadata?.name === self || pv.spec?.csi?.driver !== driver) continue;
    const attrs = pv.spec.csi.volumeAttributes ?? {};
    const server = attrs[attributeKeys.server];
    if (!server || server.toLowerCase() !== location.server.toLowerCase()) continue;
    const theirs = fullPath({
      server,
      share: attrs[attributeKeys.share] ?? '',
      subDir: attrs[attributeKeys.subDir] ?? '',
    });
    if (nested(mine, theirs) || nested(theirs, mine)) return pv.metadata?.name;
  }
  return undefined;
}

function fullPath(l: VolumeLocation): string {
  return `${l.share.replace(/\/+$/, '')}/${l.subDir}`;
}

/** True when `inner` is `outer` or lies below it, segment by segment. */
function nested(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}
