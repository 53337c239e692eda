// The real ShareWorker: a child process per share that runs the fs directory backend; the same
// machinery starts the copy workers of share-copies.ts (another entry, with progress reports).
//
// Why a process and not a worker thread (measured with Node 24 on Linux, a FIFO standing in for a
// frozen NFS server, /tmp/iso-exp in the change that added this file):
// - libuv's threadpool (4 threads) is process-wide: `fs.promises` calls blocked in four worker
//   threads left a `stat` on the main thread unanswered. Worker threads alone isolate nothing.
// - Synchronous fs calls in a worker thread block only that thread, and the pool stays free; but
//   such a thread cannot be stopped while it is in the kernel, and process.exit() then waits for
//   it forever (the process hung at exit until killed from outside).
// - A child process has a pool of its own: four of its calls stuck left the parent's fs calls
//   answering at once, SIGKILL ended it in 3 ms (a hard NFS mount waits killably), and the parent
//   exits without waiting for it. The cost is one Node process per share in use (~40 MiB RSS).
import { type ChildProcess, fork } from 'node:child_process';
import { type ErrorKind, WarrenError } from '../errors.ts';
import { siblingEntry } from '../shipped.ts';
import type { CopyWorker } from './share-copies.ts';
import type { ShareWorker } from './share-lanes.ts';

export interface WorkerRequest {
  id: number;
  op: string;
  args: unknown[];
}

export type WorkerReply =
  | { ready: true }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; kind: ErrorKind; message: string }
  /** Work done since the last report: file system calls started, and bytes per running call. */
  | { progress: { calls: number; bytes: Array<[id: number, bytes: number]> } };

const shareEntry = siblingEntry('share-worker-main', import.meta.url);
const copyEntry = siblingEntry('share-copy-worker-main', import.meta.url);

export function startShareWorkerProcess(share: string): ShareWorker {
  return startWorkerProcess(shareEntry, [share]);
}

/** A copy worker for the shares named in `key` (its command line says so, for `ps`). */
export function startCopyWorkerProcess(key: string): CopyWorker {
  return startWorkerProcess(copyEntry, [key]);
}

function startWorkerProcess(entry: URL, argv: string[]): CopyWorker {
  const child: ChildProcess = fork(entry, argv, {
    // A worker's messages are small and short-lived: a 1 MB young generation (V8's default grows
    // to 16 MB per semi-space under load) keeps its RSS near a bare Node's.
    execArgv: ['--disable-warning=ExperimentalWarning', '--max-semi-space-size=1'],
    serialization: 'advanced',
    // No pipes: a child stuck in the kernel then holds nothing the parent waits on.
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const calls = new Map<
    number,
    { resolve(v: unknown): void; reject(e: Error): void; onBytes?: (bytes: number) => void }
  >();
  const exitListeners: Array<(why: string) => void> = [];
  const progressListeners: Array<() => void> = [];
  let nextId = 1;
  let exitedWhy: string | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const exited = new Promise<void>((resolve) => {
    const onGone = (why: string) => {
      if (exitedWhy !== undefined) return;
      exitedWhy = why;
      for (const call of calls.values()) call.reject(new WarrenError('Unavailable', `share worker ${why}`));
      calls.clear();
      for (const listener of exitListeners) listener(why);
      resolve();
    };
    child.once('exit', (code, signal) => onGone(signal ? `killed by ${signal}` : `exited with code ${code}`));
    child.once('error', (err) => onGone(`failed: ${err.message}`));
  });
  child.on('message', (raw) => {
    const reply = raw as WorkerReply;
    if ('ready' in reply) return markReady();
    if ('progress' in reply) {
      for (const [id, bytes] of reply.progress.bytes) calls.get(id)?.onBytes?.(bytes);
      for (const listener of progressListeners) listener();
      return;
    }
    const call = calls.get(reply.id);
    if (!call) return;
    calls.delete(reply.id);
    if (reply.ok) call.resolve(reply.value);
    else call.reject(new WarrenError(reply.kind, reply.message));
  });
  return {
    ready,
    call(op, args, onBytes) {
      if (exitedWhy !== undefined)
        return Promise.reject(new WarrenError('Unavailable', `share worker ${exitedWhy}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        calls.set(id, { resolve, reject, onBytes });
        child.send({ id, op, args } satisfies WorkerRequest, (err) => {
          if (!err || !calls.has(id)) return;
          calls.delete(id);
          reject(new WarrenError('Unavailable', `cannot reach the share worker: ${err.message}`));
        });
      });
    },
    abandon() {
      exitListeners.length = 0; // an abandoned worker's end is expected, not a crash
      progressListeners.length = 0;
      if (exitedWhy === undefined) child.kill('SIGKILL');
      return exited;
    },
    onExit(listener) {
      if (exitedWhy === undefined) exitListeners.push(listener);
    },
    onProgress(listener) {
      progressListeners.push(listener);
    },
  };
}
