// CSI Controller: CreateVolume / DeleteVolume / ValidateVolumeCapabilities / ControllerExpandVolume
// over the same provisioning core as `warren controller` (parameters, template, volume id,
// ensure/release directory). What is CSI-specific lives in volume-request.ts and volume-name-records.ts.
import type { Logger } from 'pino';
import { requireCapabilities, requireCapability } from '../csi/capabilities.ts';
import type { ControllerExpandVolumeRequest__Output } from '../csi/generated/csi/v1/ControllerExpandVolumeRequest.ts';
import type { ControllerExpandVolumeResponse } from '../csi/generated/csi/v1/ControllerExpandVolumeResponse.ts';
import type { ControllerGetCapabilitiesResponse } from '../csi/generated/csi/v1/ControllerGetCapabilitiesResponse.ts';
import type { CreateVolumeRequest__Output } from '../csi/generated/csi/v1/CreateVolumeRequest.ts';
import type { CreateVolumeResponse } from '../csi/generated/csi/v1/CreateVolumeResponse.ts';
import type { DeleteVolumeRequest__Output } from '../csi/generated/csi/v1/DeleteVolumeRequest.ts';
import type { DeleteVolumeResponse } from '../csi/generated/csi/v1/DeleteVolumeResponse.ts';
import type { ValidateVolumeCapabilitiesRequest__Output } from '../csi/generated/csi/v1/ValidateVolumeCapabilitiesRequest.ts';
import type { ValidateVolumeCapabilitiesResponse } from '../csi/generated/csi/v1/ValidateVolumeCapabilitiesResponse.ts';
import type { RpcHandler } from '../csi/pipeline.ts';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, WarrenError } from '../errors.ts';
import type { ShareRoot } from '../provisioning/directory-backend.ts';
import { parseClassParameters } from '../provisioning/parameters.ts';
import { releaseDirectory } from '../provisioning/release.ts';
import { restoreSnapshot } from '../provisioning/snapshot-restore.ts';
import { findSnapshot } from '../provisioning/snapshots.ts';
import { createFsTreeCopier, type TreeCopier } from '../provisioning/tree-copy.ts';
import type { ClassParameters } from '../provisioning/types.ts';
import { writeVolumeAttributes } from '../provisioning/volume-attributes.ts';
import {
  ensureVolumeDirectory,
  openShare,
  recordRoot,
  type VolumeStore,
} from '../provisioning/volume-directory.ts';
import { type VolumeIntent, volumeIntentFor } from '../provisioning/volume-intent.ts';
import { quote } from '../text.ts';
import { makeSnapshotService } from './snapshot-service.ts';
import { cloneInto, readContentSource } from './volume-clone.ts';
import { findVolume, requireExistingVolume } from './volume-lookup.ts';
import {
  forgetVolumeName,
  nameRecordOfVolume,
  readNameRecord,
  writeNameRecord,
} from './volume-name-records.ts';
import {
  answerValidation,
  capacityFits,
  capacityFor,
  claimFactsFor,
  readCapacityRange,
  splitParameters,
  withUnclaimedDefault,
} from './volume-request.ts';

export interface ControllerDeps {
  store: VolumeStore;
  now?: () => Date;
  /** The copy engine for CreateVolume from a volume (default: the real one). */
  copier?: TreeCopier;
}

const required = (field: string, value: string) => {
  if (value === '') throw invalidArgument(`${field} is required`);
  return value;
};

const sameParameters = (a: ClassParameters, b: ClassParameters) =>
  (['server', 'share', 'subDir', 'onDelete', 'mode', 'uid', 'gid'] as const).every(
    (key) => a[key] === b[key],
  );

/**
 * The record of a volume name, in the request's own record root first, then in every other
 * configured one: a name is one volume, whichever share a later request names.
 */
async function findNameRecord(store: VolumeStore, first: string, name: string, log: Logger) {
  const own = await readNameRecord(store, first, name);
  if (own) return own;
  const others = new Set(store.shares.map((s) => recordRoot(store, s.localDir)).filter((r) => r !== first));
  for (const root of others) {
    // Another share that cannot be read must not stop volumes on this one.
    const record = await readNameRecord(store, root, name).catch((err: unknown) => {
      log.warn({ root, err: String(err) }, 'could not look for the volume name in another share');
      return undefined;
    });
    if (record) return record;
  }
  return undefined;
}

