// DirectoryBackend on a locally mounted share (volume directories, records, the snapshot area). Every existing path component is lstat-ed first: a
// symlink or non-directory anywhere in a volume's path is refused, never followed.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import {
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { failedPrecondition, invalidArgument, unavailable, WarrenError } from '../errors.ts';
import { errnoCode, quote } from '../text.ts';
import {
  archiveNameFor,
  checkPermissions,
  checkRecordKey,
  type DirectoryBackend,
  type DirectoryPermissions,
  maxArchiveAttempts,
  recordDirSegments,
} from './directory-backend.ts';
import { checkSubDir } from './paths.ts';
import { checkSnapshotEntry, snapshotAreaMode, snapshotAreaSegments } from './snapshot-area.ts';
import { ensureVolumeDirectoryOn } from './volume-directory.ts';

const parentMode = 0o755;
const neverFollowed = 'Warren never follows links on a share; remove it';
const moveIt = 'remove or rename it';

const deniedCodes = new Set(['EACCES', 'EPERM', 'EROFS']);
const transientCodes = new Set(['EIO', 'ESTALE', 'ETIMEDOUT', 'EBUSY']);

/** Turns an fs failure into a typed error; messages name the path and what was being done. */
function fsError(err: unknown, action: string, path: string): WarrenError {
  if (err instanceof WarrenError) return err;
  const code = errnoCode(err) ?? 'unknown';
  const message = `cannot ${action} ${quote(path)}: ${code}`;
  if (deniedCodes.has(code)) return failedPrecondition(`${message}; no permission (root_squash? read-only?)`);
  if (code === 'ENOSPC' || code === 'EDQUOT') return failedPrecondition(`${message}; the share is full`);
  if (code === 'ENAMETOOLONG') return invalidArgument(`${message}; the path is too long for the share`);
  if (transientCodes.has(code)) return unavailable(message, err);
  return new WarrenError('Internal', message, { cause: err });
}

async function checkRoot(root: string): Promise<void> {
  if (!isAbsolute(root)) throw invalidArgument(`share root ${quote(root)} must be an absolute path`);
  const unmounted = (why: string, err?: unknown) =>
    unavailable(`share root ${quote(root)} ${why}; is the export mounted?`, err);
  const info = await stat(root).catch((err: unknown) => {
    throw unmounted(`is not reachable (${errnoCode(err)})`, err);
  });
  if (!info.isDirectory()) throw unmounted('is not a directory');
}

/** How many leading components of root/segments exist; each one must be a real directory. */
async function existingComponents(root: string, segments: readonly string[]): Promise<number> {
  for (let i = 0; i < segments.length; i++) {
    const path = join(root, ...segments.slice(0, i + 1));
    const info = await lstat(path).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw fsError(err, 'inspect', path);
    });
    if (!info) return i;
    if (info.isSymbolicLink()) {
      throw failedPrecondition(`${quote(path)} is a symbolic link; ${neverFollowed}`);
    }
    if (!info.isDirectory()) {
      throw failedPrecondition(`${quote(path)} exists but is not a directory; ${moveIt}`);
    }
  }
  return segments.length;
}

/** Applies owner then mode (chown can clear set-id bits) through a handle that cannot be a symlink. */
async function applyPermissions(path: string, perms: DirectoryPermissions): Promise<void> {
  const flags = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
  const handle = await open(path, flags).catch((err: unknown) => {
    if (errnoCode(err) === 'ELOOP' || errnoCode(err) === 'ENOTDIR') {
      throw failedPrecondition(`${quote(path)} was replaced by a symbolic link or file; ${moveIt}`);
    }
    throw fsError(err, 'open', path);
  });
  try {
    if (perms.uid !== undefined || perms.gid !== undefined) {
      await handle.chown(perms.uid ?? -1, perms.gid ?? -1).catch((err: unknown) => {
        throw fsError(err, `chown to ${perms.uid ?? '-'}:${perms.gid ?? '-'}`, path);
      });
    }
    await handle.chmod(perms.mode).catch((err: unknown) => {
      throw fsError(err, `chmod to 0${perms.mode.toString(8)}`, path);
    });
  } finally {
    await handle.close();
  }
}

