// The reconcilers on fakes: an in-memory cluster (objects, the caches over them, the writes
// the controller makes, recorded) and an event recorder that keeps what it is given. The
// directory backend is the project's in-memory one, the metrics and the logger are real.
import type {
  ObjectCache,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { Counter } from 'prom-client';
import { claimFacts, pvNameFor } from '../../src/claims/claim-plan.ts';
import { reconcileClaim } from '../../src/claims/claim-reconciler.ts';
import { clonedFromAnnotation } from '../../src/claims/clone-plan.ts';
import type { ClusterWrites } from '../../src/claims/cluster-writes.ts';
import { makeCopyLane } from '../../src/claims/copy-lane.ts';
import type { CrashPoint, ReconcileDeps } from '../../src/claims/deps.ts';
import type { EventRecorder, EventType } from '../../src/claims/event-recorder.ts';
import { makeMetrics } from '../../src/claims/metrics.ts';
import {
  bindCompletedAnnotation,
  directoryFinalizer,
  intentAnnotation,
} from '../../src/claims/object-names.ts';
import { buildVolume } from '../../src/claims/volume-builder.ts';
import { volumeLookupOf } from '../../src/claims/volume-index.ts';
import type { Outcome } from '../../src/claims/work-queue.ts';
import { WarrenError } from '../../src/errors.ts';
import { parseClassParameters } from '../../src/provisioning/parameters.ts';
import { serializeIntent, type VolumeIntent, volumeIntentFor } from '../../src/provisioning/volume-intent.ts';
import {
  createMemoryDirectoryBackend,
  type MemoryDirectoryBackend,
} from '../fakes/memory-directory-backend.ts';
import { createMemoryTreeCopier, type MemoryTreeCopier } from '../fakes/memory-tree-copier.ts';
import { captureLog } from './csi-log-capture.ts';

export const provisioner = 'nfs.warren.dev';
export const server = 'nfs.example.com';
export const root = '/mnt/export';
export const uid = '0b6a4c2e-1111-2222-3333-444455556666';
export const pvName = `pvc-${uid}`;
export const now = new Date('2025-06-01T12:00:00.000Z');
export const deletedAt = new Date('2025-06-01T11:59:00.000Z');
export const madeAt = new Date('2025-05-01T00:00:00.000Z');
/** Where the default template puts the claim below. */
export const subDir = `team-a-data-${pvName}`;

export function storageClass(parameters: Record<string, string> = {}): V1StorageClass {
  return {
    metadata: { name: 'warren' },
    provisioner,
    reclaimPolicy: 'Delete',
    parameters: { server, share: '/export', ...parameters },
  };
}

/** Our claim, asking for a volume of class `warren`, in team-a. */
export function claim(
  shape: {
    annotations?: Record<string, string>;
    finalizers?: string[];
    deleting?: boolean;
    /** Bound: kube-controller-manager has bound the claim to its PV. */
    bound?: boolean;
    /** Pre-bound: Warren has set spec.volumeName to the PV it is about to make (not yet Bound). */
    preBound?: boolean;
  } = {},
): V1PersistentVolumeClaim {
  return {
    metadata: {
      namespace: 'team-a',
      name: 'data',
      uid,
      resourceVersion: '1',
      annotations: { 'volume.kubernetes.io/storage-provisioner': provisioner, ...shape.annotations },
      ...(shape.finalizers ? { finalizers: shape.finalizers } : {}),
      ...(shape.deleting ? { deletionTimestamp: deletedAt } : {}),
    },
    spec: {
      storageClassName: 'warren',
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: '1Gi' } },
      ...(shape.bound || shape.preBound ? { volumeName: pvName } : {}),
    },
    ...(shape.bound ? { status: { phase: 'Bound' } } : {}),
  };
}

/** What the controller plans for `c` in class `sc` (the same functions the reconciler uses). */
export function planFor(c: V1PersistentVolumeClaim, sc: V1StorageClass): VolumeIntent {
  return volumeIntentFor(parseClassParameters(sc.parameters), claimFacts(c), pvNameFor(c));
}

/** A claim deleted after its intent for `sc` was recorded, before its PV was made. */
export function deletedMidProvisioning(sc: V1StorageClass, intent?: string): V1PersistentVolumeClaim {
  const base = claim();
  return claim({
    finalizers: ['kubernetes.io/pvc-protection', directoryFinalizer],
    deleting: true,
    annotations: { [intentAnnotation]: intent ?? serializeIntent(planFor(base, sc)) },
  });
}

