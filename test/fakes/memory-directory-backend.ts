// In-memory DirectoryBackend for tests of callers. It keeps the real backend's safety rules (symlinks and
// files in a volume's path are refused, roots must be "mounted") and records every call.
import { posix } from 'node:path';
import { failedPrecondition, invalidArgument, unavailable } from '../../src/errors.ts';
import {
  archiveNameFor,
  checkPermissions,
  checkRecordKey,
  type DirectoryBackend,
  type DirectoryPermissions,
  maxArchiveAttempts,
  recordDirSegments,
} from '../../src/provisioning/directory-backend.ts';
import { checkSubDir } from '../../src/provisioning/paths.ts';
import {
  checkSnapshotEntry,
  snapshotAreaMode,
  snapshotAreaSegments,
} from '../../src/provisioning/snapshot-area.ts';
import { ensureVolumeDirectoryOn } from '../../src/provisioning/volume-directory.ts';
import { quote } from '../../src/text.ts';

export type MemoryEntry =
  | { kind: 'dir'; mode: number; uid?: number; gid?: number }
  | { kind: 'file'; content: string }
  | { kind: 'symlink'; target: string };

type Operation = keyof DirectoryBackend;

export interface MemoryDirectoryBackend extends DirectoryBackend {
  /** Every call in order, with its arguments. */
  readonly calls: Array<{ op: Operation; args: unknown[] }>;
  /** Absolute path -> entry; roots are directories here too. */
  readonly entries: Map<string, MemoryEntry>;
  /** Makes `root` an existing, empty, mounted share root. */
  mountRoot(root: string): void;
  /** Places an entry at an absolute path (parents are not created), e.g. a planted symlink. */
  plant(path: string, entry: MemoryEntry): void;
  /** The next call of `op` throws `error` (after being recorded). */
  failNext(op: Operation, error: Error): void;
}

