// Entry of a copy worker process (see share-copies.ts): runs clone copies with the copy engine and
// reports their progress to the parent: bytes per copy, and how many file system calls it started.
//
// The call count is what tells a working copy from a stuck one. A copy of many empty files, links
// or directories writes no bytes for long stretches, yet each entry starts new file system calls;
// a copy whose NFS server stopped answering starts none (every call in flight waits, and the next
// ones wait on them). The count comes from an async hook on the fs request resources, so the copy
// engine itself knows nothing of it.
import { createHook } from 'node:async_hooks';
import { WarrenError } from '../errors.ts';
import type { WorkerReply, WorkerRequest } from './share-worker-process.ts';
import { type CopyOptions, copyTree } from './tree-copy.ts';
import { serveWorkerRequests } from './worker-serve.ts';

/** How often progress is sent while copies run. */
const reportEveryMs = 250;
/** The async resources of file system requests (promise and callback forms, directory reads). */
const fsRequests = new Set(['FSREQPROMISE', 'FSREQCALLBACK', 'FILEHANDLECLOSEREQ']);

let calls = 0;
const bytes = new Map<number, number>();
const hook = createHook({
  init(_id, type) {
    if (fsRequests.has(type)) calls++;
  },
});
let running = 0;
let reporter: NodeJS.Timeout | undefined;

function report(): void {
  if (calls === 0 && bytes.size === 0) return;
  const reply: WorkerReply = { progress: { calls, bytes: [...bytes] } };
  calls = 0;
  bytes.clear();
  process.send?.(reply);
}

function started(): void {
  if (running++ > 0) return;
  hook.enable();
  reporter = setInterval(report, reportEveryMs);
}

function ended(): void {
  if (--running > 0) return;
  hook.disable();
  clearInterval(reporter);
}

async function copy(req: WorkerRequest): Promise<unknown> {
  if (req.op !== 'copy') throw new WarrenError('Internal', `unknown copy worker operation ${req.op}`);
  const [source, target, options] = req.args as [string, string, CopyOptions | undefined];
  started();
  try {
    return await copyTree(
      source,
      target,
      (n) => bytes.set(req.id, (bytes.get(req.id) ?? 0) + n),
      options ?? {},
    );
  } finally {
    report(); // the last bytes reach the parent before the answer does
    bytes.delete(req.id);
    ended();
  }
}

serveWorkerRequests(copy);