/** The PV Warren made for `c` in class `sc`, in `phase`. */
export function volumeFor(
  c: V1PersistentVolumeClaim,
  sc: V1StorageClass,
  phase = 'Released',
): V1PersistentVolume {
  const pv = buildVolume({ claim: c, storageClass: sc, provisioner, intent: planFor(c, sc) });
  return {
    ...pv,
    metadata: {
      ...pv.metadata,
      uid: `uid-${pv.metadata?.name}`,
      resourceVersion: '7',
      // Made before the share's ownership era would begin (at the first release, `now`).
      creationTimestamp: madeAt,
      finalizers: ['kubernetes.io/pv-protection', directoryFinalizer],
    },
    status: { phase },
  };
}

/** Another claim's PV (team-b/data) whose directory is `subDir` too, as a template without the PV name allows. */
export function sharingVolume(sc: V1StorageClass): V1PersistentVolume {
  const base = claim();
  const other = { ...base, metadata: { ...base.metadata, namespace: 'team-b', uid: 'uid-b' } };
  const pv = volumeFor(other, sc, 'Bound');
  const csi = { driver: provisioner, volumeHandle: 'its own handle' };
  const attrs = { ...pv.spec?.csi?.volumeAttributes, subDir };
  return { ...pv, spec: { ...pv.spec, csi: { ...csi, volumeAttributes: attrs } } };
}

export type WriteOp = keyof ClusterWrites;

export interface RecordedEvent {
  kind: string | undefined;
  name: string | undefined;
  type: EventType;
  reason: string;
  message: string;
}

/** Objects by key (`namespace/name` for claims, name otherwise). */
export interface FakeCluster {
  claims: Map<string, V1PersistentVolumeClaim>;
  classes: Map<string, V1StorageClass>;
  volumes: Map<string, V1PersistentVolume>;
  /** Every write in order, with the key of the object written. */
  writes: Array<{ op: WriteOp; key: string }>;
  events: RecordedEvent[];
  /** The next call of `op` rejects with `error` (after being recorded). */
  failNext(op: WriteOp, error: Error): void;
}

const claimKey = (c: V1PersistentVolumeClaim) => `${c.metadata?.namespace}/${c.metadata?.name}`;

/** A live view of a map, as an informer's cache (the caches never lag unless a test swaps one in). */
export function cacheOf<T>(map: Map<string, T>): ObjectCache<T> {
  return {
    get: (name, namespace) => map.get(namespace === undefined ? name : `${namespace}/${name}`),
    list: () => [...map.values()],
  };
}

/**
 * Writes that behave like the API server's: finalizers and annotations change as patched, an
 * object being deleted goes once its last finalizer is removed, create answers 'exists' on a
 * name that is taken.
 */
