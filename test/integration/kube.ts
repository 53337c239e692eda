// Clients for the bed's real apiserver, and a fresh namespace per test file.
import { CoreV1Api, KubeConfig, StorageV1Api } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { type KubeApi, makeKubeApi } from '../../src/kube/api.ts';
import { loadConnection } from '../../src/kube/connection.ts';

export function bedKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('bed').KUBECONFIG);
  return kc;
}

export function bedClients() {
  const kc = bedKubeConfig();
  return { kc, core: kc.makeApiClient(CoreV1Api), storage: kc.makeApiClient(StorageV1Api) };
}

/** Warren's own API client, on the bed. */
export function bedApi(): KubeApi {
  return makeKubeApi(loadConnection(inject('bed').KUBECONFIG));
}

let counter = 0;
/** A fresh namespace per test file keeps tests independent on the shared bed. */
export async function freshNamespace(core: CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}
