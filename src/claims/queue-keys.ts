// The work queue's keys: which object a reconcile is for, written and read in this one place.
// Kubernetes names never contain "/", so the text form splits without ambiguity.

export type QueueKey =
  | { kind: 'claim'; namespace: string; name: string }
  | { kind: 'volume'; name: string }
  | { kind: 'content'; name: string };

export const claimKey = (namespace: string, name: string): string => `claim/${namespace}/${name}`;
export const volumeKey = (name: string): string => `volume/${name}`;
/** A VolumeSnapshotContent (cluster-scoped). */
export const contentKey = (name: string): string => `content/${name}`;

export function parseQueueKey(key: string): QueueKey {
  const [kind, a = '', b = ''] = key.split('/');
  if (kind === 'claim') return { kind, namespace: a, name: b };
  if (kind === 'volume' || kind === 'content') return { kind, name: a };
  throw new Error(`not a queue key: ${key}`);
}
