// `warren controller`: informers feed a keyed queue; workers reconcile claims and volumes.
// With leader election on, only the leader runs informers and workers.

import { hostname } from 'node:os';
import type {
  KubernetesObject,
  V1APIGroupList,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { controllerFlags } from '../config/controller-flags.ts';
import type { Parsed } from '../config/flags.ts';
import { type KubeApi, makeKubeApi } from '../kube/api.ts';
import { loadConnection } from '../kube/connection.ts';
import { apiGroupsPath, claimsPath, storageClassesPath, volumesPath } from '../kube/paths.ts';
import type { ShareLanes } from '../provisioning/share-lanes.ts';
import { createShareWorkerBackend } from '../provisioning/share-worker-backend.ts';
import type { SnapshotInfo } from '../provisioning/snapshots.ts';
import { reconcileClaim } from './claim-reconciler.ts';
import { dataSourceOf } from './clone-plan.ts';
import { makeClusterWrites } from './cluster-writes.ts';
import { makeCopyLane } from './copy-lane.ts';
import { crashPointFromEnv } from './crash-points.ts';
import type { ReconcileDeps, SnapshotApi } from './deps.ts';
import { makeEventRecorder } from './event-recorder.ts';
import { startHealthServer } from './health-server.ts';
import { runLeaderElection } from './leader-election.ts';
import { makeLeanInformer } from './lean-informer.ts';
import { makeMetrics } from './metrics.ts';
import { claimKey, contentKey, parseQueueKey, volumeKey } from './queue-keys.ts';
import { type ResilientInformer, startResilientInformer } from './resilient-informer.ts';
import {
  classesPath,
  contentsPath,
  snapshotGroup,
  snapshotsPath,
  snapshotVersion,
  type VolumeSnapshot,
  type VolumeSnapshotClass,
  type VolumeSnapshotContent,
} from './snapshot-objects.ts';
import { reconcileContent } from './snapshot-reconciler.ts';
import { makeSnapshotWrites } from './snapshot-writes.ts';
import { makeVolumeIndex } from './volume-index.ts';
import { isOurVolume } from './volume-plan.ts';
import { reconcileVolume } from './volume-reconciler.ts';
import { WorkQueue } from './work-queue.ts';

export type ControllerConfig = Parsed<typeof controllerFlags>;

export async function runController(
  config: ControllerConfig,
  log: Logger,
): Promise<{ stop: () => Promise<void> }> {
  const api = makeKubeApi(loadConnection(config.kubeconfig));
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

  // The VolumeSnapshot API is optional (its CRDs come with the snapshot-controller): looked up once.
  const snapshotsServed = await snapshotApiInstalled(api, log);

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
      informer: makeLeanInformer(api, claimsPath, { keepLastApplied: true }),
      onChange: (c) => q.add(keyOf(c)),
      // Its PV is released now, not when the binder gets to it (volume-plan.ts, mark-released).
      onDelete: (c) => {
        if (c.spec?.volumeName) q.add(volumeKey(c.spec.volumeName));
      },
    });
    const volumeIndex = makeVolumeIndex();
    const volumes = startResilientInformer<V1PersistentVolume>({
      name: 'volumes',
      log,
      onRestart: onRestart('volumes'),
      informer: makeLeanInformer(api, volumesPath),
      onChange: (pv) => {
        const name = pv.metadata?.name ?? '';
        volumeIndex.refresh(name, volumes.cache.get(name));
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
      informer: makeLeanInformer(api, storageClassesPath),
      onChange: (sc) => {
        for (const c of claims.cache.list())
          if (c.spec?.storageClassName === sc.metadata?.name && !c.spec?.volumeName) q.add(keyOf(c));
      },
    });
    informers = [claims, volumes, classes] as ResilientInformer<unknown>[];
    const snapshotApi = snapshotsServed
      ? startSnapshotInformers({
          api,
          log,
          onRestart,
          provisioner: config.provisioner,
          queue: q,
          claims: claims.cache,
          lane: makeCopyLane<SnapshotInfo>({
            concurrency: config.copyWorkers,
            onSettled: (key) => q.add(key),
          }),
        })
      : undefined;
    if (snapshotApi) informers.push(...snapshotApi.informers);
    const deps: ReconcileDeps = {
      provisioner: config.provisioner,
      claims: claims.cache,
      classes: classes.cache,
      volumes: volumes.cache,
      volumeIndex,
      writes: makeClusterWrites(api),
      events: makeEventRecorder({ api, component: config.provisioner, log }),
      store: { shares: config.shares, backend: shareIo.backend },
      copier: shareIo.copier,
      copies: makeCopyLane({ concurrency: config.copyWorkers, onSettled: (key) => q.add(key) }),
      ...(snapshotApi ? { snapshotApi: snapshotApi.api } : {}),
      metrics,
      log,
      now: () => new Date(),
      crashPoint: crashPointFromEnv(),
    };
    const resyncAll = () => {
      for (const c of claims.cache.list()) q.add(keyOf(c));
      for (const pv of volumes.cache.list())
        if (isOurVolume(pv, config.provisioner)) q.add(volumeKey(pv.metadata?.name ?? ''));
      for (const c of snapshotApi?.api.contents.list() ?? [])
        if (c.spec?.driver === config.provisioner) q.add(contentKey(c.metadata?.name ?? ''));
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
        api,
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
  if (parsed.kind === 'claim') return reconcileClaim(deps, parsed.namespace, parsed.name);
  if (parsed.kind === 'content') return reconcileContent(deps, parsed.name);
  return reconcileVolume(deps, parsed.name);
}

/** Whether the cluster serves snapshot.storage.k8s.io/v1 (API discovery, which every account may read). */
async function snapshotApiInstalled(api: KubeApi, log: Logger): Promise<boolean> {
  try {
    const groups = await api.get<V1APIGroupList>(apiGroupsPath);
    const group = groups.groups.find((g) => g.name === snapshotGroup);
    const served = group?.versions.some((v) => v.version === snapshotVersion) ?? false;
    if (served) log.info('VolumeSnapshot API found; handling the snapshots of this driver');
    else {
      log.warn(
        `no ${snapshotGroup}/${snapshotVersion} API (its CRDs and the snapshot-controller are not installed); ` +
          'snapshots and restores are off until the controller is restarted after installing them',
      );
    }
    return served;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'API discovery failed; snapshots and restores are off');
    return false;
  }
}

