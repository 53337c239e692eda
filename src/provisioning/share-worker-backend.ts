// DirectoryBackend that runs every operation in the lane of the share it touches (share-lanes.ts),
// so that a share whose NFS server stops answering cannot stall the others or the process.
import type { DirectoryBackend } from './directory-backend.ts';
import { type CopyTimings, createShareCopier, type ShareCopier } from './share-copies.ts';
import { createShareLanes, type ShareLanes, type ShareLanesOptions } from './share-lanes.ts';
import { startCopyWorkerProcess, startShareWorkerProcess } from './share-worker-process.ts';

export function directoryBackendOver(lanes: ShareLanes): DirectoryBackend {
  const run = <T>(root: string, op: keyof DirectoryBackend, args: unknown[]) =>
    lanes.run(root, op, [root, ...args]) as Promise<T>;
  return {
    // One call for the whole sequence: the steps run in the worker, next to the share.
    ensureVolumeDirectory: (request) =>
      lanes.run(request.share.root, 'ensureVolumeDirectory', [request]) as Promise<'created' | 'existed'>,
    ensureDirectory: (root, subDir, perms) => run(root, 'ensureDirectory', [subDir, perms]),
    removeDirectory: (root, subDir) => run(root, 'removeDirectory', [subDir]),
    removeEmptyDirectory: (root, subDir) => run(root, 'removeEmptyDirectory', [subDir]),
    archiveDirectory: (root, subDir, now) => run(root, 'archiveDirectory', [subDir, now]),
    exists: (root, subDir) => run(root, 'exists', [subDir]),
    checkPathBelow: (base, relative) => run(base, 'checkPathBelow', [relative]),
    putRecord: (root, key, record) => run(root, 'putRecord', [key, record]),
    getRecord: (root, key) => run(root, 'getRecord', [key]),
    deleteRecord: (root, key) => run(root, 'deleteRecord', [key]),
    listSnapshotEntries: (root) => run(root, 'listSnapshotEntries', []),
    makeSnapshotEntry: (root, entry) => run(root, 'makeSnapshotEntry', [entry]),
    renameSnapshotEntry: (root, from, to) => run(root, 'renameSnapshotEntry', [from, to]),
    removeSnapshotEntry: (root, entry) => run(root, 'removeSnapshotEntry', [entry]),
  };
}

export interface ShareIo {
  backend: DirectoryBackend;
  lanes: ShareLanes;
  /** Clone copies, in copy workers of their own (share-copies.ts). */
  copier: ShareCopier;
  /** Ends every worker. */
  close(): Promise<void>;
}

/** The production wiring: one worker process per share, and copy workers for clones. */
export function createShareWorkerBackend(
  opts: Omit<ShareLanesOptions, 'startWorker'> & { copyTimings?: Partial<CopyTimings> },
): ShareIo {
  const lanes = createShareLanes({ ...opts, startWorker: startShareWorkerProcess });
  const copier = createShareCopier({ lanes, startWorker: startCopyWorkerProcess, timings: opts.copyTimings });
  return {
    backend: directoryBackendOver(lanes),
    lanes,
    copier,
    close: async () => {
      await Promise.all([copier.close(), lanes.close()]);
    },
  };
}
