// The node guest's containerd disk: an ext4 image holding containerd's content store, snapshots
// and metadata, kept in the cache by the images' base layers it holds, so those are imported and
// unpacked once instead of at every boot (Warren's 220 MB image took minutes under TCG). A kept
// disk is attached with snapshot=on: the guest's writes go to a temporary file, never to it.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

/** Sparse: only what containerd writes takes space. */
const diskSize = '4G';

export interface DiskPlan {
  /** What qemu attaches as /dev/vda. */
  file: string;
  snapshot: boolean;
  /** Set when no disk was kept yet: create `file` empty, and keep it here once imported. */
  keepAt?: string;
}

export const cacheDir = () =>
  process.env.WARREN_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'warren');

/** Pure: the cache key of a disk holding these parts (containerd's version, base blob digests). */
export function diskKey(parts: readonly string[]): string {
  return createHash('sha256')
    .update([...parts].sort().join('\n'))
    .digest('hex')
    .slice(0, 12);
}

/** Pure: attach the kept disk read-only (snapshot), or make one in workDir and keep it afterwards. */
export function diskPlan(opts: { cacheDir: string; key: string; kept: boolean; workDir: string }): DiskPlan {
  const dir = join(opts.cacheDir, `node-containerd-${opts.key}`);
  if (opts.kept) return { file: join(dir, 'disk.img'), snapshot: true };
  return { file: join(opts.workDir, 'containerd.img'), snapshot: false, keepAt: dir };
}

export function isKept(cacheDirPath: string, key: string): boolean {
  return existsSync(join(cacheDirPath, `node-containerd-${key}`, '.complete'));
}

/** For a plan with keepAt: an empty sparse ext4 image (features the guest kernel mounts without crc32c). */
export async function createDisk(plan: DiskPlan): Promise<void> {
  if (!plan.keepAt) return;
  await execa('truncate', ['-s', diskSize, plan.file]);
  await execa('mkfs.ext4', ['-q', '-F', '-O', '^metadata_csum,^orphan_file', '-L', 'containerd', plan.file]);
}

/** After the guest sealed the disk (containerd stopped, unmounted): a copy into the cache. */
export async function keepDisk(plan: DiskPlan): Promise<void> {
  if (!plan.keepAt) return;
  const partial = `${plan.keepAt}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await execa('cp', ['--sparse=always', plan.file, join(partial, 'disk.img')]);
  await writeFile(join(partial, '.complete'), '');
  // Another run may have kept the same disk meanwhile: theirs is as good.
  await rename(partial, plan.keepAt).catch(() => rm(partial, { recursive: true, force: true }));
  await dropOldDisks(dirname(plan.keepAt), keptDisks);
}

/** Disks kept at once (about 470 MB each); an older one in use stays readable until its qemu ends. */
const keptDisks = 2;

/** Pure: of the kept disks (name, when kept), the names beyond the newest `keep`. */
export function disksToDrop(disks: Array<{ name: string; mtimeMs: number }>, keep: number): string[] {
  return [...disks]
    .sort((a, b) => b.mtimeMs - a.mtimeMs || a.name.localeCompare(b.name))
    .slice(keep)
    .map((d) => d.name);
}

async function dropOldDisks(dir: string, keep: number): Promise<void> {
  const names = (await readdir(dir)).filter((n) => /^node-containerd-[0-9a-f]{12}$/.test(n));
  const disks = await Promise.all(
    names.map(async (name) => ({ name, mtimeMs: (await stat(join(dir, name))).mtimeMs })),
  );
  for (const name of disksToDrop(disks, keep)) await rm(join(dir, name), { recursive: true, force: true });
}
