// The bench's load: N claims of one class (or the floor's N pre-bound PV+PVC pairs) created and
// deleted by a fixed number of concurrent requests, with each claim's creation time recorded.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api } from '@kubernetes/client-node';

/**
 * Runs fn over items with at most `concurrency` calls in flight; with paceMs, item i starts no
 * sooner than i * paceMs after the first (a steady rate instead of a burst).
 */
export async function pool<T>(
  items: T[],
  concurrency: number,
  fn: (item: T) => Promise<unknown>,
  paceMs?: number,
) {
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      if (paceMs) {
        const wait = start + i * paceMs - performance.now();
        if (wait > 0) await sleep(wait);
      }
      await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export const claimNames = (count: number) => Array.from({ length: count }, (_, i) => `claim-${i}`);

const claimSpec = (storageClassName: string) => ({
  storageClassName,
  accessModes: ['ReadWriteMany'],
  resources: { requests: { storage: '1Gi' } },
});

/** Creates the claims; returns when each one's create call returned, and each one's uid. */
export async function createClaims(
  core: CoreV1Api,
  namespace: string,
  storageClassName: string,
  names: string[],
  concurrency: number,
  paceMs?: number,
): Promise<{ created: Map<string, number>; uids: Map<string, string> }> {
  const created = new Map<string, number>();
  const uids = new Map<string, string>();
  await pool(
    names,
    concurrency,
    async (name) => {
      const claim = await core.createNamespacedPersistentVolumeClaim({
        namespace,
        body: { metadata: { name }, spec: claimSpec(storageClassName) },
      });
      created.set(name, performance.now());
      uids.set(name, claim.metadata?.uid ?? '');
    },
    paceMs,
  );
  return { created, uids };
}

/**
 * The floor: each claim (no class) and a PV already naming it, for kube-controller-manager to bind.
 * The PV looks dynamically provisioned by a CSI driver outside kube-controller-manager, with
 * reclaim policy Delete, so that its release costs the binder what a provisioner's PV costs it
 * (a live read of the claim, the Released phase, a live read of the PV before leaving it to the
 * external deleter), and nothing deletes it.
 */
export async function createPairs(
  core: CoreV1Api,
  namespace: string,
  names: string[],
  concurrency: number,
  pvName: (claim: string) => string,
  paceMs?: number,
): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  await pool(
    names,
    concurrency,
    async (name) => {
      const claim = await core.createNamespacedPersistentVolumeClaim({
        namespace,
        body: { metadata: { name }, spec: claimSpec('') },
      });
      created.set(name, performance.now());
      await core.createPersistentVolume({
        body: {
          metadata: {
            name: pvName(name),
            annotations: { 'pv.kubernetes.io/provisioned-by': floorDriver },
          },
          spec: {
            storageClassName: '',
            accessModes: ['ReadWriteMany'],
            capacity: { storage: '1Gi' },
            persistentVolumeReclaimPolicy: 'Delete',
            claimRef: { namespace, name, uid: claim.metadata?.uid },
            csi: { driver: floorDriver, volumeHandle: `floor-${name}` },
          },
        },
      });
    },
    paceMs,
  );
  return created;
}

const floorDriver = 'floor.bench.warren.dev';

export async function deleteClaims(core: CoreV1Api, namespace: string, names: string[], concurrency: number) {
  await pool(names, concurrency, (name) => core.deleteNamespacedPersistentVolumeClaim({ namespace, name }));
}
