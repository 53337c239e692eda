// kubelet's plugin registration (pluginregistration v1) served by `warren node` itself, on
// <registration dir>/<driver>-reg.sock, so a node needs no node-driver-registrar sidecar.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type GrpcObject,
  loadPackageDefinition,
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { loadProtoDefinition } from '../csi/load.ts';
import { prepareSocketPath } from '../csi/server.ts';
import { protoFile } from '../shipped.ts';

export const registrationProtoPath = protoFile('pluginregistration.proto', import.meta.url);

export interface PluginInfo {
  type: 'CSIPlugin';
  name: string;
  endpoint: string;
  supported_versions: string[];
}

export interface RegistrationStatus {
  plugin_registered: boolean;
  error: string;
}

/** kubelet picks the highest CSI version it knows from this list; it speaks CSI 1.x. */
export const supportedCsiVersions = ['1.0.0'];

/** Pure: what GetInfo answers. `kubeletEndpoint` is the CSI socket's path as kubelet sees it. */
export function pluginInfo(driverName: string, kubeletEndpoint: string): PluginInfo {
  return {
    type: 'CSIPlugin',
    name: driverName,
    endpoint: kubeletEndpoint,
    supported_versions: supportedCsiVersions,
  };
}

/** Pure: the socket kubelet's plugin watcher finds (a name starting with '.' would be ignored). */
export function registrationSocketPath(registrationDir: string, driverName: string): string {
  return join(registrationDir, `${driverName}-reg.sock`);
}

export interface RegistrationServer {
  path: string;
  /** The last status kubelet reported; undefined until kubelet has called. */
  lastStatus(): RegistrationStatus | undefined;
  stop(): Promise<void>;
}

let service: ServiceDefinition | undefined;
function registrationService(): ServiceDefinition {
  if (!service) {
    const pkg = loadPackageDefinition(loadProtoDefinition('pluginregistration'));
    const registration = (pkg.pluginregistration as GrpcObject).Registration as {
      service: ServiceDefinition;
    };
    service = registration.service;
  }
  return service;
}

/**
 * Serves GetInfo and NotifyRegistrationStatus on the registration socket. A failed registration
 * is logged as an error and the socket stays: kubelet retries it with backoff (the registrar
 * sidecar exits instead, to be restarted; the CSI socket here must stay up for mounted volumes).
 */
export async function startRegistrationServer(options: {
  registrationDir: string;
  info: PluginInfo;
  log: Logger;
}): Promise<RegistrationServer> {
  const { info, log } = options;
  const path = registrationSocketPath(options.registrationDir, info.name);
  let last: RegistrationStatus | undefined;
  const handlers: UntypedServiceImplementation = {
    GetInfo: (_call: unknown, callback: (err: null, value: PluginInfo) => void) => {
      log.debug({ info }, 'kubelet asked for plugin info');
      callback(null, info);
    },
    NotifyRegistrationStatus: (
      call: { request: RegistrationStatus },
      callback: (err: null, value: object) => void,
    ) => {
      last = { plugin_registered: call.request.plugin_registered, error: call.request.error };
      if (last.plugin_registered)
        log.info({ driver: info.name, endpoint: info.endpoint }, 'registered with kubelet');
      else
        log.error(
          { driver: info.name, endpoint: info.endpoint, error: last.error },
          'kubelet refused the registration; it retries with backoff',
        );
      callback(null, {});
    },
  };
  const server = new Server();
  server.addService(registrationService(), handlers);
  await prepareSocketPath(path);
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${path}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  log.info({ path, endpoint: info.endpoint }, 'registration socket listening for kubelet');
  return {
    path,
    lastStatus: () => last,
    stop: async () => {
      server.forceShutdown();
      await unlink(path).catch(() => undefined);
    },
  };
}