/** Creates the missing components after `existing`; returns whether the last one was created by us. */
async function createComponents(root: string, segments: readonly string[], existing: number) {
  let createdLast = false;
  for (let i = existing; i < segments.length; i++) {
    const path = join(root, ...segments.slice(0, i + 1));
    const isLeaf = i === segments.length - 1;
    createdLast = await mkdir(path, { mode: 0o700 }).then(
      () => true,
      async (err: unknown) => {
        if (errnoCode(err) !== 'EEXIST') throw fsError(err, 'create', path);
        await existingComponents(root, segments.slice(0, i + 1)); // someone else made it: verify it again
        return false;
      },
    );
    if (createdLast && !isLeaf) await applyPermissions(path, { mode: parentMode });
  }
  return createdLast;
}

async function ensureDirectory(root: string, subDir: string, perms: DirectoryPermissions) {
  checkSubDir(subDir, 'subDir');
  checkPermissions(perms);
  await checkRoot(root);
  const segments = subDir.split('/');
  const existing = await existingComponents(root, segments);
  const created = await createComponents(root, segments, existing);
  await applyPermissions(join(root, ...segments), perms);
  return created ? ('created' as const) : ('existed' as const);
}

/** Checks root and subDir; returns the leaf's path, or undefined when it (or a parent) is missing. */
async function existingVolume(root: string, subDir: string): Promise<string | undefined> {
  checkSubDir(subDir, 'subDir');
  await checkRoot(root);
  const segments = subDir.split('/');
  const existing = await existingComponents(root, segments);
  return existing === segments.length ? join(root, ...segments) : undefined;
}

async function removeDirectory(root: string, subDir: string) {
  const path = await existingVolume(root, subDir);
  if (!path) return 'missing' as const;
  // fs.rm lstat-s each entry: a symlink inside the volume is unlinked, its target left alone (tested).
  await rm(path, { recursive: true, force: false }).catch((err: unknown) => {
    throw fsError(err, 'remove', path);
  });
  return 'removed' as const;
}

async function removeEmptyDirectory(root: string, subDir: string) {
  const path = await existingVolume(root, subDir);
  if (!path) return 'missing' as const;
  try {
    await rmdir(path);
    return 'removed' as const;
  } catch (err) {
    if (errnoCode(err) === 'ENOTEMPTY' || errnoCode(err) === 'EEXIST') return 'not-empty' as const;
    throw fsError(err, 'remove', path);
  }
}

async function archiveDirectory(root: string, subDir: string, now: Date) {
  const path = await existingVolume(root, subDir);
  if (!path) return 'missing' as const;
  const segments = subDir.split('/');
  const leaf = segments.pop() ?? '';
  for (let attempt = 0; attempt < maxArchiveAttempts; attempt++) {
    const name = archiveNameFor(leaf, now, attempt);
    const target = join(root, ...segments, name);
    // mkdir claims the name atomically; rename then replaces the empty directory we own.
    const claimed = await mkdir(target, { mode: 0o700 }).then(
      () => true,
      (err: unknown) => {
        if (errnoCode(err) === 'EEXIST') return false;
        throw fsError(err, 'create', target);
      },
    );
    if (!claimed) continue;
    try {
      await rename(path, target);
    } catch (err) {
      await rmdir(target).catch(() => undefined);
      if (errnoCode(err) === 'ENOENT') return 'missing' as const;
      throw fsError(err, 'rename', path);
    }
    return { archivedAs: [...segments, name].join('/') };
  }
  throw failedPrecondition(`cannot archive ${quote(path)}: ${maxArchiveAttempts} archive names are taken`);
}

async function recordPath(root: string, key: string, create: boolean): Promise<string | undefined> {
  checkRecordKey(key);
  await checkRoot(root);
  const existing = await existingComponents(root, recordDirSegments);
  if (existing < recordDirSegments.length) {
    if (!create) return undefined;
    await createComponents(root, recordDirSegments, existing);
    await applyPermissions(join(root, ...recordDirSegments), { mode: parentMode });
  }
  return join(root, ...recordDirSegments, `${key}.json`);
}

async function putRecord(root: string, key: string, record: unknown): Promise<void> {
  const text = JSON.stringify(record);
  if (text === undefined) throw invalidArgument(`record ${quote(key)} is not JSON-serialisable`);
  const path = (await recordPath(root, key, true)) ?? '';
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, text, { flag: 'wx', mode: 0o644, flush: true });
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw fsError(err, 'write record', path);
  }
}

