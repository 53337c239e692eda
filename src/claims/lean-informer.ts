// Informers whose caches keep only what Warren reads. Every object the API server sends carries
// metadata.managedFields (which manager set which field, often larger than the rest of the
// object) and, when kubectl apply wrote it, the last-applied-configuration annotation (a JSON
// copy of the object). Warren reads neither, and its writes are patches, which leave both on the
// server as they are. They are dropped from each object as it arrives, before the cache holds it.
import type { Informer, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import type { KubeApi } from '../kube/api.ts';
import { makeInformer } from '../kube/informer.ts';

export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

export interface LeanOptions {
  /** Keep the last-applied annotation: a claim's annotations reach path templates. */
  keepLastApplied?: boolean;
}

/**
 * Removes managedFields (and, unless kept, the last-applied annotation) from an object just
 * parsed, which nothing else holds yet; returns it.
 */
export function leanObject<T>(obj: T, opts: LeanOptions = {}): T {
  const meta = (obj as KubernetesObject | undefined)?.metadata;
  if (!meta) return obj;
  delete meta.managedFields;
  if (!opts.keepLastApplied && meta.annotations && lastAppliedAnnotation in meta.annotations) {
    delete meta.annotations[lastAppliedAnnotation];
  }
  return obj;
}

/** An informer on `path` whose every listed and watched object is made lean first. */
export function makeLeanInformer<T extends KubernetesObject>(
  api: KubeApi,
  path: string,
  opts: LeanOptions = {},
): Informer<T> & ObjectCache<T> {
  return makeInformer<T>({ api, path, transform: (obj) => leanObject(obj, opts) });
}