export function createMemoryDirectoryBackend(roots: string[] = []): MemoryDirectoryBackend {
  const entries = new Map<string, MemoryEntry>();
  const calls: Array<{ op: Operation; args: unknown[] }> = [];
  const failures = new Map<Operation, Error[]>();

  function record(op: Operation, args: unknown[]): void {
    calls.push({ op, args });
    const error = failures.get(op)?.shift();
    if (error) throw error;
  }

  function checkRoot(root: string): void {
    if (!posix.isAbsolute(root)) throw invalidArgument(`share root ${quote(root)} must be an absolute path`);
    if (entries.get(root)?.kind !== 'dir') {
      throw unavailable(`share root ${quote(root)} is not reachable (ENOENT); is the export mounted?`);
    }
  }

  function existingComponents(root: string, segments: readonly string[]): number {
    for (let i = 0; i < segments.length; i++) {
      const path = posix.join(root, ...segments.slice(0, i + 1));
      const entry = entries.get(path);
      if (!entry) return i;
      if (entry.kind === 'symlink') {
        throw failedPrecondition(
          `${quote(path)} is a symbolic link; Warren never follows links on a share, remove it`,
        );
      }
      if (entry.kind !== 'dir') {
        throw failedPrecondition(`${quote(path)} exists but is not a directory; remove or rename it`);
      }
    }
    return segments.length;
  }

  function createComponents(root: string, segments: readonly string[], existing: number): boolean {
    for (let i = existing; i < segments.length; i++) {
      entries.set(posix.join(root, ...segments.slice(0, i + 1)), { kind: 'dir', mode: 0o755 });
    }
    return existing < segments.length;
  }

  /** Validates and returns the volume's path and whether it exists. */
  function volume(root: string, subDir: string): { path: string; present: boolean; segments: string[] } {
    checkSubDir(subDir, 'subDir');
    checkRoot(root);
    const segments = subDir.split('/');
    const present = existingComponents(root, segments) === segments.length;
    return { path: posix.join(root, ...segments), present, segments };
  }

  const isWithin = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

  function recordPath(root: string, key: string, create: boolean): string | undefined {
    checkRecordKey(key);
    checkRoot(root);
    const existing = existingComponents(root, recordDirSegments);
    if (existing < recordDirSegments.length && !create) return undefined;
    createComponents(root, recordDirSegments, existing);
    return posix.join(root, ...recordDirSegments, `${key}.json`);
  }

  /** The entry's path and whether it exists; every component must be a directory. */
  function snapshotEntry(root: string, entry: string): { path: string; present: boolean } {
    checkSnapshotEntry(entry);
    checkRoot(root);
    const segments = [...snapshotAreaSegments, entry];
    return {
      path: posix.join(root, ...segments),
      present: existingComponents(root, segments) === segments.length,
    };
  }

  const backend: MemoryDirectoryBackend = {
    calls,
    entries,
    mountRoot: (root) => void entries.set(root, { kind: 'dir', mode: 0o755 }),
    plant: (path, entry) => void entries.set(path, entry),
    failNext: (op, error) => void failures.set(op, [...(failures.get(op) ?? []), error]),

    // The same steps as the real backend runs, over this fake's primitives (whose calls are recorded).
    ensureVolumeDirectory: (request) => ensureVolumeDirectoryOn(backend, request),

    async ensureDirectory(root, subDir, perms: DirectoryPermissions) {
      record('ensureDirectory', [root, subDir, { ...perms }]);
      checkPermissions(perms);
      const { path, segments } = volume(root, subDir);
      const created = createComponents(root, segments, existingComponents(root, segments));
      const leaf = { kind: 'dir' as const, mode: perms.mode, uid: perms.uid, gid: perms.gid };
      const previous = entries.get(path);
      if (previous?.kind === 'dir') {
        leaf.uid = perms.uid ?? previous.uid;
        leaf.gid = perms.gid ?? previous.gid;
      }
      entries.set(path, leaf);
      return created ? 'created' : 'existed';
    },

    async removeDirectory(root, subDir) {
      record('removeDirectory', [root, subDir]);
      const { path, present } = volume(root, subDir);
      if (!present) return 'missing';
      // Symlinks inside are entries of their own: removing them never touches their targets.
      for (const key of [...entries.keys()]) if (isWithin(key, path)) entries.delete(key);
      return 'removed';
    },

    async removeEmptyDirectory(root, subDir) {
      record('removeEmptyDirectory', [root, subDir]);
      const { path, present } = volume(root, subDir);
      if (!present) return 'missing';
      if ([...entries.keys()].some((key) => key !== path && isWithin(key, path))) return 'not-empty';
      entries.delete(path);
      return 'removed';
    },

    async archiveDirectory(root, subDir, now) {
      record('archiveDirectory', [root, subDir, now]);
      const { path, present, segments } = volume(root, subDir);
      if (!present) return 'missing';
      const leaf = segments.pop() ?? '';
      for (let attempt = 0; attempt < maxArchiveAttempts; attempt++) {
        const name = archiveNameFor(leaf, now, attempt);
        const target = posix.join(root, ...segments, name);
        if (entries.has(target)) continue;
        for (const [key, entry] of [...entries]) {
          if (!isWithin(key, path)) continue;
          entries.delete(key);
          entries.set(target + key.slice(path.length), entry);
        }
        return { archivedAs: [...segments, name].join('/') };
      }
      throw failedPrecondition(
        `cannot archive ${quote(path)}: ${maxArchiveAttempts} archive names are already taken`,
      );
    },

    async exists(root, subDir) {
      record('exists', [root, subDir]);
      return volume(root, subDir).present;
    },

    async checkPathBelow(base, relative) {
      record('checkPathBelow', [base, relative]);
      checkRoot(base);
      existingComponents(base, relative.split('/').filter(Boolean));
    },

    async putRecord(root, key, value) {
      record('putRecord', [root, key, value]);
      const text = JSON.stringify(value);
      if (text === undefined) throw invalidArgument(`record ${quote(key)} is not JSON-serialisable`);
      entries.set(recordPath(root, key, true) ?? '', { kind: 'file', content: text });
    },

    async getRecord(root, key) {
      record('getRecord', [root, key]);
      const path = recordPath(root, key, false);
      const entry = path === undefined ? undefined : entries.get(path);
      if (entry?.kind === 'symlink') {
        throw failedPrecondition(`record ${quote(path ?? '')} is a symbolic link; remove it`);
      }
      return entry?.kind === 'file' ? JSON.parse(entry.content) : undefined;
    },

    async deleteRecord(root, key) {
      record('deleteRecord', [root, key]);
      const path = recordPath(root, key, false);
      if (path !== undefined) entries.delete(path);
    },

    async listSnapshotEntries(root) {
      record('listSnapshotEntries', [root]);
      checkRoot(root);
      if (existingComponents(root, snapshotAreaSegments) < snapshotAreaSegments.length) return [];
      const area = `${posix.join(root, ...snapshotAreaSegments)}/`;
      return [...entries.keys()]
        .filter((key) => key.startsWith(area) && !key.slice(area.length).includes('/'))
        .map((key) => key.slice(area.length))
        .sort();
    },

    async makeSnapshotEntry(root, entry) {
      record('makeSnapshotEntry', [root, entry]);
      const { path, present } = snapshotEntry(root, entry);
      if (present) return 'existed';
      for (let i = 1; i <= snapshotAreaSegments.length; i++) {
        const dir = posix.join(root, ...snapshotAreaSegments.slice(0, i));
        if (!entries.has(dir)) entries.set(dir, { kind: 'dir', mode: snapshotAreaMode });
      }
      entries.set(path, { kind: 'dir', mode: snapshotAreaMode });
      return 'created';
    },

    async renameSnapshotEntry(root, from, to) {
      record('renameSnapshotEntry', [root, from, to]);
      const source = snapshotEntry(root, from);
      const target = snapshotEntry(root, to);
      if (!source.present) return 'missing';
      if (entries.has(target.path)) return 'target-exists';
      for (const [key, entry] of [...entries]) {
        if (!isWithin(key, source.path)) continue;
        entries.delete(key);
        entries.set(target.path + key.slice(source.path.length), entry);
      }
      return 'renamed';
    },

    async removeSnapshotEntry(root, entry) {
      record('removeSnapshotEntry', [root, entry]);
      const { path, present } = snapshotEntry(root, entry);
      if (!present) return 'missing';
      for (const key of [...entries.keys()]) if (isWithin(key, path)) entries.delete(key);
      return 'removed';
    },
  };
  for (const root of roots) backend.mountRoot(root);
  return backend;
}
