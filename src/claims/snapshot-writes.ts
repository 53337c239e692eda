// The controller's writes to VolumeSnapshotContents, as csi-snapshotter makes them: the
// being-created annotation, the status (snapshot handle, time, size, readiness or an error), and
// the finalizer once a content may go. Real implementation over client-node; errors are WarrenErrors.
import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { WarrenError } from '../errors.ts';
import { apiMessage, httpCode } from './cluster-writes.ts';
import {
  beingCreatedAnnotation,
  contentFinalizer,
  snapshotGroup,
  snapshotVersion,
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

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const target = (content: VolumeSnapshotContent) => ({
  group: snapshotGroup,
  version: snapshotVersion,
  plural: 'volumesnapshotcontents',
  name: content.metadata?.name ?? '',
});

export function makeSnapshotWrites(api: CustomObjectsApi): SnapshotWrites {
  return {
    async markCreating(content, creating) {
      await call('set the being-created annotation of the content', () =>
        api.patchClusterCustomObject(
          {
            ...target(content),
            body: { metadata: { annotations: { [beingCreatedAnnotation]: creating ? 'yes' : null } } },
          },
          mergePatch,
        ),
      );
    },
    async patchContentStatus(content, status) {
      return call('update the status of the content', () =>
        api.patchClusterCustomObjectStatus({ ...target(content), body: { status } }, mergePatch),
      ) as Promise<VolumeSnapshotContent | undefined>;
    },
    async removeContentFinalizer(content) {
      const meta = content.metadata ?? {};
      if (!meta.finalizers?.includes(contentFinalizer)) return;
      await call('remove the finalizer of the content', () =>
        api.patchClusterCustomObject(
          {
            ...target(content),
            body: {
              metadata: {
                resourceVersion: meta.resourceVersion,
                finalizers: meta.finalizers?.filter((f) => f !== contentFinalizer),
              },
            },
          },
          mergePatch,
        ),
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
