// The VolumeSnapshot API on the bed: the snapshot.storage.k8s.io/v1 CRDs (from the build cache,
// see hack/tools.sh) and the snapshot-controller that binds VolumeSnapshots to their contents.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiextensionsV1Api, KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { type Daemon, startDaemon, waitReady } from './daemon.ts';
import { probe } from './http-probe.ts';

/** Creates every CRD in `crdDir` (one that exists already is left as it is). */
export async function installSnapshotCrds(kubeconfig: string, crdDir: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const files = (await readdir(crdDir)).filter((f) => f.endsWith('.yaml')).sort();
  if (files.length === 0)
    throw new Error(`no CRD files in ${crdDir}; rebuild with hack/tools.sh snapshot-controller`);
  return Promise.all(
    files.map(async (file) => {
      const body = load(await readFile(join(crdDir, file), 'utf8')) as V1CustomResourceDefinition;
      try {
        await api.createCustomResourceDefinition({ body });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
      return body.metadata?.name ?? file;
    }),
  );
}

/**
 * Starts the snapshot-controller against the bed's apiserver and waits until it serves metrics,
 * which it does only once it has found the CRDs. Group snapshots are off (their CRDs are not
 * installed; looking for them would cost the start its full CRD wait).
 */
export async function startSnapshotController(opts: {
  binary: string;
  kubeconfig: string;
  port: number;
  dir: string;
  started: Daemon[];
}): Promise<{ daemon: Daemon; readyMs: number }> {
  const daemon = startDaemon(
    'snapshot-controller',
    [
      opts.binary,
      `--kubeconfig=${opts.kubeconfig}`,
      '--leader-election=false',
      `--http-endpoint=127.0.0.1:${opts.port}`,
      '--feature-gates=CSIVolumeGroupSnapshot=false',
      // The bed is small and tests wait on it: retry failed operations soon, and talk to the API freely.
      '--retry-interval-max=30s',
      '--kube-api-qps=50',
      '--kube-api-burst=100',
      '--v=2',
    ],
    { logFile: join(opts.dir, 'snapshot-controller.log') },
  );
  opts.started.push(daemon);
  const readyMs = await waitReady(daemon, () => probe(`http://127.0.0.1:${opts.port}/metrics`), {
    timeoutMs: 60_000,
    what: 'serving /metrics (it has found the VolumeSnapshot CRDs)',
  });
  return { daemon, readyMs };
}
