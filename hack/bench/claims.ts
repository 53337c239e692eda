// The bench's load: N claims of one class (or the floor's N pre-bound PV+PVC pairs) created and
// deleted by a fixed number of concurrent requests, with each claim's creation time recorded.
import type { CoreV1Api } from '@kubernetes/client-node';

/** Runs fn over items with at most `concurrency` calls in flight. */
export async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export const claimNames = (count: number) => Array.from({ length: count }, (_, i) => `claim-${i}`);

const claimSpec = (storageClassName: string) => ({
  storageClassName,
  accessModes: ['ReadWriteMany'],
  resources: { requests: { storage: '1Gi' } },
});

/** Creates the claims; returns when each one's create call returned. */
export async function createClaims(
  core: CoreV1Api,
  namespace: string,
  storageClassName: string,
  names: string[],
  concurrency: number,
): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  await pool(names, concurrency, async (name) => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: { metadata: { name }, spec: claimSpec(storageClassName) },
    });
    created.set(name, performance.now());
  });
  return created;
}

/** The floor: each claim (no class) and a PV already naming it, for kube-controller-manager to bind. */
export async function createPairs(
  core: CoreV1Api,
  namespace: string,
  names: string[],
  concurrency: number,
  pvName: (claim: string) => string,
): Promise<Map<string, number>> {
  const created = new Map<string, number>();
  await pool(names, concurrency, async (name) => {
    const claim = await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: { metadata: { name }, spec: claimSpec('') },
    });
    created.set(name, performance.now());
    await core.createPersistentVolume({
      body: {
        metadata: { name: pvName(name) },
        spec: {
          storageClassName: '',
          accessModes: ['ReadWriteMany'],
          capacity: { storage: '1Gi' },
          persistentVolumeReclaimPolicy: 'Retain',
          claimRef: { namespace, name, uid: claim.metadata?.uid },
          nfs: { server: '127.0.0.1', path: `/export/${name}` },
        },
      },
    });
  });
  return created;
}

export async function deleteClaims(core: CoreV1Api, namespace: string, names: string[], concurrency: number) {
  await pool(names, concurrency, (name) => core.deleteNamespacedPersistentVolumeClaim({ namespace, name }));
}
