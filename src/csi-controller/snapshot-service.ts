// CSI CreateSnapshot / DeleteSnapshot / ListSnapshots over the snapshot core (provisioning/snapshots.ts),
// the same one the claim watcher's VolumeSnapshotContents use. CreateSnapshot answers once the copy
// is complete (ready_to_use true); a retry while it copies gets ABORTED from the per-name lock.
import type { CreateSnapshotRequest__Output } from '../csi/generated/csi/v1/CreateSnapshotRequest.ts';
import type { CreateSnapshotResponse } from '../csi/generated/csi/v1/CreateSnapshotResponse.ts';
import type { DeleteSnapshotRequest__Output } from '../csi/generated/csi/v1/DeleteSnapshotRequest.ts';
import type { DeleteSnapshotResponse } from '../csi/generated/csi/v1/DeleteSnapshotResponse.ts';
import type { ListSnapshotsRequest__Output } from '../csi/generated/csi/v1/ListSnapshotsRequest.ts';
import type { ListSnapshotsResponse } from '../csi/generated/csi/v1/ListSnapshotsResponse.ts';
import type { RpcHandler } from '../csi/pipeline.ts';
import { invalidArgument, notFound } from '../errors.ts';
import { localRootFor } from '../provisioning/paths.ts';
import { parseSnapshotId } from '../provisioning/snapshot-id.ts';
import {
  deleteSnapshot,
  listSnapshots,
  type SnapshotDeps,
  type SnapshotInfo,
  takeSnapshot,
} from '../provisioning/snapshots.ts';
import { parseVolumeId } from '../provisioning/volume-id.ts';
import { quote } from '../text.ts';
import { checkSnapshotParameters, snapshotMessage, snapshotPage } from './snapshot-request.ts';
import { findVolume } from './volume-lookup.ts';

const required = (field: string, value: string) => {
  if (value === '') throw invalidArgument(`${field} is required`);
  return value;
};

/** Does a snapshot id or volume id (already parsed) name a share this controller serves? */
function served(
  store: SnapshotDeps['store'],
  location: { server: string; share: string } | undefined,
): boolean {
  if (!location) return true; // a digest id: looked up in every served share
  try {
    localRootFor(store.shares, location.server, location.share);
    return true;
  } catch {
    return false;
  }
}

const parses = (parse: () => unknown): boolean => {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
};

export function makeSnapshotService(deps: SnapshotDeps) {
  const { store } = deps;

  const CreateSnapshot: RpcHandler<CreateSnapshotRequest__Output, CreateSnapshotResponse> = async (
    request,
    ctx,
  ) => {
    const name = required('name', request.name);
    const volumeId = required('source_volume_id', request.source_volume_id);
    checkSnapshotParameters(request.parameters);
    const volume = await findVolume(store, volumeId);
    if (!volume) throw notFound(`source volume ${quote(volumeId)} does not exist`);
    const info = await takeSnapshot(deps, { name, source: { volumeId, location: volume.location } });
    ctx.log.info(
      {
        snapshotId: info.snapshotId,
        sizeBytes: info.sizeBytes,
        storedBytes: info.storedBytes,
        files: info.files,
        linkedFiles: info.linkedFiles,
        basedOn: info.basedOn,
      },
      'snapshot ready',
    );
    return { snapshot: snapshotMessage(info) };
  };

  const DeleteSnapshot: RpcHandler<DeleteSnapshotRequest__Output, DeleteSnapshotResponse> = async (
    request,
    ctx,
  ) => {
    const snapshotId = required('snapshot_id', request.snapshot_id);
    if (!parses(() => parseSnapshotId(snapshotId))) {
      ctx.log.info('not a Warren snapshot id; nothing to delete');
      return {};
    }
    const outcome = await deleteSnapshot(store, snapshotId);
    if (typeof outcome === 'object') {
      ctx.log.warn({ snapshotId, why: outcome.notOurs }, "snapshot left untouched: not Warren's to delete");
    } else ctx.log.info({ snapshotId, outcome }, 'snapshot released');
    return {};
  };

  const ListSnapshots: RpcHandler<ListSnapshotsRequest__Output, ListSnapshotsResponse> = async (request) => {
    const { snapshot_id: snapshotId, source_volume_id: sourceVolumeId } = request;
    // An id Warren never gives out, or one on a share it does not serve, names no snapshot it can
    // list: the answer is an empty list.
    const unknown =
      (snapshotId !== '' &&
        !parses(() => {
          const parsed = parseSnapshotId(snapshotId);
          if (!served(store, parsed.form === 'location' ? parsed.location : undefined)) throw new Error();
        })) ||
      (sourceVolumeId !== '' &&
        !parses(() => {
          const parsed = parseVolumeId(sourceVolumeId);
          if (!served(store, parsed.form === 'location' ? parsed.location : undefined)) throw new Error();
        }));
    const all: SnapshotInfo[] = unknown
      ? []
      : await listSnapshots(store, {
          ...(snapshotId === '' ? {} : { snapshotId }),
          ...(sourceVolumeId === '' ? {} : { sourceVolumeId }),
        });
    const page = snapshotPage(all, request.starting_token, request.max_entries);
    return {
      entries: page.entries.map((info) => ({ snapshot: snapshotMessage(info) })),
      next_token: page.nextToken,
    };
  };

  return { CreateSnapshot, DeleteSnapshot, ListSnapshots };
}
