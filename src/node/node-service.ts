// CSI Node service: publish (mount an NFS export at kubelet's target path), unpublish, info,
// capabilities and volume stats. Decisions come from publish-plan.ts; this file only acts on them.
// No staging and no expansion: NodeStage/NodeUnstage/NodeExpand are not handled (UNIMPLEMENTED).
import type { Logger } from 'pino';
import type { NodeGetCapabilitiesResponse } from '../csi/generated/csi/v1/NodeGetCapabilitiesResponse.ts';
import type { NodeGetInfoResponse } from '../csi/generated/csi/v1/NodeGetInfoResponse.ts';
import type { NodePublishVolumeRequest__Output } from '../csi/generated/csi/v1/NodePublishVolumeRequest.ts';
import type { NodePublishVolumeResponse } from '../csi/generated/csi/v1/NodePublishVolumeResponse.ts';
import type { NodeUnpublishVolumeRequest__Output } from '../csi/generated/csi/v1/NodeUnpublishVolumeRequest.ts';
import type { NodeUnpublishVolumeResponse } from '../csi/generated/csi/v1/NodeUnpublishVolumeResponse.ts';
import type { RpcHandler } from '../csi/pipeline.ts';
import { failedPrecondition } from '../errors.ts';
import { quote } from '../text.ts';
import type { Mounter } from './mounter.ts';
import type { NodeFs } from './node-fs.ts';
import {
  checkPublishRequest,
  checkUnpublishRequest,
  type PublishSpec,
  planPublish,
  planUnpublish,
  targetDirMode,
} from './publish-plan.ts';
import { defaultUnmountLimits, unmountCompletely } from './unmount.ts';
import { makeVolumeStats } from './volume-stats.ts';

export interface NodeDeps {
  driverName: string;
  nodeId: string;
  mounter: Mounter;
  fs: NodeFs;
  /** One mount command; a server that does not answer within this is Unavailable. */
  mountTimeoutMs: number;
  /** Measuring one volume for NodeGetVolumeStats. */
  statsBudgetMs: number;
  now(): number;
  /** Asking a mounted path whether its server answers (default 5 s). */
  healthTimeoutMs?: number;
  /** All umount steps for one target (default 20 s; plain, -f, -l within it). */
  unmountBudgetMs?: number;
  unmountStepTimeoutMs?: number;
  /** How long a volume's measurement is reused (default 30 s). */
  statsCacheTtlMs?: number;
}

const capabilityTypes = ['GET_VOLUME_STATS', 'SINGLE_NODE_MULTI_WRITER', 'VOLUME_CONDITION'] as const;

export function makeNodeService(deps: NodeDeps) {
  const { mounter, fs } = deps;
  const healthTimeoutMs = deps.healthTimeoutMs ?? 5_000;
  const unmountLimits = {
    now: deps.now,
    budgetMs: deps.unmountBudgetMs ?? defaultUnmountLimits.budgetMs,
    stepTimeoutMs: deps.unmountStepTimeoutMs ?? defaultUnmountLimits.stepTimeoutMs,
  };
  const stats = makeVolumeStats({
    mounter,
    fs,
    now: deps.now,
    statsBudgetMs: deps.statsBudgetMs,
    healthTimeoutMs,
    cacheTtlMs: deps.statsCacheTtlMs ?? 30_000,
  });

  /** Mounts at the target, creating the directory if needed; on failure leaves neither a mount nor a new directory. */
  async function mountTarget(spec: PublishSpec, log: Logger): Promise<void> {
    const target = spec.targetPath;
    const kind = await fs.pathKind(target);
    if (kind === 'other') {
      throw failedPrecondition(`target_path ${quote(target)} exists and is not a directory`);
    }
    if (kind === 'missing') await fs.makeDirectory(target, targetDirMode);
    try {
      await mounter.mount(spec.source, target, spec.fsType, spec.options, deps.mountTimeoutMs);
    } catch (err) {
      // A mount command killed at its time limit may still have mounted just before.
      if (await mounter.mountsAt(target)) {
        await unmountCompletely(mounter, target, unmountLimits, log).catch((cleanup: unknown) =>
          log.error({ err: cleanup, target }, 'could not remove the mount left by a failed mount'),
        );
      }
      if (kind === 'missing' && !(await mounter.mountsAt(target))) {
        await fs
          .removeDirectory(target)
          .catch((cleanup: unknown) =>
            log.warn({ err: cleanup, target }, 'could not remove the target directory after a failed mount'),
          );
      }
      throw err;
    }
    log.info({ source: spec.source, target, options: spec.options }, 'mounted');
  }

  const NodePublishVolume: RpcHandler<NodePublishVolumeRequest__Output, NodePublishVolumeResponse> = async (
    request,
    ctx,
  ) => {
    const spec = checkPublishRequest(request);
    const entry = await mounter.mountsAt(spec.targetPath);
    const observed = entry && { entry, health: await mounter.health(spec.targetPath, healthTimeoutMs) };
    const plan = planPublish(spec, observed);
    if (plan.action === 'noop') {
      ctx.log.info({ source: spec.source }, 'already published');
      return {};
    }
    if (plan.action === 'remount') {
      ctx.log.warn(
        { source: spec.source, reason: plan.reason },
        'the mount at the target is unusable; remounting',
      );
      await unmountCompletely(mounter, spec.targetPath, unmountLimits, ctx.log);
      stats.forget(spec.targetPath);
    }
    await mountTarget(spec, ctx.log);
    return {};
  };

  const NodeUnpublishVolume: RpcHandler<
    NodeUnpublishVolumeRequest__Output,
    NodeUnpublishVolumeResponse
  > = async (request, ctx) => {
    const spec = checkUnpublishRequest(request);
    const plan = planUnpublish(spec, await mounter.mountsAt(spec.targetPath));
    if (plan.action === 'unmount') {
      await unmountCompletely(mounter, spec.targetPath, unmountLimits, ctx.log);
      ctx.log.info({ source: plan.source }, 'unmounted');
    }
    stats.forget(spec.targetPath);
    await fs.removeDirectory(spec.targetPath);
    return {};
  };

  const NodeGetInfo: RpcHandler<unknown, NodeGetInfoResponse> = async () => ({
    node_id: deps.nodeId,
    max_volumes_per_node: '0',
  });

  const NodeGetCapabilities: RpcHandler<unknown, NodeGetCapabilitiesResponse> = async () => ({
    capabilities: capabilityTypes.map((type) => ({ rpc: { type } })),
  });

  return {
    NodePublishVolume,
    NodeUnpublishVolume,
    NodeGetInfo,
    NodeGetCapabilities,
    NodeGetVolumeStats: stats.NodeGetVolumeStats,
  };
}
