// CSI Identity: who the plugin is, which services it serves, and whether it is ready.

import type { GetPluginCapabilitiesResponse } from '../csi/generated/csi/v1/GetPluginCapabilitiesResponse.ts';
import type { GetPluginInfoResponse } from '../csi/generated/csi/v1/GetPluginInfoResponse.ts';
import type { ProbeResponse } from '../csi/generated/csi/v1/ProbeResponse.ts';
import type { RpcHandler } from '../csi/pipeline.ts';
import { failedPrecondition } from '../errors.ts';

export interface Readiness {
  ready: boolean;
  /** Why not ready, for the CO and the log (e.g. "mount.nfs not found in /sbin, /usr/sbin"). */
  message?: string;
}

export interface IdentityDeps {
  driverName: string;
  version: string;
  /** True when this process also serves the Controller service. */
  servesController: boolean;
  probe: () => Promise<Readiness>;
}

export function makeIdentityService(deps: IdentityDeps) {
  const GetPluginInfo: RpcHandler<unknown, GetPluginInfoResponse> = async () => ({
    name: deps.driverName,
    vendor_version: deps.version,
  });

  const GetPluginCapabilities: RpcHandler<unknown, GetPluginCapabilitiesResponse> = async () => ({
    // Expansion is a number in a record (NFS has no size to grow), so it is safe while published.
    capabilities: deps.servesController
      ? [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'ONLINE' } }]
      : [],
  });

  const Probe: RpcHandler<unknown, ProbeResponse> = async () => {
    const readiness = await deps.probe();
    if (!readiness.ready) throw failedPrecondition(`not ready: ${readiness.message ?? 'no reason given'}`);
    return { ready: { value: true } };
  };

  return { GetPluginInfo, GetPluginCapabilities, Probe };
}
