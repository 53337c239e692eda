// The copy engine of clones: copies a directory tree into another, keeping contents, modes, owners,
// timestamps, symbolic links as links (never followed), hard links as hard links and holes as holes.
// Timestamps are kept to within a microsecond (utimes takes seconds as a double).
// Every entry is written under a temporary name and renamed into place, so a copy cut off part-way
// can simply be run again over what it left (it converges to the source); it never removes anything.
// With `linkDest` (rsync --link-dest), a regular file unchanged since that earlier copy (same size,
// mtime to within a microsecond, mode, owner) becomes a hard link to the earlier copy's file
// instead of a copy: incremental snapshots. The earlier tree is only ever read and linked to, and
// is walked alongside the source through real directories only (a link in it is never followed).
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  opendir,
  readlink,
  rename,
  symlink,
  unlink,
  utimes,
} from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, notFound, unavailable, WarrenError } from '../errors.ts';
import { errnoCode, quote } from '../text.ts';

export interface CopyStats {
  directories: number;
  files: number;
  symlinks: number;
  /** Entries written as a hard link to a file copied before (same inode in the source). */
  hardLinks: number;
  /** Bytes of file data written (holes are not written). */
  bytes: number;
  /** Sockets, FIFOs and device nodes: not copied, listed relative to the source. */
  skipped: string[];
  /** Owners that could not be set (a non-root controller, or a squashing export). */
  ownersNotKept: number;
  /** Regular files written as a hard link to the unchanged file of `linkDest` (no data written). */
  linked: number;
  /** Apparent size of the regular files copied or linked, each inode once (a restore needs this much). */
  fileBytes: number;
}

/**
 * Options of one copy for the engine. They cross into a share's copy worker as they are
 * (share-copies.ts), so they hold plain data only (what structured clone keeps).
 */
export type CopyOptions = Readonly<{
  /** An earlier copy of the same source: unchanged files become hard links to its files. */
  linkDest?: string;
  /** Options this engine does not know are ignored. */
  [option: string]: unknown;
}>;

export interface TreeCopier {
  /** Copies the tree below `source` into the existing directory `target` (its own attributes too). */
  copy(
    source: string,
    target: string,
    onBytes?: (bytes: number) => void,
    options?: CopyOptions,
  ): Promise<CopyStats>;
}

/** No copy yet: the counters a copy starts from. */
export const emptyCopyStats = (): CopyStats => ({
  directories: 0,
  files: 0,
  symlinks: 0,
  hardLinks: 0,
  bytes: 0,
  skipped: [],
  ownersNotKept: 0,
  linked: 0,
  fileBytes: 0,
});

/** The earlier copy's file is the same as the source's: link to it instead of copying. */
export function unchangedSince(source: Stats, earlier: Stats): boolean {
  return (
    earlier.isFile() &&
    earlier.size === source.size &&
    earlier.mode === source.mode &&
    earlier.uid === source.uid &&
    earlier.gid === source.gid &&
    Math.abs(earlier.mtimeMs - source.mtimeMs) < 0.001
  );
}

const chunkBytes = 1 << 20;
/** Entries copied at once (file system calls in flight); directories are walked as they come. */
const parallelEntries = 16;
const blockBytes = 4096;
const zeroBlock = Buffer.alloc(blockBytes);
/**
 * The temporary an entry is written under before its rename: the same name for the same entry on
 * every run, so a run cut off mid-entry leaves nothing the next run does not replace.
 */
export const temporaryFor = (to: string) =>
  join(to, '..', `.warren-copy-${createHash('sha256').update(to).digest('hex').slice(0, 24)}`);

