// NodeGetVolumeStats: capacity from statfs, usage from walking the volume's own directory, both
// measured in a killable child and cached per path for a short time. A mount whose server does not
// answer is reported as an abnormal volume condition instead of hanging the call; a measurement
// that does not finish while the mount still answers is UNAVAILABLE (ask again), not abnormal.
import type { NodeGetVolumeStatsRequest__Output } from '../csi/generated/csi/v1/NodeGetVolumeStatsRequest.ts';
import type { NodeGetVolumeStatsResponse } from '../csi/generated/csi/v1/NodeGetVolumeStatsResponse.ts';
import type { RpcHandler } from '../csi/pipeline.ts';
import { notFound, unavailable, WarrenError } from '../errors.ts';
import { parseVolumeId } from '../provisioning/volume-id.ts';
import { quote } from '../text.ts';
import { isNfsMount, type MountEntry, type Mounter } from './mounter.ts';
import type { NodeFs } from './node-fs.ts';
import { checkNodePath, checkVolumeId } from './request-fields.ts';
import { formatSource, sameSource } from './volume-source.ts';
import type { VolumeMeasurement } from './volume-walk.ts';

export interface VolumeStatsDeps {
  mounter: Mounter;
  fs: NodeFs;
  now(): number;
  /** For the whole measurement (walking the tree); the health check gets healthTimeoutMs. */
  statsBudgetMs: number;
  healthTimeoutMs: number;
  cacheTtlMs: number;
}

export interface VolumeStats {
  NodeGetVolumeStats: RpcHandler<NodeGetVolumeStatsRequest__Output, NodeGetVolumeStatsResponse>;
  /** Drops the cached measurement of a path (after it is unpublished). */
  forget(path: string): void;
}

const maxInt64 = (1n << 63n) - 1n;
const int64 = (value: bigint) => (value > maxInt64 ? maxInt64 : value < 0n ? 0n : value).toString();

/** A location-form volume id names its source; then the mount must be that source. */
function belongsToVolume(entry: MountEntry, volumeId: string): boolean {
  try {
    const parsed = parseVolumeId(volumeId);
    return parsed.form !== 'location' || sameSource(entry.source, formatSource(parsed.location));
  } catch {
    return true;
  }
}

function usageResponse(m: VolumeMeasurement): NodeGetVolumeStatsResponse {
  return {
    usage: [
      {
        unit: 'BYTES',
        total: int64(m.totalBytes),
        available: int64(m.availableBytes),
        used: int64(m.usedBytes),
      },
      {
        unit: 'INODES',
        total: int64(m.totalInodes),
        available: int64(m.freeInodes),
        used: int64(m.usedInodes),
      },
    ],
    volume_condition: {
      abnormal: false,
      message: m.complete
        ? 'mounted; the NFS server answers'
        : 'mounted; the NFS server answers; the tree was too large to count within the time budget, so "used" is a lower bound',
    },
  };
}

export function makeVolumeStats(deps: VolumeStatsDeps): VolumeStats {
  const cache = new Map<string, { at: number; measurement: Promise<VolumeMeasurement> }>();

  const measure = (path: string): Promise<VolumeMeasurement> => {
    const cached = cache.get(path);
    if (cached && deps.now() - cached.at < deps.cacheTtlMs) return cached.measurement;
    const measurement = deps.fs.measure(path, deps.statsBudgetMs);
    const entry = { at: deps.now(), measurement };
    cache.set(path, entry);
    measurement.catch(() => {
      if (cache.get(path) === entry) cache.delete(path);
    });
    return measurement;
  };

  const NodeGetVolumeStats: VolumeStats['NodeGetVolumeStats'] = async (request, ctx) => {
    const volumeId = checkVolumeId(request.volume_id);
    const path = statsPath(request.volume_path);
    const entry = await deps.mounter.mountsAt(path);
    if (!entry || !isNfsMount(entry) || !belongsToVolume(entry, volumeId)) {
      const what = entry ? `has ${entry.fsType} ${entry.source} mounted` : 'is not a mount point';
      throw notFound(`volume_path ${quote(path)} ${what}; volume ${quote(volumeId)} is not published there`);
    }
    const health = await deps.mounter.health(path, deps.healthTimeoutMs);
    if (!health.usable) {
      ctx.log.warn({ path, message: health.message }, 'volume is not answering');
      return { usage: [], volume_condition: { abnormal: true, message: health.message } };
    }
    try {
      return usageResponse(await measure(path));
    } catch (err) {
      if (!(err instanceof WarrenError) || err.kind !== 'Unavailable') throw err;
      // A measurement that did not finish says nothing of the volume by itself (its process may
      // not even have started on a busy node): the volume is abnormal only if it stopped answering.
      const again = await deps.mounter.health(path, deps.healthTimeoutMs);
      if (again.usable) {
        ctx.log.warn({ path, err }, 'measuring the volume did not finish; the volume still answers');
        throw unavailable(`${err.message}; the volume at ${quote(path)} answers, ask again later`, err);
      }
      ctx.log.warn(
        { path, err, message: again.message },
        'measuring the volume did not finish; it stopped answering',
      );
      return { usage: [], volume_condition: { abnormal: true, message: again.message } };
    }
  };

  return { NodeGetVolumeStats, forget: (path) => cache.delete(path) };
}

/**
 * volume_path is required (INVALID_ARGUMENT when missing), but a path that cannot be a
 * publish target, such as a relative one, names no published volume: NOT_FOUND, as the
 * spec's "volume_path does not exist" (csi-sanity checks this).
 */
function statsPath(value: unknown): string {
  if (typeof value !== 'string' || value === '') return checkNodePath(value, 'volume_path');
  try {
    return checkNodePath(value, 'volume_path');
  } catch (err) {
    throw notFound(`no volume is published at volume_path ${quote(value)}: ${(err as Error).message}`);
  }
}
