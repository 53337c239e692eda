// Shared fixtures for the node plugin tests: valid requests, a test clock, the service on fakes.
import { pino } from 'pino';
import type { NodePublishVolumeRequest__Output } from '../../src/csi/generated/csi/v1/NodePublishVolumeRequest.ts';
import type { RpcContext } from '../../src/csi/pipeline.ts';
import { makeNodeService } from '../../src/node/node-service.ts';
import { makeMemoryMounter } from '../fakes/memory-mounter.ts';
import { makeMemoryNodeFs } from '../fakes/memory-node-fs.ts';

export const volumeId = '1#d#nfs.example.com#/export#ns-a/data';
export const source = 'nfs.example.com:/export/ns-a/data';
export const target = '/var/lib/kubelet/pods/0b0e/volumes/kubernetes.io~csi/pvc-1/mount';

export function publishRequest(): NodePublishVolumeRequest__Output {
  return {
    volume_id: volumeId,
    target_path: target,
    staging_target_path: '',
    publish_context: {},
    secrets: {},
    readonly: false,
    volume_capability: {
      access_type: 'mount',
      mount: { fs_type: '', mount_flags: [], volume_mount_group: '' },
      access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' },
    },
    volume_context: { server: 'nfs.example.com', share: '/export', subDir: 'ns-a/data', onDelete: 'delete' },
  };
}

export const ctx: RpcContext = { log: pino({ level: 'silent' }) };

/** The node service on an in-memory mounter and file system, with a clock hung commands advance. */
export function nodeOnFakes(overrides: { statsCacheTtlMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const fs = makeMemoryNodeFs();
  // The mounter sees the same node directories: a mount needs its target to exist, as on a kernel.
  const mounter = makeMemoryMounter({
    elapse: (ms) => (clock.t += ms),
    directoryExists: (path) => fs.directories.has(path),
  });
  const service = makeNodeService({
    driverName: 'nfs.warren.dev',
    nodeId: 'node-a',
    mounter,
    fs,
    mountTimeoutMs: 15_000,
    statsBudgetMs: 4_000,
    now: () => clock.t,
    healthTimeoutMs: 3_000,
    ...overrides,
  });
  return { clock, mounter, fs, service };
}