function copyError(err: unknown, action: string, path: string): WarrenError {
  if (err instanceof WarrenError) return err;
  const code = errnoCode(err) ?? 'unknown';
  const message = `cannot ${action} ${quote(path)} while copying: ${code}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return failedPrecondition(`${message}; the share is full`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return failedPrecondition(`${message}; no permission (root_squash? read-only?)`);
  if (code === 'EIO' || code === 'ESTALE' || code === 'ETIMEDOUT') return unavailable(message, err);
  return new WarrenError('Internal', message, { cause: err });
}

export function createFsTreeCopier(): TreeCopier {
  return { copy: copyTree };
}

export async function copyTree(
  source: string,
  target: string,
  onBytes: (bytes: number) => void = () => {},
  options: CopyOptions = {},
): Promise<CopyStats> {
  const stats = emptyCopyStats();
  const top = await lstat(source).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') throw notFound(`source directory ${quote(source)} does not exist`);
    throw copyError(err, 'inspect', source);
  });
  if (!top.isDirectory()) throw failedPrecondition(`source ${quote(source)} is not a directory`);
  /** The first copy of each multiply-linked source inode (undefined if its copy failed). */
  const linked = new Map<string, Promise<string | undefined>>();
  const limit = slots(parallelEntries);

  async function setOwner(path: string, info: Stats): Promise<void> {
    try {
      await lchown(path, info.uid, info.gid);
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'EPERM' && code !== 'EINVAL') throw err;
      stats.ownersNotKept++;
    }
  }

  /** The earlier copy's file at the same place, when it is unchanged and can be linked to. */
  async function earlierCopy(earlier: string | undefined, info: Stats): Promise<string | undefined> {
    if (earlier === undefined) return undefined;
    const found = await lstat(earlier).catch(() => undefined);
    return found && unchangedSince(info, found) ? earlier : undefined;
  }

  /** Links `to` to the earlier copy's file; false if that is no longer possible (then it is copied). */
  async function linkEarlier(earlier: string, temporary: string, to: string): Promise<boolean> {
    try {
      await link(earlier, temporary);
    } catch (err) {
      const code = errnoCode(err);
      // Deleted meanwhile, too many links, or another file system: copy instead.
      if (code === 'ENOENT' || code === 'EMLINK' || code === 'EXDEV') return false;
      throw err;
    }
    await rename(temporary, to);
    return true;
  }

  async function copyFile(from: string, to: string, info: Stats, earlier?: string): Promise<void> {
    const key = `${info.dev}:${info.ino}`;
    const first = info.nlink > 1 ? linked.get(key) : undefined;
    const temporary = temporaryFor(to);
    let copied: (path: string | undefined) => void = () => {};
    if (info.nlink > 1 && !first) linked.set(key, new Promise((r) => (copied = r)));
    await unlink(temporary).catch(() => undefined); // what a run cut off here left
    try {
      const target = first ? await first : undefined;
      if (target) {
        await link(target, temporary);
        await rename(temporary, to);
        stats.hardLinks++;
        return;
      }
      stats.fileBytes += info.size;
      const unchanged = await earlierCopy(earlier, info);
      if (unchanged && (await linkEarlier(unchanged, temporary, to))) {
        copied(to);
        stats.linked++;
        return;
      }
      await copyContents(from, temporary, info);
      await setOwner(temporary, info);
      await chmod(temporary, info.mode & 0o7777); // after chown, which clears set-id bits
      await utimes(temporary, info.atimeMs / 1000, info.mtimeMs / 1000);
      await rename(temporary, to);
      copied(to);
      stats.files++;
    } catch (err) {
      copied(undefined);
      await unlink(temporary).catch(() => undefined);
      throw err;
    }
  }

  async function copyContents(from: string, to: string, info: Stats): Promise<void> {
    const input = await open(from, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const output = await open(to, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        const buffer = Buffer.allocUnsafe(chunkBytes);
        let position = 0;
        for (;;) {
          const { bytesRead } = await input.read(buffer, 0, chunkBytes, position);
          if (bytesRead === 0) break;
          // Only blocks holding data are written: holes (and zero blocks) stay holes in the copy.
          for (let offset = 0; offset < bytesRead; ) {
            const end = Math.min(offset + blockBytes, bytesRead);
            if (buffer.subarray(offset, end).equals(zeroBlock.subarray(0, end - offset))) {
              offset = end;
              continue;
            }
            let runEnd = end;
            while (runEnd < bytesRead) {
              const next = Math.min(runEnd + blockBytes, bytesRead);
              if (buffer.subarray(runEnd, next).equals(zeroBlock.subarray(0, next - runEnd))) break;
              runEnd = next;
            }
            await output.write(buffer, offset, runEnd - offset, position + offset);
            stats.bytes += runEnd - offset;
            onBytes(runEnd - offset);
            offset = runEnd;
          }
          position += bytesRead;
        }
        await output.truncate(info.size);
      } finally {
        await output.close();
      }
    } finally {
      await input.close();
    }
  }

  async function copySymlink(from: string, to: string, info: Stats): Promise<void> {
    const temporary = temporaryFor(to);
    await unlink(temporary).catch(() => undefined);
    try {
      await symlink(await readlink(from), temporary);
      await setOwner(temporary, info);
      await lutimes(temporary, info.atimeMs / 1000, info.mtimeMs / 1000);
      await rename(temporary, to);
      stats.symlinks++;
    } catch (err) {
      await unlink(temporary).catch(() => undefined);
      throw err;
    }
  }

  /** `earlier`: the same directory in linkDest, when it is a real directory there. */
  async function copyDirectory(
    from: string,
    to: string,
    relative: string,
    earlier: string | undefined,
  ): Promise<void> {
    const dir = await opendir(from).catch((err: unknown) => {
      throw copyError(err, 'read', from);
    });
    const pending: Promise<void>[] = [];
    // Subdirectories one after another, after this directory's other entries: open directories
    // stay as few as the depth, while up to parallelEntries files are copied at once.
    const subdirectories: Array<[string, string, string, string]> = [];
    for await (const entry of dir) {
      const src = join(from, entry.name);
      const dst = join(to, entry.name);
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        subdirectories.push([src, dst, rel, entry.name]);
        continue;
      }
      pending.push(
        limit(async () => {
          const info = await lstat(src).catch((err: unknown) => {
            throw copyError(err, 'inspect', src);
          });
          try {
            if (info.isDirectory()) subdirectories.push([src, dst, rel, entry.name]);
            else if (info.isFile())
              await copyFile(src, dst, info, earlier === undefined ? undefined : join(earlier, entry.name));
            else if (info.isSymbolicLink()) await copySymlink(src, dst, info);
            else stats.skipped.push(rel);
          } catch (err) {
            throw copyError(err, 'copy', src);
          }
        }),
      );
    }
    const results = await Promise.allSettled(pending);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [src, dst, rel, name] of subdirectories) {
      await copySubdirectory(src, dst, rel, await earlierDirectory(earlier, name));
    }
  }

  /** linkDest's directory of that name, only if it is a real directory (a link there is never followed). */
  async function earlierDirectory(parent: string | undefined, name: string): Promise<string | undefined> {
    if (parent === undefined) return undefined;
    const path = join(parent, name);
    const found = await lstat(path).catch(() => undefined);
    return found?.isDirectory() ? path : undefined;
  }

  async function copySubdirectory(
    src: string,
    dst: string,
    rel: string,
    earlier: string | undefined,
  ): Promise<void> {
    const info = await lstat(src).catch((err: unknown) => {
      throw copyError(err, 'inspect', src);
    });
    if (!info.isDirectory()) throw failedPrecondition(`${quote(src)} changed while being copied`);
    try {
      await mkdir(dst, { mode: 0o700 }).catch((err: unknown) => {
        if (errnoCode(err) !== 'EEXIST') throw err;
      });
      const existing = await lstat(dst);
      if (!existing.isDirectory() || existing.isSymbolicLink()) {
        throw failedPrecondition(`${quote(dst)} exists and is not a directory; the copy cannot go on`);
      }
    } catch (err) {
      throw copyError(err, 'copy', src);
    }
    await copyDirectory(src, dst, rel, earlier);
    await applyDirectory(dst, info).catch((err: unknown) => {
      throw copyError(err, 'set the attributes of', dst);
    });
    stats.directories++;
  }

  async function applyDirectory(path: string, info: Stats): Promise<void> {
    await setOwner(path, info);
    await chmod(path, info.mode & 0o7777);
    await utimes(path, info.atimeMs / 1000, info.mtimeMs / 1000);
  }

  const earlierRoot =
    options.linkDest === undefined ? undefined : await earlierDirectory(options.linkDest, '.');
  await copyDirectory(source, target, '', earlierRoot);
  await applyDirectory(target, top).catch((err: unknown) => {
    throw copyError(err, 'set the attributes of', target);
  });
  return stats;
}

/** Runs at most `n` of the functions given to it at once. */
function slots(n: number): <T>(run: () => Promise<T>) => Promise<T> {
  let free = n;
  const waiting: Array<() => void> = [];
  return async (run) => {
    if (free === 0) await new Promise<void>((r) => waiting.push(r));
    else free--;
    try {
      return await run();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}
