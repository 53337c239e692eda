// Pure: checks NodePublishVolume/NodeUnpublishVolume requests and decides what to do given what is
// mounted at the target now. node-service.ts reads the mount table, calls these, then acts.

import { type NfsFsType, requireCapability } from '../csi/capabilities.ts';
import type { NodePublishVolumeRequest__Output } from '../csi/generated/csi/v1/NodePublishVolumeRequest.ts';
import type { NodeUnpublishVolumeRequest__Output } from '../csi/generated/csi/v1/NodeUnpublishVolumeRequest.ts';
import { alreadyExists, failedPrecondition, invalidArgument, unavailable } from '../errors.ts';
import { quote } from '../text.ts';
import {
  isNfsMount,
  isReadOnlyMount,
  type MountEntry,
  type MountHealth,
  nfsVersionIn,
  nfsVersionsAgree,
} from './mounter.ts';
import { checkAttributeSizes, checkNodePath, checkVolumeId } from './request-fields.ts';
import { formatSource, type NfsSource, resolveSource, sameSource } from './volume-source.ts';

export interface PublishSpec {
  volumeId: string;
  targetPath: string;
  nfs: NfsSource;
  /** `server:/share/subDir` */
  source: string;
  fsType: NfsFsType;
  options: string[];
  readOnly: boolean;
  ephemeral: boolean;
}

export interface UnpublishSpec {
  volumeId: string;
  targetPath: string;
}

/** What is mounted at the target now, and whether it answers. */
export interface ObservedMount {
  entry: MountEntry;
  health: MountHealth;
}

export type PublishPlan = { action: 'noop' } | { action: 'mount' } | { action: 'remount'; reason: string };
export type UnpublishPlan = { action: 'remove-target' } | { action: 'unmount'; source: string };

/** Mode of a target directory Warren creates: kubelet (root) and the pod's mount, nobody else. */
export const targetDirMode = 0o750;

export function checkPublishRequest(request: NodePublishVolumeRequest__Output): PublishSpec {
  const volumeId = checkVolumeId(request.volume_id);
  const targetPath = checkNodePath(request.target_path, 'target_path');
  const capability = requireCapability('volume_capability', request.volume_capability);
  const context = request.volume_context ?? {};
  checkAttributeSizes(context, 'volume_context');
  const { source: nfs, ephemeral } = resolveSource(volumeId, context);
  const flags = capability.mountFlags;
  const readOnly = request.readonly === true || capability.readerOnly || flags.includes('ro');
  if (readOnly && flags.includes('rw')) {
    const why = request.readonly
      ? 'readonly is set'
      : capability.readerOnly
        ? `access mode is ${capability.accessMode}`
        : '"ro" is also given';
    throw invalidArgument(`mount_flags has "rw" but ${why}; remove "rw"`);
  }
  return {
    volumeId,
    targetPath,
    nfs,
    source: formatSource(nfs),
    fsType: capability.fsType,
    options: readOnly && !flags.includes('ro') ? [...flags, 'ro'] : flags,
    readOnly,
    ephemeral,
  };
}

export function planPublish(spec: PublishSpec, current: ObservedMount | undefined): PublishPlan {
  if (!current) return { action: 'mount' };
  const { entry, health } = current;
  const target = quote(spec.targetPath);
  if (!isNfsMount(entry) || !sameSource(entry.source, spec.source)) {
    throw alreadyExists(
      `target_path ${target} already has ${entry.fsType} ${entry.source} mounted; volume ${quote(spec.volumeId)} is ${spec.source}`,
    );
  }
  const mountedReadOnly = isReadOnlyMount(entry);
  if (mountedReadOnly !== spec.readOnly) {
    const [now, wanted] = spec.readOnly ? ['read-write', 'read-only'] : ['read-only', 'read-write'];
    throw alreadyExists(
      `target_path ${target} already has ${spec.source} mounted ${now}; this request wants it ${wanted}`,
    );
  }
  const wantedVersion = nfsVersionIn(spec.options);
  const mountedVersion = nfsVersionIn(entry.superOptions);
  if (wantedVersion && mountedVersion && !nfsVersionsAgree(wantedVersion, mountedVersion)) {
    throw alreadyExists(
      `target_path ${target} already has ${spec.source} mounted with NFS vers=${mountedVersion}; this request wants vers=${wantedVersion}`,
    );
  }
  if (health.usable) return { action: 'noop' };
  // Only a mount whose directory went away on the server (ESTALE) is replaced: it can never work
  // again. One whose server does not answer, or answers with another error (EIO from a soft mount
  // of a server that is down), may be in use by a running pod and may recover: forcing it off
  // would fail that pod's I/O, so the CO is told to retry instead.
  if (!health.stale) {
    const why = health.timedOut ? 'its server does not answer' : 'it does not work';
    throw unavailable(
      `target_path ${target} has ${spec.source} mounted, but ${why} (${health.message}); ` +
        'not replacing a mount that may be in use; retry when the server answers',
    );
  }
  return { action: 'remount', reason: health.message };
}

export function checkUnpublishRequest(request: NodeUnpublishVolumeRequest__Output): UnpublishSpec {
  return {
    volumeId: checkVolumeId(request.volume_id),
    targetPath: checkNodePath(request.target_path, 'target_path'),
  };
}

export function planUnpublish(spec: UnpublishSpec, current: MountEntry | undefined): UnpublishPlan {
  if (!current) return { action: 'remove-target' };
  if (!isNfsMount(current)) {
    throw failedPrecondition(
      `target_path ${quote(spec.targetPath)} has a ${current.fsType} mount (${current.source}), not NFS; ` +
        'Warren only unmounts the NFS mounts it publishes',
    );
  }
  return { action: 'unmount', source: current.source };
}
