// The controller's writes to VolumeSnapshotContents, as csi-snapshotter makes them: the
// being-created annotation, the status (snapshot handle, time, size, readiness or an error), and
// the finalizer once a content may go. Real implementation over KubeApi; errors are WarrenErrors.
import { WarrenError } from '../errors.ts';
import type { KubeApi } from '../kube/api.ts';
import { statusOf } from '../kube/paths.ts';
import { apiMessage, httpCode } from './cluster-writes.ts';
import {
  beingCreatedAnnotation,
  contentFinalizer,
  contentsPath,
  type VolumeSnapshotContent,
} from './snapshot-objects.ts';

/** Fields of a content's status to set (null removes one). */
export type ContentStatusPatch = Record<string, unknown>;

export interface SnapshotWrites {
  /** Sets (true) or removes the being-created annotation; a content that is gone needs nothing. */
  markCreating(content: VolumeSnapshotContent, creating: boolean): Promise<void>;
  /** Merge-patches the content's status subresource; the content as written (undefined: it is gone). */
  patchContentStatus(
    content: VolumeSnapshotContent,
    status: ContentStatusPatch,
  ): Promise<VolumeSnapshotContent | undefined>;
  /** Removes the content finalizer; Aborted if the content changed meanwhile, nothing if it is gone. */
  removeContentFinalizer(content: VolumeSnapshotContent): Promise<void>;
}

const contentPath = (content: VolumeSnapshotContent) =>
  `${contentsPath}/${encodeURIComponent(content.metadata?.name ?? '')}`;

export function makeSnapshotWrites(api: KubeApi): SnapshotWrites {
  return {
    async markCreating(content, creating) {
      await call('set the being-created annotation of the content', () =>
        api.patch(contentPath(content), {
          metadata: { annotations: { [beingCreatedAnnotation]: creating ? 'yes' : null } },
        }),
      );
    },
    async patchContentStatus(content, status) {
      return call('update the status of the content', () =>
        api.patch(statusOf(contentPath(content)), { status }),
      ) as Promise<VolumeSnapshotContent | undefined>;
    },
    async removeContentFinalizer(content) {
      const meta = content.metadata ?? {};
      if (!meta.finalizers?.includes(contentFinalizer)) return;
      await call('remove the finalizer of the content', () =>
        api.patch(contentPath(content), {
          metadata: {
            resourceVersion: meta.resourceVersion,
            finalizers: meta.finalizers?.filter((f) => f !== contentFinalizer),
          },
        }),
      );
    },
  };
}

async function call(what: string, fn: () => Promise<unknown>): Promise<unknown> {
  try {
    return await fn();
  } catch (err) {
    const code = httpCode(err);
    if (code === 404) return undefined; // the content is gone: nothing left to write
    if (code === 409)
      throw new WarrenError('Aborted', `could not ${what}: the content changed meanwhile; will retry`, {
        cause: err,
      });
    if (code === 403)
      throw new WarrenError('FailedPrecondition', `could not ${what}: forbidden (check Warren's RBAC)`, {
        cause: err,
      });
    throw new WarrenError('Unavailable', `could not ${what}: ${apiMessage(err)}`, { cause: err });
  }
}
