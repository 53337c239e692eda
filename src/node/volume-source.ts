// Pure: which NFS export a publish request mounts. The volume context (the PV's volumeAttributes, or
// an inline volume's attributes) says it; otherwise a location-form Warren volume id does.
import { isIPv6 } from 'node:net';
import { invalidArgument, WarrenError } from '../errors.ts';
import { checkServer, checkSubDir, normaliseShare } from '../provisioning/paths.ts';
import { locationKeys, readVolumeAttributes } from '../provisioning/volume-attributes.ts';
import { parseVolumeId } from '../provisioning/volume-id.ts';
import { quote } from '../text.ts';

/** Set by kubelet on CSI inline (ephemeral) volumes. */
export const ephemeralKey = 'csi.storage.k8s.io/ephemeral';

export interface NfsSource {
  server: string;
  /** Absolute, normalised. */
  share: string;
  /** Relative to the share; empty means the share itself. */
  subDir: string;
}

function sourceFromContext(context: Record<string, string>, what: string): NfsSource {
  const read = readVolumeAttributes(context);
  const raw = read.server;
  if (raw === undefined)
    throw invalidArgument(`${what}: volume_context has no "server"; set it to the NFS server`);
  const share = read.share;
  if (share === undefined)
    throw invalidArgument(`${what}: volume_context has no "share"; set it to the exported path`);
  const server = isIPv6(raw) ? `[${raw}]` : raw;
  const subDir = read.subDir ?? '';
  return {
    server: checkServer(server, `${what}: volume_context server`),
    share: normaliseShare(share, `${what}: volume_context share`),
    subDir: subDir === '' ? '' : checkSubDir(subDir, `${what}: volume_context subDir`),
  };
}

function sourceFromVolumeId(volumeId: string): NfsSource {
  const unknown = (why: string) =>
    invalidArgument(
      `volume id ${quote(volumeId)} does not say where the volume is (${why}); ` +
        "pass server/share/subDir in the volume context (the PV's volumeAttributes)",
    );
  let parsed: ReturnType<typeof parseVolumeId>;
  try {
    parsed = parseVolumeId(volumeId);
  } catch (err) {
    if (err instanceof WarrenError) throw unknown(err.message);
    throw err;
  }
  if (parsed.form === 'digest') throw unknown('it is a digest of a location too long to fit in an id');
  return parsed.location;
}

/** The location a Warren volume id names, or undefined for a digest or foreign id. */
function locationInId(volumeId: string): NfsSource | undefined {
  try {
    const parsed = parseVolumeId(volumeId);
    return parsed.form === 'location' ? parsed.location : undefined;
  } catch {
    return undefined;
  }
}

export function resolveSource(
  volumeId: string,
  context: Record<string, string>,
): { source: NfsSource; ephemeral: boolean } {
  const ephemeral = context[ephemeralKey] === 'true';
  const what = ephemeral ? `inline volume ${quote(volumeId)}` : `volume ${quote(volumeId)}`;
  if (!ephemeral && !locationKeys.some((key) => Object.hasOwn(context, key))) {
    return { source: sourceFromVolumeId(volumeId), ephemeral };
  }
  const source = sourceFromContext(context, what);
  const named = ephemeral ? undefined : locationInId(volumeId);
  if (named && formatSource(named) !== formatSource(source)) {
    throw invalidArgument(
      `${what}: the id names ${formatSource(named)} but volume_context names ${formatSource(source)}; ` +
        'the PV has been edited inconsistently',
    );
  }
  return { source, ephemeral };
}

/** `server:/share/subDir`, the device name mount.nfs takes (IPv6 servers are already bracketed). */
export function formatSource(source: NfsSource): string {
  const path =
    source.subDir === '' ? source.share : `${source.share === '/' ? '' : source.share}/${source.subDir}`;
  return `${source.server}:${path}`;
}

/** Compares NFS device names as the kernel may show them: host case and `//` or a trailing `/` ignored. */
export function sameSource(left: string, right: string): boolean {
  const canonical = (device: string) => {
    const serverEnd = device.startsWith('[') ? device.indexOf(']') + 1 : device.indexOf(':');
    if (serverEnd <= 0 || device[serverEnd] !== ':') return device;
    const path = `/${device
      .slice(serverEnd + 1)
      .split('/')
      .filter(Boolean)
      .join('/')}`;
    return `${device.slice(0, serverEnd).toLowerCase()}:${path}`;
  };
  return canonical(left) === canonical(right);
}
