// Prometheus metrics for the controller, in a registry of its own.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type Metrics = ReturnType<typeof makeMetrics>;

export function makeMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'warren_' });
  const durationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  return {
    registry,
    provisions: new Counter({
      name: 'warren_provision_total',
      help: 'Claims provisioned, by result (success, failed, rejected).',
      labelNames: ['result'],
      registers: [registry],
    }),
    provisionSeconds: new Histogram({
      name: 'warren_provision_duration_seconds',
      help: 'Time from starting to provision a claim to its PV being created.',
      labelNames: ['result'],
      buckets: durationBuckets,
      registers: [registry],
    }),
    releases: new Counter({
      name: 'warren_delete_total',
      help: 'Released volumes handled, by onDelete action and result.',
      labelNames: ['action', 'result'],
      registers: [registry],
    }),
    releaseSeconds: new Histogram({
      name: 'warren_delete_duration_seconds',
      help: 'Time to apply onDelete and remove a released PV.',
      labelNames: ['action', 'result'],
      buckets: durationBuckets,
      registers: [registry],
    }),
    cloneBytes: new Counter({
      name: 'warren_clone_copied_bytes_total',
      help: 'Bytes of file data copied into clones (holes are not copied).',
      registers: [registry],
    }),
    clones: new Counter({
      name: 'warren_clone_total',
      help: 'Clone copies, by result (success, failed).',
      labelNames: ['result'],
      registers: [registry],
    }),
    copiesRunning: new Gauge({
      name: 'warren_clone_copies_running',
      help: 'Clone copies running now in the copy lane.',
      registers: [registry],
    }),
    snapshots: new Counter({
      name: 'warren_snapshot_total',
      help: 'VolumeSnapshotContents handled, by operation (take, verify, delete) and result (success, failed).',
      labelNames: ['operation', 'result'],
      registers: [registry],
    }),
    snapshotBytes: new Counter({
      name: 'warren_snapshot_stored_bytes_total',
      help: 'Bytes of file data written into snapshots (unchanged files are linked, not written).',
      registers: [registry],
    }),
    resizes: new Counter({
      name: 'warren_resize_total',
      help: 'Claim resizes handled, by result (success, refused, failed).',
      labelNames: ['result'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'warren_queue_depth',
      help: 'Keys waiting in the work queue.',
      registers: [registry],
    }),
    retries: new Counter({
      name: 'warren_retries_total',
      help: 'Reconciles that will be retried, by kind (fast: transient, slow: needs a user fix).',
      labelNames: ['kind'],
      registers: [registry],
    }),
    informerRestarts: new Counter({
      name: 'warren_informer_restarts_total',
      help: 'Informer restarts after a watch error.',
      labelNames: ['informer'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'warren_leader',
      help: '1 while this replica is the leader.',
      registers: [registry],
    }),
    shareAvailable: new Gauge({
      name: 'warren_share_available',
      help: '1 when the share mount answers in the controller pod.',
      labelNames: ['share'],
      registers: [registry],
    }),
  };
}
