// The node plugin's real dependencies, and the readiness check the Identity service's Probe uses.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readiness } from './identity-service.ts';
import { makeRealNodeFs } from './node-fs.ts';
import type { NodeDeps } from './node-service.ts';
import { makeRealMounter } from './real-mounter.ts';

export interface RealNodeOptions {
  driverName: string;
  nodeId: string;
  mountTimeoutMs?: number;
  statsBudgetMs?: number;
}

export const defaultMountTimeoutMs = 30_000;
export const defaultStatsBudgetMs = 10_000;

export function makeRealNodeDeps(options: RealNodeOptions): NodeDeps {
  return {
    driverName: options.driverName,
    nodeId: options.nodeId,
    mounter: makeRealMounter(),
    fs: makeRealNodeFs(),
    mountTimeoutMs: options.mountTimeoutMs ?? defaultMountTimeoutMs,
    statsBudgetMs: options.statsBudgetMs ?? defaultStatsBudgetMs,
    now: Date.now,
  };
}

/** Ready when the NFS mount helper is installed: without it every publish would fail. */
export async function probeNode(helperDirs: readonly string[] = ['/sbin', '/usr/sbin']): Promise<Readiness> {
  for (const dir of helperDirs) {
    const ok = await access(join(dir, 'mount.nfs'), constants.X_OK).then(
      () => true,
      () => false,
    );
    if (ok) return { ready: true };
  }
  return {
    ready: false,
    message: `mount.nfs not found in ${helperDirs.join(', ')}; install nfs-common in the node image`,
  };
}
