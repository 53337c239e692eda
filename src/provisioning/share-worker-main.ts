// Entry of a share's worker process (see share-worker-process.ts): runs the fs directory backend
// for the parent and answers probes. It imports nothing that starts threads or timers.
import { statfsSync, statSync } from 'node:fs';
import { WarrenError } from '../errors.ts';
import type { DirectoryBackend } from './directory-backend.ts';
import { createFsDirectoryBackend } from './fs-directory-backend.ts';
import type { ProbeResult } from './share-lanes.ts';
import type { WorkerRequest } from './share-worker-process.ts';
import { serveWorkerRequests } from './worker-serve.ts';

const backend = createFsDirectoryBackend();
const operations = new Set<string>([
  'ensureVolumeDirectory',
  'ensureDirectory',
  'removeDirectory',
  'removeEmptyDirectory',
  'archiveDirectory',
  'exists',
  'checkPathBelow',
  'putRecord',
  'getRecord',
  'deleteRecord',
  'listSnapshotEntries',
  'makeSnapshotEntry',
  'renameSnapshotEntry',
  'removeSnapshotEntry',
] satisfies Array<keyof DirectoryBackend>);

/**
 * statfs always goes to the NFS server (stat alone may be answered from the client's attribute
 * cache for up to a minute while the server is frozen). Both are synchronous on purpose: they
 * block this process's main thread only, never a pool thread that a queued operation waits for.
 */
function probe(root: string): ProbeResult {
  try {
    statfsSync(root);
    const ok = statSync(root).isDirectory();
    return { ok, detail: ok ? 'answers' : `${root} is not a directory` };
  } catch (err) {
    return { ok: false, detail: `${root}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}

async function run(req: WorkerRequest): Promise<unknown> {
  if (req.op === 'probe') return probe(String(req.args[0]));
  if (!operations.has(req.op)) throw new WarrenError('Internal', `unknown share operation ${req.op}`);
  const method = backend[req.op as keyof DirectoryBackend] as (...args: unknown[]) => Promise<unknown>;
  return method(...req.args);
}

serveWorkerRequests(run);
