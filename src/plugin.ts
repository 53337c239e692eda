// `warren node`: wires the real dependencies into the CSI services and serves them on one endpoint.
import type { Logger } from 'pino';
import { kubeletEndpointOf, type NodeConfig } from './config/node-flags.ts';
import type { ServiceHandlers } from './csi/pipeline.ts';
import { startCsiServer } from './csi/server.ts';
import { makeControllerService } from './csi-controller/controller-service.ts';
import { startHealthEndpoint } from './node/health-endpoint.ts';
import { makeIdentityService } from './node/identity-service.ts';
import { makeNodeService } from './node/node-service.ts';
import { makeRealNodeDeps, probeNode } from './node/real-node-deps.ts';
import { pluginInfo, startRegistrationServer } from './node/registration.ts';
import { createShareWorkerBackend } from './provisioning/share-worker-backend.ts';
import { warrenVersion } from './version.ts';

/** Calls in flight get this long after SIGTERM; the CLI exits hard at 10 s. */
export const stopGraceMs = 8_000;

export async function runCsiPlugin(
  config: NodeConfig,
  log: Logger,
): Promise<{ address: string; stop(): Promise<void> }> {
  const identity = makeIdentityService({
    driverName: config.driverName,
    version: warrenVersion,
    servesController: config.controller,
    probe: () => probeNode(),
  });
  const node = makeNodeService(
    makeRealNodeDeps({
      driverName: config.driverName,
      nodeId: config.nodeId,
      mountTimeoutMs: config.mountTimeout,
    }),
  );
  const services: Record<string, ServiceHandlers> = { Identity: identity, Node: node };
  // Share I/O in one worker process per share (see share-lanes.ts): a frozen export fails its own
  // calls with UNAVAILABLE and leaves the other shares and the Node service answering.
  const shareIo = config.controller
    ? createShareWorkerBackend({
        shares: config.shares,
        onChange: (s) => {
          if (s.available) log.info({ share: s.share }, 'share answers again');
          else log.warn({ share: s.share, reason: s.reason }, 'share is not answering; its calls fail fast');
        },
      })
    : undefined;
  if (shareIo) {
    services.Controller = makeControllerService({
      store: { shares: config.shares, backend: shareIo.backend },
      copier: shareIo.copier,
    });
  }
  const server = await startCsiServer({ endpoint: config.endpoint, services, log });
  log.info(
    {
      driver: config.driverName,
      nodeId: config.nodeId,
      version: warrenVersion,
      controller: config.controller,
    },
    'Warren CSI plugin started',
  );
  // Registered only once the CSI socket serves: kubelet calls it as soon as registration succeeds.
  const registration = config.registrationDir
    ? await startRegistrationServer({
        registrationDir: config.registrationDir,
        info: pluginInfo(config.driverName, kubeletEndpointOf(config)),
        log,
      })
    : undefined;
  const health = config.healthAddress
    ? await startHealthEndpoint({ address: config.healthAddress, probe: () => probeNode() })
    : undefined;
  if (health) log.info({ address: health.address }, 'serving /healthz');
  return {
    address: server.address,
    stop: async () => {
      await health?.stop();
      await registration?.stop();
      await server.stop(stopGraceMs);
      await shareIo?.close();
    },
  };
}
