// The controller's connection to the API server. @kubernetes/client-node builds a new HTTP agent
// for every request, so each call opened its own TLS connection: measured at 1,000 claims, TLS
// set-up was a third of the controller's CPU and ~80 sockets stayed open. Here requests that would
// get agents with the same options share one, so connections are kept alive and reused.
import { KubeConfig } from '@kubernetes/client-node';

type DispatcherFactory = (cluster: unknown, agentOptions: unknown) => unknown;

export function loadKubeConfig(kubeconfig: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromCluster();
  shareDispatchers(kc);
  return kc;
}

/** One dispatcher per distinct (cluster, TLS options), made on first use. */
export function shareDispatchers(kc: KubeConfig): void {
  // A private method in the library's types, present in the version package-lock.json pins; a
  // version without it keeps its own behaviour (one agent per request), which is slower, not wrong.
  const target = kc as unknown as { createDispatcher?: DispatcherFactory };
  const make = target.createDispatcher?.bind(kc);
  if (!make) return;
  const made = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = JSON.stringify([cluster, agentOptions]);
    if (!made.has(key)) made.set(key, make(cluster, agentOptions));
    return made.get(key);
  };
}