export const controllerCapabilities: ControllerGetCapabilitiesResponse = {
  capabilities: [
    { rpc: { type: 'CREATE_DELETE_VOLUME' } },
    { rpc: { type: 'EXPAND_VOLUME' } },
    { rpc: { type: 'CLONE_VOLUME' } },
    { rpc: { type: 'CREATE_DELETE_SNAPSHOT' } },
    { rpc: { type: 'LIST_SNAPSHOTS' } },
  ],
};

export function makeControllerService(deps: ControllerDeps) {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  const copier = deps.copier ?? createFsTreeCopier();
  const snapshots = makeSnapshotService({ store, copier, now });

  /** CreateVolume from a snapshot: a full, unlinked copy of it (NOT_FOUND for an unknown id). */
  async function restoreFrom(
    snapshotId: string,
    input: {
      share: ShareRoot;
      intent: VolumeIntent;
      owner: { name: string; adoptExisting: boolean; now: Date };
      capacityBytes: string;
      log: Logger;
    },
  ): Promise<string> {
    const found = await findSnapshot(store, snapshotId).catch(() => undefined);
    if (!found) throw notFound(`snapshot ${quote(snapshotId)} does not exist`);
    if (BigInt(found.sizeBytes) > BigInt(input.capacityBytes)) {
      throw new WarrenError(
        'OutOfRange',
        `the volume's capacity ${input.capacityBytes} bytes is less than snapshot ${snapshotId}'s size ${found.sizeBytes}; ask for at least that`,
      );
    }
    const restored = await restoreSnapshot({ store, copier }, { ...input, snapshotId });
    input.log.info(
      { snapshotId, begun: restored.begun, ...restored.stats, skipped: restored.stats.skipped.length },
      'snapshot restored',
    );
    return 'restored';
  }

  const CreateVolume: RpcHandler<CreateVolumeRequest__Output, CreateVolumeResponse> = async (
    request,
    ctx,
  ) => {
    const name = required('name', request.name);
    requireCapabilities('volume_capabilities', request.volume_capabilities);
    const contentSource = request.volume_content_source
      ? readContentSource(request.volume_content_source)
      : undefined;
    if (Object.keys(request.mutable_parameters).length > 0) {
      throw invalidArgument('mutable_parameters are not supported (Warren has no MODIFY_VOLUME capability)');
    }
    const range = readCapacityRange(request.capacity_range);
    const { classParameters, metadata } = splitParameters(request.parameters);
    const facts = claimFactsFor(name, metadata);
    const parameters = parseClassParameters(withUnclaimedDefault(classParameters, facts.claimed));
    const intent = volumeIntentFor(parameters, facts.claim, facts.pvName);
    const share = await openShare(store, parameters.server, parameters.share);
    const root = share.recordRoot;

    const existing = await findNameRecord(store, root, name, ctx.log);
    if (
      existing &&
      (existing.volumeId !== intent.volumeId || !sameParameters(existing.parameters, parameters))
    ) {
      throw alreadyExists(
        `volume name ${quote(name)} already exists as volume ${quote(existing.volumeId)} with different parameters`,
      );
    }
    if (existing && !capacityFits(BigInt(existing.capacityBytes), range)) {
      throw alreadyExists(
        `volume name ${quote(name)} already exists with capacity ${existing.capacityBytes} bytes, outside the requested range`,
      );
    }
    const capacityBytes = existing?.capacityBytes ?? capacityFor(range).toString();
    // A name record is Warren's own word that it made this volume (also before ownership records).
    const holder = await nameRecordOfVolume(store, root, intent.volumeId);
    if (holder && holder.name !== name) {
      throw failedPrecondition(
        `volume name ${quote(name)} maps to the directory of volume ${quote(holder.name)} (${intent.location.subDir}); ` +
          'give each volume its own directory (e.g. include ${pv.metadata.name} in subDir)',
      );
    }
    const owner = { name, adoptExisting: Boolean(existing), now: now() };
    let outcome: string;
    if (contentSource?.kind === 'volume' && !existing) {
      const sourceId = contentSource.volumeId;
      // The name record is written only after the copy: a retry that finds it has nothing to copy.
      const source = await requireExistingVolume(store, sourceId);
      const sourceRecord = await nameRecordOfVolume(store, source.recordRoot, sourceId);
      if (sourceRecord && BigInt(sourceRecord.capacityBytes) > BigInt(capacityBytes)) {
        throw new WarrenError(
          'OutOfRange',
          `the clone's capacity ${capacityBytes} bytes is less than its source's ${sourceRecord.capacityBytes}; ask for at least that`,
        );
      }
      outcome = await cloneInto(
        { store, copier },
        { share, intent, from: source.location, owner, log: ctx.log },
      );
    } else if (contentSource?.kind === 'snapshot' && !existing) {
      outcome = await restoreFrom(contentSource.snapshotId, {
        share,
        intent,
        owner,
        capacityBytes,
        log: ctx.log,
      });
    } else {
      outcome = await ensureVolumeDirectory(store, share, intent, owner);
    }
    if (!existing)
      await writeNameRecord(store, root, { name, volumeId: intent.volumeId, capacityBytes, parameters });
    ctx.log.info({ volumeId: intent.volumeId, location: intent.location, outcome }, 'volume directory ready');
    return {
      volume: {
        volume_id: intent.volumeId,
        capacity_bytes: capacityBytes,
        volume_context: writeVolumeAttributes(intent.location, intent.onDelete),
        ...(request.volume_content_source ? { content_source: request.volume_content_source } : {}),
      },
    };
  };

  const DeleteVolume: RpcHandler<DeleteVolumeRequest__Output, DeleteVolumeResponse> = async (
    request,
    ctx,
  ) => {
    const volumeId = required('volume_id', request.volume_id);
    const volume = await findVolume(store, volumeId);
    if (!volume) {
      ctx.log.info('not a known Warren volume id; nothing to delete');
      return {};
    }
    // A volume created before ownership records existed is known by its name record.
    const named = await nameRecordOfVolume(store, volume.recordRoot, volumeId);
    const outcome = await releaseDirectory(
      store,
      {
        location: volume.location,
        onDelete: volume.onDelete,
        onlyIfEmpty: false,
        volumeId,
        ...(named ? { name: named.name, legacy: {} } : {}),
      },
      now(),
    );
    await forgetVolumeName(store, volume.recordRoot, volumeId);
    if (outcome.result === 'not-ours') {
      // Nothing of Warren's to delete: the answer is OK, the directory stays, the log says where.
      ctx.log.warn(
        { location: volume.location, why: outcome.why },
        "directory left untouched: not Warren's to delete",
      );
    } else {
      ctx.log.info({ location: volume.location, onDelete: volume.onDelete, ...outcome }, 'volume released');
    }
    return {};
  };

  const ValidateVolumeCapabilities: RpcHandler<
    ValidateVolumeCapabilitiesRequest__Output,
    ValidateVolumeCapabilitiesResponse
  > = async (request) => {
    const volumeId = required('volume_id', request.volume_id);
    if (request.volume_capabilities.length === 0) throw invalidArgument('volume_capabilities is required');
    await requireExistingVolume(store, volumeId);
    return answerValidation(request);
  };

  const ControllerExpandVolume: RpcHandler<
    ControllerExpandVolumeRequest__Output,
    ControllerExpandVolumeResponse
  > = async (request, ctx) => {
    const volumeId = required('volume_id', request.volume_id);
    const range = readCapacityRange(request.capacity_range);
    if (range.required === 0n && range.limit === 0n) {
      throw invalidArgument('capacity_range is required: set required_bytes to the new size');
    }
    if (request.volume_capability) requireCapability('volume_capability', request.volume_capability);
    const volume = await requireExistingVolume(store, volumeId);
    const record = await nameRecordOfVolume(store, volume.recordRoot, volumeId);
    const wanted = capacityFor(range);
    const recorded = record ? BigInt(record.capacityBytes) : 0n;
    const capacity = recorded > wanted ? recorded : wanted; // never shrinks: the SP reports what it has
    if (record && capacity !== recorded) {
      await writeNameRecord(store, volume.recordRoot, { ...record, capacityBytes: capacity.toString() });
    }
    ctx.log.info({ capacityBytes: capacity.toString(), recorded: Boolean(record) }, 'volume expanded');
    return { capacity_bytes: capacity.toString(), node_expansion_required: false };
  };

  const ControllerGetCapabilities: RpcHandler<unknown, ControllerGetCapabilitiesResponse> = async () =>
    controllerCapabilities;

  return {
    CreateVolume,
    DeleteVolume,
    ValidateVolumeCapabilities,
    ControllerExpandVolume,
    ControllerGetCapabilities,
    ...snapshots,
  };
}