/** Informers on VolumeSnapshotContents, VolumeSnapshotClasses and VolumeSnapshots, and the writes to contents. */
function startSnapshotInformers(opts: {
  api: KubeApi;
  log: Logger;
  onRestart: (name: string) => () => void;
  provisioner: string;
  queue: WorkQueue;
  claims: ReconcileDeps['claims'];
  lane: SnapshotApi['lane'];
}): { api: SnapshotApi; informers: ResilientInformer<unknown>[] } {
  const { api, log, onRestart, provisioner, queue: q } = opts;
  const contents = startResilientInformer<VolumeSnapshotContent & KubernetesObject>({
    name: 'volumesnapshotcontents',
    log,
    onRestart: onRestart('volumesnapshotcontents'),
    informer: makeLeanInformer(api, contentsPath),
    onChange: (c) => {
      if (c.spec?.driver === provisioner) q.add(contentKey(c.metadata?.name ?? ''));
    },
  });
  const classes = startResilientInformer<VolumeSnapshotClass & KubernetesObject>({
    name: 'volumesnapshotclasses',
    log,
    onRestart: onRestart('volumesnapshotclasses'),
    informer: makeLeanInformer(api, classesPath),
    onChange: (cls) => {
      for (const c of contents.cache.list())
        if (c.spec?.volumeSnapshotClassName === cls.metadata?.name && c.status?.readyToUse !== true)
          q.add(contentKey(c.metadata?.name ?? ''));
    },
  });
  // A restore waits for its VolumeSnapshot to become ready: each change re-queues the claims restoring it.
  const snapshots = startResilientInformer<VolumeSnapshot & KubernetesObject>({
    name: 'volumesnapshots',
    log,
    onRestart: onRestart('volumesnapshots'),
    informer: makeLeanInformer(api, snapshotsPath),
    onChange: (snap) => {
      for (const c of opts.claims.list(snap.metadata?.namespace)) {
        const source = dataSourceOf(c);
        if (source?.kind === 'VolumeSnapshot' && source.name === snap.metadata?.name && !c.spec?.volumeName)
          q.add(claimKey(c.metadata?.namespace ?? '', c.metadata?.name ?? ''));
      }
    },
  });
  return {
    api: {
      contents: contents.cache,
      classes: classes.cache,
      snapshots: snapshots.cache,
      writes: makeSnapshotWrites(api),
      lane: opts.lane,
    },
    informers: [contents, classes, snapshots] as ResilientInformer<unknown>[],
  };
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
