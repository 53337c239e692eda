// The one codec of a volume's attributes (a CSI volume_context, a PV's volumeAttributes): where the
// volume lives and its onDelete, written by both front doors and read by the node plugin and the
// claim watcher. Values are read raw; each reader checks them with its own rules.
import type { OnDelete, VolumeLocation } from './types.ts';

export const attributeKeys = {
  server: 'server',
  share: 'share',
  subDir: 'subDir',
  onDelete: 'onDelete',
} as const;

/** The keys that say where a volume is. */
export const locationKeys: readonly string[] = [
  attributeKeys.server,
  attributeKeys.share,
  attributeKeys.subDir,
];

export function writeVolumeAttributes(location: VolumeLocation, onDelete: OnDelete): Record<string, string> {
  return {
    [attributeKeys.server]: location.server,
    [attributeKeys.share]: location.share,
    [attributeKeys.subDir]: location.subDir,
    [attributeKeys.onDelete]: onDelete,
  };
}

/** What the attributes say, each field undefined where the key is absent. */
export interface ReadAttributes {
  server?: string;
  share?: string;
  subDir?: string;
  onDelete?: string;
}

export function readVolumeAttributes(attributes: Record<string, string> | undefined): ReadAttributes {
  const a = attributes ?? {};
  const field = (key: string) => (Object.hasOwn(a, key) ? a[key] : undefined);
  const read: ReadAttributes = {};
  const server = field(attributeKeys.server);
  const share = field(attributeKeys.share);
  const subDir = field(attributeKeys.subDir);
  const onDelete = field(attributeKeys.onDelete);
  if (server !== undefined) read.server = server;
  if (share !== undefined) read.share = share;
  if (subDir !== undefined) read.subDir = subDir;
  if (onDelete !== undefined) read.onDelete = onDelete;
  return read;
}

/** The location the attributes name, with '' for a missing field (for comparing, not for trusting). */
export function attributeLocation(attributes: Record<string, string> | undefined): VolumeLocation {
  const read = readVolumeAttributes(attributes);
  return { server: read.server ?? '', share: read.share ?? '', subDir: read.subDir ?? '' };
}
