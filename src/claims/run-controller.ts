// `warren controller`: informers feed a keyed queue; workers reconcile claims and volumes.
// With leader election on, only the leader runs informers and workers.

import { hostname } from 'node:os';
import {
  CoordinationV1Api,
  CoreV1Api,
  makeInformer,
  StorageV1Api,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1StorageClass,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { controllerFlags } from '../config/controller-flags.ts';
import type { Parsed } from '../config/flags.ts';
import type { ShareLanes } from '../provisioning/share-lanes.ts';
import { createShareWorkerBackend } from '../provisioning/share-worker-backend.ts';
import { reconcileClaim } from './claim-reconciler.ts';
import { makeClusterWrites } from './cluster-writes.ts';
import { makeCopyLane } from './copy-lane.ts';
import { crashPointFromEnv } from './crash-points.ts';
import type { ReconcileDeps } from './deps.ts';
import { makeEventRecorder } from './event-recorder.ts';
import { startHealthServer } from './health-server.ts';
import { loadKubeConfig } from './kube-config.ts';
import { runLeaderElection } from './leader-election.ts';
import { makeMetrics } from './metrics.ts';
import { claimKey, parseQueueKey, volumeKey } from './queue-keys.ts';
import { type ResilientInformer, startResilientInformer } from './resilient-informer.ts';
import { isOurVolume } from './volume-plan.ts';
import { reconcileVolume } from './volume-reconciler.ts';
import { WorkQueue } from './work-queue.ts';

export type ControllerConfig = Parsed<typeof controllerFlags>;

export async function runController(
  config: ControllerConfig,
  log: Logger,
): Promise<{ stop: () => Promise<void> }> {
  const kc = loadKubeConfig(config.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  const metrics = makeMetrics();
  metrics.leader.set(0);
  const identity = `${hostname()}_${process.pid}`;
  let informers: ResilientInformer<unknown>[] = [];
  let queue: WorkQueue | undefined;
  let leading = !config.leaderElect;

  const health = await startHealthServer({
    address: config.metricsAddress,
    metrics,
    ready: () => {
      if (!leading) return { ok: true, detail: 'standby' };
      const synced = informers.length > 0 && informers.every((i) => i.synced());
      return { ok: synced, detail: synced ? 'leader, caches synced' : 'leader, caches syncing' };
    },
  });
  // Share I/O runs in one worker process per share: a frozen NFS server stalls only its own share.
  const shareIo = createShareWorkerBackend({
    shares: config.shares,
    onChange: (s) => {
      metrics.shareAvailable.set({ share: s.share }, s.available ? 1 : 0);
      if (s.available) log.info({ share: s.share }, 'share answers again; resuming its work');
      else log.warn({ share: s.share, reason: s.reason }, 'share is not answering; its work waits');
    },
  });
  const shareProbe = setInterval(() => void probeShares(config, shareIo.lanes, metrics), 30_000);
  shareProbe.unref();
  void probeShares(config, shareIo.lanes, metrics);

  function startWork(): void {
    metrics.leader.set(1);
    queue = new WorkQueue({
      fast: { baseMs: 250, maxMs: 30_000 },
      slow: { baseMs: 15_000, maxMs: 300_000 },
      onDepthChange: (d) => metrics.queueDepth.set(d),
    });
    const q = queue;
    const onRestart = (name: string) => () => metrics.informerRestarts.inc({ informer: name });
    const keyOf = (c: V1PersistentVolumeClaim) =>
      claimKey(c.metadata?.namespace ?? '', c.metadata?.name ?? '');
    const claims = startResilientInformer<V1PersistentVolumeClaim>({
      name: 'claims',
      log,
      onRestart: onRestart('claims'),
      informer: makeInformer(kc, '/api/v1/persistentvolumeclaims', () =>
        core.listPersistentVolumeClaimForAllNamespaces(),
      ),
      onChange: (c) => q.add(keyOf(c)),
    });
    const volumes = startResilientInformer<V1PersistentVolume>({
      name: 'volumes',
      log,
      onRestart: onRestart('volumes'),
      informer: makeInformer(kc, '/api/v1/persistentvolumes', () => core.listPersistentVolume()),
      onChange: (pv) => {
        if (!isOurVolume(pv, config.provisioner)) return;
        q.add(volumeKey(pv.metadata?.name ?? ''));
        const ref = pv.spec?.claimRef;
        if (ref?.namespace && ref.name) q.add(claimKey(ref.namespace, ref.name));
      },
    });
    const classes = startResilientInformer<V1StorageClass>({
      name: 'storageclasses',
      log,
      onRestart: onRestart('storageclasses'),
      informer: makeInformer(kc, '/apis/storage.k8s.io/v1/storageclasses', () => storage.listStorageClass()),
      onChange: (sc) => {
        for (const c of claims.cache.list())
          if (c.spec?.storageClassName === sc.metadata?.name && !c.spec?.volumeName) q.add(keyOf(c));
      },
    });
    informers = [claims, volumes, classes] as ResilientInformer<unknown>[];
    const deps: ReconcileDeps = {
      provisioner: config.provisioner,
      claims: claims.cache,
      classes: classes.cache,
      volumes: volumes.cache,
      writes: makeClusterWrites(core),
      events: makeEventRecorder({ api: core, component: config.provisioner, log }),
      store: { shares: config.shares, backend: shareIo.backend },
      copier: shareIo.copier,
      copies: makeCopyLane({ concurrency: config.copyWorkers, onSettled: (key) => q.add(key) }),
      metrics,
      log,
      now: () => new Date(),
      crashPoint: crashPointFromEnv(),
    };
    const resyncAll = () => {
      for (const c of claims.cache.list()) q.add(keyOf(c));
      for (const pv of volumes.cache.list())
        if (isOurVolume(pv, config.provisioner)) q.add(volumeKey(pv.metadata?.name ?? ''));
    };
    const resync = setInterval(resyncAll, config.resync);
    resync.unref();
    void Promise.all(informers.map((i) => i.waitSynced())).then(() => {
      log.info(
        { claims: claims.cache.list().length, volumes: volumes.cache.list().length },
        'caches synced; reconciling',
      );
      void q.run(config.workers, (key) => reconcileKey(deps, key));
      resyncAll();
    });
  }

  const election = config.leaderElect
    ? runLeaderElection({
        api: kc.makeApiClient(CoordinationV1Api),
        config: {
          namespace: config.leaseNamespace,
          name: config.leaseName,
          identity,
          leaseDurationMs: config.leaseDuration,
          renewDeadlineMs: Math.round(config.leaseDuration * (2 / 3)),
          retryPeriodMs: Math.max(500, Math.round(config.leaseDuration / 7)),
        },
        log,
        onStarted: () => {
          leading = true;
          startWork();
        },
        onLost: () => {
          // Another replica may be provisioning already: stop at once, let the Deployment restart us.
          log.fatal('leadership lost; exiting');
          process.exit(1);
        },
      })
    : undefined;
  if (!election) startWork();
  log.info(
    { provisioner: config.provisioner, identity, shares: config.shares, leaderElect: config.leaderElect },
    'controller started',
  );

  return {
    stop: async () => {
      queue?.shutDown();
      await Promise.all(informers.map((i) => i.stop()));
      await election?.stop();
      clearInterval(shareProbe);
      await shareIo.close();
      await new Promise<void>((r) => health.close(() => r()));
    },
  };
}

async function reconcileKey(deps: ReconcileDeps, key: string) {
  const parsed = parseQueueKey(key);
  return parsed.kind === 'claim'
    ? reconcileClaim(deps, parsed.namespace, parsed.name)
    : reconcileVolume(deps, parsed.name);
}

/** Probes every share in its own lane, all at once: a frozen share delays no other share's answer. */
async function probeShares(
  config: ControllerConfig,
  lanes: ShareLanes,
  metrics: ReturnType<typeof makeMetrics>,
): Promise<void> {
  await Promise.all(
    config.shares.map(async (share) => {
      const { ok } = await lanes.probe(share.localDir);
      metrics.shareAvailable.set({ share: `${share.server}:${share.share}` }, ok ? 1 : 0);
    }),
  );
}
