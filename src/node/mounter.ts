// The node plugin's one side effect on the kernel: mounting, unmounting and reading the mount table.
// Real (real-mounter.ts) and in-memory (test/fakes/memory-mounter.ts) implementations share this
// interface; test/unit/mounter-contract.ts holds them to it.
import type { NfsFsType } from '../csi/capabilities.ts';

/** One line of /proc/self/mountinfo, escapes decoded. */
export interface MountEntry {
  mountId: number;
  parentId: number;
  /** Path inside the mounted file system that is mounted here (usually "/"). */
  root: string;
  mountPoint: string;
  /** Per-mount options, e.g. ["rw", "relatime"]. */
  mountOptions: string[];
  fsType: string;
  /** For NFS, "server:/path" as the kernel shows it. */
  source: string;
  superOptions: string[];
}

/**
 * plain: `umount`; force: `umount -f` (aborts outstanding NFS requests);
 * lazy: `umount -l` (detaches the mount at once, cleans up when no longer busy).
 */
export type UnmountMode = 'plain' | 'force' | 'lazy';

/** What one umount command reported. Callers decide by re-reading the mount table, not by this. */
export interface UnmountAttempt {
  mode: UnmountMode;
  succeeded: boolean;
  timedOut: boolean;
  detail: string;
}

/**
 * Whether a mounted path answers: `timedOut` means the server did not reply in time, `stale`
 * that it replied ESTALE (the directory the mount holds is gone on the server).
 */
export type MountHealth =
  | { usable: true }
  | { usable: false; timedOut: boolean; stale: boolean; message: string };

export interface Mounter {
  /** Throws Unavailable when the server does not answer within timeoutMs; leaves no process behind. */
  mount(
    source: string,
    target: string,
    fsType: NfsFsType,
    options: string[],
    timeoutMs: number,
  ): Promise<void>;
  /** Runs one umount command, bounded by timeoutMs. Never throws for a failed or hung umount. */
  unmount(target: string, mode: UnmountMode, timeoutMs: number): Promise<UnmountAttempt>;
  /** The topmost mount at exactly this path, or undefined. */
  mountsAt(target: string): Promise<MountEntry | undefined>;
  /** Asks the file system behind target to answer, without ever blocking the caller past timeoutMs. */
  health(target: string, timeoutMs: number): Promise<MountHealth>;
}

/** Decodes the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
export function unescapeMountField(field: string): string {
  return field.replaceAll(/\\([0-7]{3})/g, (_match, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

function parseLine(line: string): MountEntry | undefined {
  const fields = line.split(' ');
  const separator = fields.indexOf('-', 6);
  if (fields.length < 10 || separator === -1 || fields.length < separator + 4) return undefined;
  const mountId = Number(fields[0]);
  const parentId = Number(fields[1]);
  if (!Number.isInteger(mountId) || !Number.isInteger(parentId)) return undefined;
  return {
    mountId,
    parentId,
    root: unescapeMountField(fields[3] ?? ''),
    mountPoint: unescapeMountField(fields[4] ?? ''),
    mountOptions: (fields[5] ?? '').split(','),
    fsType: unescapeMountField(fields[separator + 1] ?? ''),
    source: unescapeMountField(fields[separator + 2] ?? ''),
    superOptions: (fields[separator + 3] ?? '').split(','),
  };
}

/** Parses /proc/self/mountinfo (see proc(5)); malformed lines are skipped. */
export function parseMountInfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .map(parseLine)
    .filter((entry) => entry !== undefined);
}

/** The mount visible at target: the last one listed there is on top. */
export function topMountAt(entries: readonly MountEntry[], target: string): MountEntry | undefined {
  return entries.findLast((entry) => entry.mountPoint === target);
}

export const isNfsMount = (entry: MountEntry) => entry.fsType === 'nfs' || entry.fsType === 'nfs4';

/** The NFS version named by the last vers= or nfsvers= option, if any. */
export function nfsVersionIn(options: readonly string[]): string | undefined {
  let version: string | undefined;
  for (const o of options) {
    const m = /^(?:nfs)?vers=(.+)$/.exec(o);
    if (m) version = m[1];
  }
  return version;
}

/**
 * Whether a mount of NFS version `mounted` (as the kernel shows it) serves a request for
 * `requested`: "4" takes any 4.x (the client negotiates the minor version), "4.0" and "4" are
 * the same version as kernels have shown it.
 */
export function nfsVersionsAgree(requested: string, mounted: string): boolean {
  const plain = (v: string) => v.replace(/\.0$/, '');
  return (
    plain(requested) === plain(mounted) || (!requested.includes('.') && mounted.startsWith(`${requested}.`))
  );
}

export const isReadOnlyMount = (entry: MountEntry) =>
  entry.mountOptions.includes('ro') || entry.superOptions.includes('ro');
