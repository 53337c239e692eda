// The provisioning core's vocabulary, shared by `warren controller` and the CSI Controller service.

export type OnDelete = 'delete' | 'retain' | 'archive';

/** A StorageClass's parameters after validation (see parameters.ts). */
export interface ClassParameters {
  server: string;
  /** Absolute export path as clients mount it, normalised (no trailing slash, no `.`/`..`). */
  share: string;
  /** Path template, relative; see template.ts. */
  subDir: string;
  onDelete: OnDelete;
  /** Permission bits for the new directory (e.g. 0o777). */
  mode: number;
  uid?: number;
  gid?: number;
}

/** Where a volume lives: the NFS location (share + subDir form the path clients mount). */
export interface VolumeLocation {
  server: string;
  share: string;
  /** Relative to the share, `/`-separated, never empty, never containing `.`/`..`/empty segments. */
  subDir: string;
}

/** What the template may read from a claim (see template.ts). */
export interface ClaimFacts {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** One `--share SERVER:PATH=LOCALDIR` flag: where an NFS export is mounted in the controller's pod. */
export interface ShareMount {
  server: string;
  share: string;
  localDir: string;
}
