// Building blocks for controller tests on the bed: StorageClasses, claims, and waiting on them.
import type {
  CoreV1Api,
  CoreV1Event,
  StorageV1Api,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { inject } from 'vitest';
import { eventually } from './kube.ts';

/** Each test file runs its own controllers under its own provisioner name, so files can run in parallel. */
export const provisionerFor = (file: string) => `${file}.test.warren.dev`;

export async function createClass(
  storage: StorageV1Api,
  name: string,
  opts: {
    provisioner: string;
    parameters?: Record<string, string>;
    reclaimPolicy?: 'Delete' | 'Retain';
    bindingMode?: 'Immediate' | 'WaitForFirstConsumer';
    mountOptions?: string[];
  },
): Promise<void> {
  const bed = inject('bed');
  await storage.createStorageClass({
    body: {
      metadata: { name },
      provisioner: opts.provisioner,
      parameters: opts.parameters ?? { server: bed.WARREN_NFS_SERVER, share: bed.WARREN_NFS_SHARE },
      reclaimPolicy: opts.reclaimPolicy ?? 'Delete',
      volumeBindingMode: opts.bindingMode ?? 'Immediate',
      ...(opts.mountOptions ? { mountOptions: opts.mountOptions } : {}),
    },
  });
}

export async function createClaim(
  core: CoreV1Api,
  namespace: string,
  name: string,
  storageClassName: string,
  extra: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    size?: string;
    accessModes?: string[];
    volumeMode?: string;
  } = {},
): Promise<V1PersistentVolumeClaim> {
  return core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name, labels: extra.labels, annotations: extra.annotations },
      spec: {
        storageClassName,
        accessModes: extra.accessModes ?? ['ReadWriteMany'],
        resources: { requests: { storage: extra.size ?? '1Gi' } },
        ...(extra.volumeMode ? { volumeMode: extra.volumeMode } : {}),
      },
    },
  });
}

export async function waitBound(
  core: CoreV1Api,
  namespace: string,
  name: string,
  timeoutMs = 60_000,
): Promise<{ claim: V1PersistentVolumeClaim; pv: V1PersistentVolume }> {
  const claim = await eventually(
    () => core.readNamespacedPersistentVolumeClaim({ namespace, name }),
    (c) => c.status?.phase === 'Bound',
    `claim ${namespace}/${name} to be Bound`,
    timeoutMs,
  );
  const pv = await core.readPersistentVolume({ name: claim.spec?.volumeName ?? '' });
  return { claim, pv };
}

export async function eventsFor(
  core: CoreV1Api,
  namespace: string,
  objectName: string,
): Promise<CoreV1Event[]> {
  const list = await core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${objectName}`,
  });
  return list.items;
}

export async function waitEvent(
  core: CoreV1Api,
  namespace: string,
  objectName: string,
  reason: string,
  timeoutMs = 30_000,
): Promise<CoreV1Event> {
  const events = await eventually(
    () => eventsFor(core, namespace, objectName),
    (list) => list.some((e) => e.reason === reason),
    `event ${reason} on ${namespace}/${objectName}`,
    timeoutMs,
  );
  return events.find((e) => e.reason === reason) as CoreV1Event;
}

export async function waitGone(
  read: () => Promise<unknown>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  await eventually(
    async () => {
      try {
        await read();
        return false;
      } catch (err) {
        if ((err as { code?: number }).code === 404) return true;
        throw err;
      }
    },
    (gone) => gone,
    `${what} to be gone`,
    timeoutMs,
  );
}
