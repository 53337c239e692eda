// The controller's writes to the API, each guarded by resourceVersion where a race matters.
// Real implementation over KubeApi; errors become typed WarrenErrors.
import type { V1ObjectMeta, V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { WarrenError } from '../errors.ts';
import { type KubeApi, statusMessage } from '../kube/api.ts';
import { claimPath, statusOf, volumePath, volumesPath } from '../kube/paths.ts';
import type { ClaimBinding } from './claim-plan.ts';
import { clonedFromAnnotation } from './clone-plan.ts';
import { bindCompletedAnnotation, directoryFinalizer, intentAnnotation } from './object-names.ts';
import type { ResizeStatusPatch } from './resize-plan.ts';

export interface ClusterWrites {
  /**
   * Adds our finalizer and the intent annotation and sets spec.volumeName (the PV to come); fails
   * with Aborted if the claim changed meanwhile.
   */
  recordIntent(
    claim: V1PersistentVolumeClaim,
    intent: string,
    volumeName: string,
  ): Promise<V1PersistentVolumeClaim>;
  /** Removes our finalizer and the intent annotation from the claim (no-op if absent or gone). */
  clearIntent(claim: V1PersistentVolumeClaim): Promise<void>;
  /**
   * clearIntent, and in the same write the rest of the binding the binder would write: its
   * bind-completed annotation and the claim's status Bound with the PV's access modes and capacity
   * (one patch of the status subresource, which takes metadata too). No-op if the claim is gone.
   */
  completeBinding(claim: V1PersistentVolumeClaim, binding: ClaimBinding): Promise<void>;
  /** 'exists' returns the PV already there, for the caller to check it is the same volume. */
  createVolume(
    pv: V1PersistentVolume,
  ): Promise<{ result: 'created' } | { result: 'exists'; existing: V1PersistentVolume }>;
  /** A live read (not the cache), for decisions that must not act on a lagging cache. */
  readVolume(name: string): Promise<V1PersistentVolume | undefined>;
  /** A live read of a claim, as readVolume; undefined when no claim has that name. */
  readClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined>;
  /**
   * Sets the PV's phase to Released (its status subresource), guarded by the resourceVersion it
   * was read at; returns the PV as written, undefined if it is gone; Aborted if it changed meanwhile.
   */
  markVolumeReleased(pv: V1PersistentVolume): Promise<V1PersistentVolume | undefined>;
  removeVolumeFinalizer(pv: V1PersistentVolume): Promise<void>;
  deleteVolume(name: string): Promise<void>;
  /** Adds (hold) or removes a finalizer on a claim (a clone's source); no-op if already so or gone. */
  setClaimFinalizer(claim: V1PersistentVolumeClaim, finalizer: string, hold: boolean): Promise<void>;
  /** Records on a clone that its copy from `from` (namespace/name) is complete. */
  markCloned(claim: V1PersistentVolumeClaim, from: string): Promise<V1PersistentVolumeClaim>;
  /** Merge-patches the claim's status (resize fields); Aborted if the claim changed meanwhile. */
  patchClaimStatus(
    claim: V1PersistentVolumeClaim,
    status: ResizeStatusPatch,
  ): Promise<V1PersistentVolumeClaim>;
  /** Sets the PV's spec.capacity.storage; Aborted if the PV changed meanwhile. */
  setVolumeCapacity(pv: V1PersistentVolume, storage: string): Promise<void>;
}

/** A merge patch of a claim: metadata, and status when it goes to the status subresource. */
interface ClaimChange {
  metadata: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** The metadata patch that drops our finalizer and the intent annotation. */
function withoutIntent(meta: V1ObjectMeta): { finalizers: string[]; annotations: Record<string, null> } {
  return {
    finalizers: (meta.finalizers ?? []).filter((f) => f !== directoryFinalizer),
    annotations: { [intentAnnotation]: null },
  };
}

export function makeClusterWrites(api: KubeApi): ClusterWrites {
  async function readClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined> {
    try {
      return await api.get<V1PersistentVolumeClaim>(claimPath(namespace, name));
    } catch (err) {
      if (httpCode(err) === 404) return undefined;
      throw translate('read the claim', err);
    }
  }

  /**
   * Merge-patches the claim, guarded by the resourceVersion it was read at: its metadata, or its
   * status and metadata together through the status subresource.
   */
  function patchClaim(meta: V1ObjectMeta, change: ClaimChange) {
    const path = claimPath(meta.namespace ?? '', meta.name ?? '');
    return api.patch<V1PersistentVolumeClaim>(change.status ? statusOf(path) : path, {
      metadata: { resourceVersion: meta.resourceVersion, ...change.metadata },
      ...(change.status ? { status: change.status } : {}),
    });
  }

  /**
   * The claim changes under us (the binder, pvc-protection): `change` says what to patch given the
   * claim as it is now (undefined: nothing left to do); on a conflict the claim is read again and
   * the change decided again, up to five times. A claim that is gone needs nothing.
   */
  async function patchClaimUntilSettled(
    claim: V1PersistentVolumeClaim,
    what: string,
    change: (meta: V1ObjectMeta) => ClaimChange | undefined,
  ): Promise<void> {
    let current: V1PersistentVolumeClaim | undefined = claim;
    for (let attempt = 1; current; attempt++) {
      const meta: V1ObjectMeta = current.metadata ?? {};
      const patch = change(meta);
      if (!patch) return;
      try {
        await patchClaim(meta, patch);
        return;
      } catch (err) {
        const code = httpCode(err);
        if (code === 404) return;
        if (code !== 409 || attempt >= 5) throw translate(what, err);
      }
      current = await readClaim(meta.namespace ?? '', meta.name ?? '');
    }
  }

  return {
    async recordIntent(claim, intent, volumeName) {
      const meta = claim.metadata ?? {};
      const finalizers = [...new Set([...(meta.finalizers ?? []), directoryFinalizer])];
      return call('record the intent on the claim', () =>
        api.patch<V1PersistentVolumeClaim>(claimPath(meta.namespace ?? '', meta.name ?? ''), {
          metadata: {
            resourceVersion: meta.resourceVersion,
            finalizers,
            annotations: { [intentAnnotation]: intent },
          },
          spec: { volumeName },
        }),
      );
    },
    async clearIntent(claim) {
      await patchClaimUntilSettled(claim, 'remove the finalizer from the claim', (meta) =>
        !meta.finalizers?.includes(directoryFinalizer) && meta.annotations?.[intentAnnotation] === undefined
          ? undefined
          : { metadata: withoutIntent(meta) },
      );
    },
    async completeBinding(claim, binding) {
      await patchClaimUntilSettled(claim, 'complete the binding of the claim', (meta) => {
        const intent = withoutIntent(meta);
        // Read again after a conflict: a claim being deleted is only let go.
        if (meta.deletionTimestamp) return { metadata: intent };
        return {
          metadata: { ...intent, annotations: { ...intent.annotations, [bindCompletedAnnotation]: 'yes' } },
          status: { phase: 'Bound', accessModes: binding.accessModes, capacity: binding.capacity },
        };
      });
    },
    async createVolume(pv) {
      try {
        await api.create(volumesPath, pv);
        return { result: 'created' };
      } catch (err) {
        if (httpCode(err) !== 409) throw translate('create the PersistentVolume', err);
      }
      const existing = await call('read the existing PersistentVolume', () =>
        api.get<V1PersistentVolume>(volumePath(pv.metadata?.name ?? '')),
      );
      return { result: 'exists', existing };
    },
    async readVolume(name) {
      try {
        return await api.get<V1PersistentVolume>(volumePath(name));
      } catch (err) {
        if (httpCode(err) === 404) return undefined;
        throw translate('read the PersistentVolume', err);
      }
    },
    readClaim,
    async markVolumeReleased(pv) {
      const meta = pv.metadata ?? {};
      return call('mark the PersistentVolume Released', async () => {
        try {
          return await api.patch<V1PersistentVolume>(statusOf(volumePath(meta.name ?? '')), {
            metadata: { resourceVersion: meta.resourceVersion },
            status: { phase: 'Released' },
          });
        } catch (err) {
          if (httpCode(err) === 404) return undefined;
          throw err;
        }
      });
    },
    async removeVolumeFinalizer(pv) {
      const meta = pv.metadata ?? {};
      if (!meta.finalizers?.includes(directoryFinalizer)) return;
      await call('remove the finalizer from the PersistentVolume', async () => {
        try {
          await api.patch(volumePath(meta.name ?? ''), {
            metadata: {
              resourceVersion: meta.resourceVersion,
              finalizers: meta.finalizers?.filter((f) => f !== directoryFinalizer),
            },
          });
        } catch (err) {
          if (httpCode(err) !== 404) throw err;
        }
      });
    },
    async deleteVolume(name) {
      await call('delete the PersistentVolume', async () => {
        try {
          await api.remove(volumePath(name));
        } catch (err) {
          if (httpCode(err) !== 404) throw err;
        }
      });
    },
    async setClaimFinalizer(claim, finalizer, hold) {
      await patchClaimUntilSettled(claim, 'set the finalizer of the source claim', (meta) => {
        if ((meta.finalizers?.includes(finalizer) ?? false) === hold) return undefined;
        const finalizers = hold
          ? [...(meta.finalizers ?? []), finalizer]
          : (meta.finalizers ?? []).filter((f) => f !== finalizer);
        return { metadata: { finalizers } };
      });
    },
    async markCloned(claim, from) {
      const meta = claim.metadata ?? {};
      return call('record the completed copy on the claim', () =>
        patchClaim(meta, { metadata: { annotations: { [clonedFromAnnotation]: from } } }),
      );
    },
    async patchClaimStatus(claim, status) {
      const meta = claim.metadata ?? {};
      return call('update the claim status', () =>
        api.patch<V1PersistentVolumeClaim>(statusOf(claimPath(meta.namespace ?? '', meta.name ?? '')), {
          metadata: { resourceVersion: meta.resourceVersion },
          status,
        }),
      );
    },
    async setVolumeCapacity(pv, storage) {
      const meta = pv.metadata ?? {};
      await call('set the capacity of the PersistentVolume', () =>
        api.patch(volumePath(meta.name ?? ''), {
          metadata: { resourceVersion: meta.resourceVersion },
          spec: { capacity: { storage } },
        }),
      );
    },
  };
}

export function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translate(what, err);
  }
}

function translate(what: string, err: unknown): WarrenError {
  if (err instanceof WarrenError) return err;
  const code = httpCode(err);
  if (code === 409)
    return new WarrenError('Aborted', `could not ${what}: the object changed meanwhile; will retry`, {
      cause: err,
    });
  if (code === 403)
    return new WarrenError('FailedPrecondition', `could not ${what}: forbidden (check Warren's RBAC)`, {
      cause: err,
    });
  if (code === 422 || code === 400)
    return new WarrenError('InvalidArgument', `could not ${what}: ${apiMessage(err)}`, { cause: err });
  return new WarrenError('Unavailable', `could not ${what}: ${apiMessage(err)}`, { cause: err });
}

export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') return statusMessage(body);
  if (body && typeof body === 'object' && 'message' in body)
    return String((body as { message: unknown }).message);
  return err instanceof Error ? err.message : String(err);
}