function fakeWrites(cluster: Omit<FakeCluster, 'failNext'>, failures: Map<WriteOp, Error[]>): ClusterWrites {
  const record = (op: WriteOp, key: string) => {
    cluster.writes.push({ op, key });
    const error = failures.get(op)?.shift();
    if (error) throw error;
  };
  const withoutOurFinalizer = (finalizers: string[] | undefined) =>
    (finalizers ?? []).filter((f) => f !== directoryFinalizer);
  /** Our finalizer and the intent off the stored claim; the claim as stored after, if it stays. */
  const dropIntent = (c: V1PersistentVolumeClaim) => {
    const stored = cluster.claims.get(claimKey(c));
    if (!stored) return undefined;
    const { [intentAnnotation]: _, ...annotations } = stored.metadata?.annotations ?? {};
    const finalizers = withoutOurFinalizer(stored.metadata?.finalizers);
    if (stored.metadata?.deletionTimestamp && finalizers.length === 0) {
      cluster.claims.delete(claimKey(c));
      return undefined;
    }
    const updated = { ...stored, metadata: { ...stored.metadata, finalizers, annotations } };
    cluster.claims.set(claimKey(c), updated);
    return updated;
  };
  return {
    async recordIntent(c, intent, volumeName) {
      record('recordIntent', claimKey(c));
      const stored = cluster.claims.get(claimKey(c));
      const meta = stored?.metadata ?? {};
      const updated: V1PersistentVolumeClaim = {
        ...stored,
        spec: { ...stored?.spec, volumeName },
        metadata: {
          ...meta,
          resourceVersion: String(Number(meta.resourceVersion ?? '0') + 1),
          finalizers: [...withoutOurFinalizer(meta.finalizers), directoryFinalizer],
          annotations: { ...meta.annotations, [intentAnnotation]: intent },
        },
      };
      cluster.claims.set(claimKey(c), updated);
      return updated;
    },
    async clearIntent(c) {
      record('clearIntent', claimKey(c));
      dropIntent(c);
    },
    async completeBinding(c, binding) {
      record('completeBinding', claimKey(c));
      const stored = dropIntent(c);
      // As the real write: a claim being deleted is only let go.
      if (!stored || stored.metadata?.deletionTimestamp) return;
      cluster.claims.set(claimKey(c), {
        ...stored,
        metadata: {
          ...stored.metadata,
          annotations: { ...stored.metadata?.annotations, [bindCompletedAnnotation]: 'yes' },
        },
        status: { ...stored.status, phase: 'Bound', ...binding },
      });
    },
    async createVolume(pv) {
      const name = pv.metadata?.name ?? '';
      record('createVolume', name);
      const existing = cluster.volumes.get(name);
      if (existing) return { result: 'exists', existing };
      cluster.volumes.set(name, pv);
      return { result: 'created' };
    },
    async readVolume(name) {
      record('readVolume', name);
      return cluster.volumes.get(name);
    },
    async readClaim(namespace, name) {
      record('readClaim', `${namespace}/${name}`);
      return cluster.claims.get(`${namespace}/${name}`);
    },
    async markVolumeReleased(pv) {
      const name = pv.metadata?.name ?? '';
      record('markVolumeReleased', name);
      const stored = cluster.volumes.get(name);
      if (!stored) return undefined;
      const meta = stored.metadata ?? {};
      if (meta.resourceVersion !== pv.metadata?.resourceVersion)
        throw new WarrenError('Aborted', `PV ${name} changed meanwhile`);
      const updated: V1PersistentVolume = {
        ...stored,
        metadata: { ...meta, resourceVersion: String(Number(meta.resourceVersion ?? '0') + 1) },
        status: { ...stored.status, phase: 'Released' },
      };
      cluster.volumes.set(name, updated);
      return updated;
    },
    async removeVolumeFinalizer(pv) {
      const name = pv.metadata?.name ?? '';
      record('removeVolumeFinalizer', name);
      const stored = cluster.volumes.get(name);
      if (!stored) return;
      cluster.volumes.set(name, {
        ...stored,
        metadata: { ...stored.metadata, finalizers: withoutOurFinalizer(stored.metadata?.finalizers) },
      });
    },
    async setClaimFinalizer(c, finalizer, hold) {
      record('setClaimFinalizer', claimKey(c));
      const stored = cluster.claims.get(claimKey(c));
      if (!stored) return;
      const others = (stored.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
      cluster.claims.set(claimKey(c), {
        ...stored,
        metadata: { ...stored.metadata, finalizers: hold ? [...others, finalizer] : others },
      });
    },
    async markCloned(c, from) {
      record('markCloned', claimKey(c));
      const stored = cluster.claims.get(claimKey(c)) ?? c;
      const updated = {
        ...stored,
        metadata: {
          ...stored.metadata,
          annotations: { ...stored.metadata?.annotations, [clonedFromAnnotation]: from },
        },
      };
      cluster.claims.set(claimKey(c), updated);
      return updated;
    },
    async patchClaimStatus(c, patch) {
      record('patchClaimStatus', claimKey(c));
      const stored = cluster.claims.get(claimKey(c));
      if (!stored) throw Object.assign(new Error('claim not found'), { code: 404 });
      const status = { ...stored.status } as Record<string, unknown>;
      for (const [field, value] of Object.entries(patch)) {
        if (Array.isArray(value) || typeof value !== 'object' || value === null) status[field] = value;
        else status[field] = mergeMap(status[field] as Record<string, string> | undefined, value);
      }
      const meta = stored.metadata ?? {};
      const updated: V1PersistentVolumeClaim = {
        ...stored,
        metadata: { ...meta, resourceVersion: String(Number(meta.resourceVersion ?? '0') + 1) },
        status,
      };
      cluster.claims.set(claimKey(c), updated);
      return updated;
    },
    async setVolumeCapacity(pv, storage) {
      const name = pv.metadata?.name ?? '';
      record('setVolumeCapacity', name);
      const stored = cluster.volumes.get(name);
      if (!stored) throw Object.assign(new Error('volume not found'), { code: 404 });
      cluster.volumes.set(name, { ...stored, spec: { ...stored.spec, capacity: { storage } } });
    },
    async deleteVolume(name) {
      record('deleteVolume', name);
      // Other finalizers (pv-protection) would hold it a while; to Warren it is gone.
      cluster.volumes.delete(name);
    },
  };
}

/** A JSON merge patch of a string map: null removes a key; an empty result is no map at all. */
function mergeMap(
  old: Record<string, string> | undefined,
  patch: Record<string, string | null>,
): Record<string, string> | undefined {
  const merged: Record<string, string> = { ...old };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return Object.keys(merged).length > 0 ? merged : undefined;
}

function fakeEvents(events: RecordedEvent[]): EventRecorder {
  return {
    async record(object, type, reason, message) {
      events.push({ kind: object.kind, name: object.name, type, reason, message });
    },
  };
}

export interface Harness {
  deps: ReconcileDeps;
  cluster: FakeCluster;
  backend: MemoryDirectoryBackend;
  crashPoints: CrashPoint[];
  copier: MemoryTreeCopier;
  /** Keys the copy lane re-queued, in order. */
  settled: string[];
  /** Every log line of the run, parsed. */
  logs(): Array<Record<string, unknown>>;
}

/** The reconcilers' dependencies on fakes, holding `objects`; one share, mounted at `root`. */
export function harness(
  objects: {
    claims?: V1PersistentVolumeClaim[];
    classes?: V1StorageClass[];
    volumes?: V1PersistentVolume[];
  } = {},
): Harness {
  const failures = new Map<WriteOp, Error[]>();
  const state = {
    claims: new Map((objects.claims ?? []).map((c) => [claimKey(c), c])),
    classes: new Map((objects.classes ?? []).map((sc) => [sc.metadata?.name ?? '', sc])),
    volumes: new Map((objects.volumes ?? []).map((pv) => [pv.metadata?.name ?? '', pv])),
    writes: [] as FakeCluster['writes'],
    events: [] as RecordedEvent[],
  };
  const cluster: FakeCluster = {
    ...state,
    failNext: (op, error) => void failures.set(op, [...(failures.get(op) ?? []), error]),
  };
  const backend = createMemoryDirectoryBackend([root]);
  const crashPoints: CrashPoint[] = [];
  const settled: string[] = [];
  const copier = createMemoryTreeCopier(backend);
  const captured = captureLog('debug');
  const deps: ReconcileDeps = {
    provisioner,
    claims: cacheOf(cluster.claims),
    classes: cacheOf(cluster.classes),
    volumes: cacheOf(cluster.volumes),
    // Built from the fake cluster's PVs as they are at each call.
    volumeIndex: {
      overlapping: (...args) => volumeLookupOf([...cluster.volumes.values()]).overlapping(...args),
      unboundOfClass: (name) => volumeLookupOf([...cluster.volumes.values()]).unboundOfClass(name),
    },
    writes: fakeWrites(cluster, failures),
    events: fakeEvents(cluster.events),
    store: { shares: [{ server, share: '/export', localDir: root }], backend },
    copier,
    copies: makeCopyLane({ concurrency: 1, onSettled: (key) => settled.push(key) }),
    metrics: makeMetrics(),
    log: captured.log,
    now: () => now,
    crashPoint: (point) => void crashPoints.push(point),
  };
  return { deps, cluster, backend, crashPoints, copier, settled, logs: captured.records };
}

/** A counter's values by their labels joined with `,` (e.g. `{ fast: 1 }`, `{ 'delete,success': 1 }`). */
export async function counts(counter: Counter): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await counter.get()).values) out[Object.values(v.labels).join(',')] = v.value;
  return out;
}

/**
 * One reconcile of a claim, as the controller runs it: a reconcile that only recorded the intent is
 * followed by the one that the claim's update (coming back through the informer) queues.
 */
export async function reconcileAsQueued(
  h: { deps: ReconcileDeps; cluster: FakeCluster },
  namespace: string,
  name: string,
): Promise<Outcome> {
  const before = h.cluster.writes.length;
  const outcome = await reconcileClaim(h.deps, namespace, name);
  const last = h.cluster.writes.at(-1);
  if (outcome !== 'done' || h.cluster.writes.length !== before + 1 || last?.op !== 'recordIntent')
    return outcome;
  return reconcileClaim(h.deps, namespace, name);
}
