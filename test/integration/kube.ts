// Clients for the bed's real apiserver, and waiting for conditions on it.
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, StorageV1Api } from '@kubernetes/client-node';
import { inject } from 'vitest';

export function bedKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('bed').KUBECONFIG);
  return kc;
}

export function bedClients() {
  const kc = bedKubeConfig();
  return { kc, core: kc.makeApiClient(CoreV1Api), storage: kc.makeApiClient(StorageV1Api) };
}

/** Polls `read` until `done` holds; on timeout fails with the last value seen. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  throw new Error(
    `timed out waiting for ${what}; last value: ${JSON.stringify(last)}${lastError ? `; last error: ${lastError}` : ''}`,
  );
}

let counter = 0;
/** A fresh namespace per test file keeps tests independent on the shared bed. */
export async function freshNamespace(core: CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}
