// du-like measurement of one volume: file system totals from statfs, and the space and inodes the
// volume's own directory tree uses, counted with lstat (links are never followed, other file
// systems mounted inside are not entered, hard-linked files count once). It runs in a child
// process (usage-probe.ts), because any of these calls can block for good on a dead NFS server.
import { lstat, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** What the measuring child (usage-probe.ts) prints once it runs, before it touches the volume. */
export const startedLine = 'started';

export interface VolumeMeasurement {
  totalBytes: bigint;
  availableBytes: bigint;
  usedBytes: bigint;
  totalInodes: bigint;
  freeInodes: bigint;
  usedInodes: bigint;
  /** The walk finished before its deadline; otherwise usedBytes and usedInodes are lower bounds. */
  complete: boolean;
}

const batchSize = 64;

/** Space (st_blocks * 512, as du counts) and inodes under root, stopping at deadline (epoch ms). */
export async function walkVolume(
  root: string,
  deadline: number,
): Promise<{ usedBytes: bigint; usedInodes: bigint; complete: boolean }> {
  const top = await lstat(root, { bigint: true });
  let usedBytes = top.blocks * 512n;
  let usedInodes = 1n;
  const linked = new Set<string>();
  const pending = top.isDirectory() ? [root] : [];
  while (pending.length > 0) {
    if (Date.now() >= deadline) return { usedBytes, usedInodes, complete: false };
    const dir = pending.pop() as string;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (let i = 0; i < names.length; i += batchSize) {
      if (Date.now() >= deadline) return { usedBytes, usedInodes, complete: false };
      const paths = names.slice(i, i + batchSize).map((name) => join(dir, name));
      const stats = await Promise.all(
        paths.map((path) => lstat(path, { bigint: true }).catch(() => undefined)),
      );
      stats.forEach((info, index) => {
        if (!info || info.dev !== top.dev) return;
        if (!info.isDirectory() && info.nlink > 1n) {
          const key = `${info.dev}:${info.ino}`;
          if (linked.has(key)) return;
          linked.add(key);
        }
        usedBytes += info.blocks * 512n;
        usedInodes += 1n;
        if (info.isDirectory()) pending.push(paths[index] as string);
      });
    }
  }
  return { usedBytes, usedInodes, complete: true };
}

export async function measureVolume(path: string, deadline: number): Promise<VolumeMeasurement> {
  const fs = await statfs(path, { bigint: true });
  const walked = await walkVolume(path, deadline);
  return {
    totalBytes: fs.blocks * fs.bsize,
    availableBytes: fs.bavail * fs.bsize,
    totalInodes: fs.files,
    freeInodes: fs.ffree,
    ...walked,
  };
}

/** The measurement as one JSON line (bigints as decimal strings). */
export function encodeMeasurement(m: VolumeMeasurement): string {
  return JSON.stringify(m, (_key, value) => (typeof value === 'bigint' ? value.toString() : value));
}

const counters = [
  'totalBytes',
  'availableBytes',
  'usedBytes',
  'totalInodes',
  'freeInodes',
  'usedInodes',
] as const;

/** Parses what encodeMeasurement wrote; undefined when the text is not a complete measurement. */
export function decodeMeasurement(text: string): VolumeMeasurement | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || typeof value.complete !== 'boolean') return undefined;
  const result: Partial<Record<(typeof counters)[number], bigint>> = {};
  for (const key of counters) {
    const field = value[key];
    if (typeof field !== 'string' || !/^[0-9]{1,20}$/.test(field)) return undefined;
    result[key] = BigInt(field);
  }
  return { ...(result as Record<(typeof counters)[number], bigint>), complete: value.complete };
}