async function getRecord(root: string, key: string): Promise<unknown> {
  const path = await recordPath(root, key, false);
  if (!path) return undefined;
  const flag = constants.O_RDONLY | constants.O_NOFOLLOW;
  const text = await readFile(path, { encoding: 'utf8', flag }).catch((err: unknown) => {
    if (errnoCode(err) === 'ENOENT') return undefined;
    if (errnoCode(err) === 'ELOOP') {
      throw failedPrecondition(`record ${quote(path)} is a symbolic link; ${neverFollowed}`);
    }
    throw fsError(err, 'read record', path);
  });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw failedPrecondition(`record ${quote(path)} is not valid JSON; it was not written by Warren`);
  }
}

async function deleteRecord(root: string, key: string): Promise<void> {
  const path = await recordPath(root, key, false);
  if (!path) return;
  await unlink(path).catch((err: unknown) => {
    if (errnoCode(err) !== 'ENOENT') throw fsError(err, 'delete record', path);
  });
}

// The snapshot area: entries of `root/.warren/snapshots`, each path component lstat-ed first.
type SnapshotEntryOps = Pick<
  DirectoryBackend,
  'listSnapshotEntries' | 'makeSnapshotEntry' | 'renameSnapshotEntry' | 'removeSnapshotEntry'
>;

/** The path of an existing entry (every component checked), or undefined when it is missing. */
async function existingEntry(root: string, entry: string): Promise<string | undefined> {
  checkSnapshotEntry(entry);
  await checkRoot(root);
  const segments = [...snapshotAreaSegments, entry];
  return (await existingComponents(root, segments)) === segments.length ? join(root, ...segments) : undefined;
}

const snapshotEntryOps: SnapshotEntryOps = {
  async listSnapshotEntries(root) {
    await checkRoot(root);
    if ((await existingComponents(root, snapshotAreaSegments)) < snapshotAreaSegments.length) return [];
    const area = join(root, ...snapshotAreaSegments);
    return (
      await readdir(area).catch((err: unknown) => {
        throw fsError(err, 'list', area);
      })
    ).sort();
  },

  async makeSnapshotEntry(root, entry) {
    checkSnapshotEntry(entry);
    await checkRoot(root);
    const area = [...snapshotAreaSegments];
    const existing = await existingComponents(root, area);
    if (existing < area.length) {
      await createComponents(root, area, existing);
      await applyPermissions(join(root, ...area), { mode: snapshotAreaMode });
    }
    const segments = [...area, entry];
    const created = await createComponents(root, segments, await existingComponents(root, segments));
    if (created) await applyPermissions(join(root, ...segments), { mode: snapshotAreaMode });
    return created ? 'created' : 'existed';
  },

  async renameSnapshotEntry(root, from, to) {
    checkSnapshotEntry(to);
    const path = await existingEntry(root, from);
    if (!path) return 'missing';
    const target = join(root, ...snapshotAreaSegments, to);
    const present = await lstat(target).then(
      () => true,
      (err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return false;
        throw fsError(err, 'inspect', target);
      },
    );
    if (present) return 'target-exists';
    await rename(path, target).catch((err: unknown) => {
      throw fsError(err, 'rename', path);
    });
    return 'renamed';
  },

  async removeSnapshotEntry(root, entry) {
    const path = await existingEntry(root, entry);
    if (!path) return 'missing';
    // fs.rm lstat-s each entry: links are unlinked, never followed; a hard link's data stays with its other names.
    await rm(path, { recursive: true, force: false }).catch((err: unknown) => {
      throw fsError(err, 'remove', path);
    });
    return 'removed';
  },
};

export function createFsDirectoryBackend(): DirectoryBackend {
  const backend: DirectoryBackend = {
    ensureVolumeDirectory: (request) => ensureVolumeDirectoryOn(backend, request),
    ensureDirectory,
    removeDirectory,
    removeEmptyDirectory,
    archiveDirectory,
    exists: async (root, subDir) => (await existingVolume(root, subDir)) !== undefined,

    async checkPathBelow(base, relative) {
      await checkRoot(base);
      await existingComponents(base, relative.split('/').filter(Boolean));
    },
    putRecord,
    getRecord,
    deleteRecord,
    ...snapshotEntryOps,
  };
  return backend;
}
