// Building blocks for controller tests on the bed: StorageClasses, claims, and waiting on them.
import type {
  CoreV1Api,
  CoreV1Event,
  StorageV1Api,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
} from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { ControllerProcess } from '../../hack/bed/controller.ts';
import { poll } from '../../hack/lib/poll.ts';

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
    allowVolumeExpansion?: boolean;
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
      ...(opts.allowVolumeExpansion !== undefined ? { allowVolumeExpansion: opts.allowVolumeExpansion } : {}),
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
  const claim = await poll(
    () => core.readNamespacedPersistentVolumeClaim({ namespace, name }),
    (c) => c.status?.phase === 'Bound',
    { what: `claim ${namespace}/${name} to be Bound`, timeoutMs },
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
  // Not the binder's own Events: its first sync of a claim can race Warren's intent and report
  // ProvisioningFailed "Error saving claim: ... the object has been modified" (it binds the claim
  // anyway); the tests are about what Warren reports.
  const wanted = (e: CoreV1Event) =>
    e.reason === reason && e.source?.component !== 'persistentvolume-controller';
  const events = await poll(
    () => eventsFor(core, namespace, objectName),
    (list) => list.some(wanted),
    { what: `event ${reason} on ${namespace}/${objectName}`, timeoutMs },
  );
  return events.find(wanted) as CoreV1Event;
}

export async function waitGone(
  read: () => Promise<unknown>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  await poll(
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
    { what: `${what} to be gone`, timeoutMs },
  );
}

/** A JSON log line's fields: a string or number must be equal, a RegExp must match. */
export type LogMatch = Record<string, string | number | RegExp>;

const matches = (line: Record<string, unknown>, match: LogMatch) =>
  Object.entries(match).every(([k, v]) =>
    v instanceof RegExp ? v.test(String(line[k] ?? '')) : line[k] === v,
  );

/** The controller's log lines about one claim (the claim and volume reconcilers both log these keys). */
export function claimLog(controller: ControllerProcess, namespace: string, name: string) {
  return controller.logLines().filter((l) => l.namespace === namespace && l.name === name);
}

/**
 * Waits until the controller has logged a line about the claim that has every field in `match`:
 * the positive sign that it reconciled the claim and decided what the line says.
 */
export async function waitClaimLogged(
  controller: ControllerProcess,
  namespace: string,
  name: string,
  match: LogMatch,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const found = await poll(
    () => claimLog(controller, namespace, name).filter((l) => matches(l, match)),
    (lines) => lines.length > 0,
    {
      what: `${controller.logFile} to show claim ${namespace}/${name} with ${JSON.stringify(match, (_k, v) => (v instanceof RegExp ? String(v) : v))}`,
      timeoutMs,
    },
  );
  return found[0] as Record<string, unknown>;
}
