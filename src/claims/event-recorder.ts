// Kubernetes Events with aggregation: a repeat of the same object+reason+message updates the
// count of the existing Event instead of creating a new one, and at most one write per
// minIntervalMs is made for it, so a claim stuck in a retry loop cannot flood the API.
// At most maxInFlight writes run at once; beyond maxQueued waiting writes, an Event is dropped
// (and logged): a burst of claims is never held up by its Events, nor queues them without bound.
import type { CoreV1Event, V1ObjectReference } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeApi } from '../kube/api.ts';
import { eventPath, eventsPath } from '../kube/paths.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** Resolves once the Event is written, dropped or failed (logged); never rejects, so callers need not wait. */
  record(object: V1ObjectReference, type: EventType, reason: string, message: string): Promise<void>;
}

interface Seen {
  eventName: string;
  namespace: string;
  count: number;
  lastWriteMs: number;
}

export function makeEventRecorder(opts: {
  api: Pick<KubeApi, 'create' | 'patch'>;
  component: string;
  log: Logger;
  minIntervalMs?: number;
  maxInFlight?: number;
  maxQueued?: number;
  now?: () => Date;
}): EventRecorder {
  const seen = new Map<string, Seen>();
  const minInterval = opts.minIntervalMs ?? 10_000;
  const now = opts.now ?? (() => new Date());
  const maxInFlight = opts.maxInFlight ?? 8;
  const maxQueued = opts.maxQueued ?? 1000;
  let inFlight = 0;
  const queued: Array<() => void> = [];

  /** Runs one write within the limits; false if it was dropped instead. */
  async function write(reason: string, fn: () => Promise<unknown>): Promise<boolean> {
    if (inFlight >= maxInFlight) {
      if (queued.length >= maxQueued) {
        opts.log.warn(
          { reason, queued: queued.length },
          'too many Events waiting to be written; dropped one',
        );
        return false;
      }
      // The slot is handed over by the write that ends (inFlight stays counted).
      await new Promise<void>((resolve) => queued.push(resolve));
    } else {
      inFlight += 1;
    }
    try {
      await fn();
      return true;
    } finally {
      const next = queued.shift();
      if (next) next();
      else inFlight -= 1;
    }
  }

  return {
    async record(object, type, reason, message) {
      const key = `${object.uid}\u0000${reason}\u0000${message}`;
      const at = now();
      const entry = seen.get(key);
      try {
        if (!entry) {
          const namespace = object.namespace || 'default';
          const eventName = `${object.name}.${at.getTime().toString(16)}${Math.random().toString(16).slice(2, 6)}`;
          seen.set(key, { eventName, namespace, count: 1, lastWriteMs: at.getTime() });
          const written = await write(reason, () =>
            opts.api.create(
              eventsPath(namespace),
              eventBody({
                eventName,
                namespace,
                object,
                type,
                reason,
                message,
                component: opts.component,
                at,
                count: 1,
              }),
            ),
          );
          if (!written) seen.delete(key);
          trim(seen);
          return;
        }
        entry.count += 1;
        if (at.getTime() - entry.lastWriteMs < minInterval) return;
        entry.lastWriteMs = at.getTime();
        await write(reason, () =>
          opts.api.patch(
            eventPath(entry.namespace, entry.eventName),
            [
              { op: 'replace', path: '/count', value: entry.count },
              { op: 'replace', path: '/lastTimestamp', value: at.toISOString() },
            ],
            'json',
          ),
        );
      } catch (err) {
        // An event is a courtesy to the user; failing to write one must not fail the reconcile.
        seen.delete(key);
        opts.log.warn({ reason, err: (err as Error).message }, 'could not record an event');
      }
    },
  };
}

function eventBody(e: {
  eventName: string;
  namespace: string;
  object: V1ObjectReference;
  type: EventType;
  reason: string;
  message: string;
  component: string;
  at: Date;
  count: number;
}): CoreV1Event {
  return {
    metadata: { name: e.eventName, namespace: e.namespace },
    involvedObject: e.object,
    type: e.type,
    reason: e.reason,
    message: e.message.slice(0, 1024),
    source: { component: e.component },
    reportingComponent: e.component,
    firstTimestamp: e.at,
    lastTimestamp: e.at,
    count: e.count,
  };
}

/** Forget the oldest entries beyond a bound; the map only serves aggregation. */
function trim(seen: Map<string, Seen>, max = 4096): void {
  for (const key of seen.keys()) {
    if (seen.size <= max) return;
    seen.delete(key);
  }
}
