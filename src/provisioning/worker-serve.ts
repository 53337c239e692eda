// The child's side of the worker protocol (share-worker-process.ts): answers every request the
// parent sends with its value or its typed error, and ends the process once the parent is gone.
// It imports nothing that starts threads or timers.
import { WarrenError } from '../errors.ts';
import type { WorkerReply, WorkerRequest } from './share-worker-process.ts';

const replyFor = (id: number, err: unknown): WorkerReply =>
  err instanceof WarrenError
    ? { id, ok: false, kind: err.kind, message: err.message }
    : { id, ok: false, kind: 'Internal', message: err instanceof Error ? err.message : String(err) };

/** Serves `handle` to the parent; call it once the worker is ready for calls. */
export function serveWorkerRequests(handle: (req: WorkerRequest) => Promise<unknown>): void {
  process.on('message', (raw) => {
    const req = raw as WorkerRequest;
    void handle(req)
      .then(
        (value): WorkerReply => ({ id: req.id, ok: true, value }),
        (err: unknown) => replyFor(req.id, err),
      )
      .then((reply) => process.send?.(reply));
  });
  // The parent is gone: nothing else will ever read an answer.
  process.on('disconnect', () => process.exit(0));
  // Calls are sent only after this: a message that arrived before the listener above would be lost.
  process.send?.({ ready: true } satisfies WorkerReply);
}
