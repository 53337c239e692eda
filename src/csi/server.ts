// The gRPC server the CO and the sidecars talk to: a unix socket in production, TCP for tests and VMs.
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { failedPrecondition, invalidArgument } from '../errors.ts';
import { type CsiServiceName, loadCsiProto } from './load.ts';
import { createOperationLocks } from './operation-locks.ts';
import { addCsiService, type ServiceHandlers } from './pipeline.ts';

export type Endpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface CsiServer {
  /** Where it listens, with the real port when tcp port 0 was asked for. */
  address: string;
  /** Lets calls in flight finish for up to graceMs, then cuts them off; removes the socket file. */
  stop(graceMs: number): Promise<void>;
}

const tcpHosts = new Set(['127.0.0.1', '0.0.0.0', 'localhost', '[::1]', '[::]']);

/** Pure: `unix:///abs/path.sock` or `tcp://HOST:PORT` (loopback or any-address only). */
export function parseEndpoint(endpoint: string): Endpoint {
  const usage = 'use unix:///absolute/path.sock, or tcp://127.0.0.1:PORT for tests';
  if (endpoint.startsWith('unix://')) {
    const path = endpoint.slice('unix://'.length);
    if (!isAbsolute(path)) {
      throw invalidArgument(
        `CSI endpoint "${endpoint}" has a relative socket path (unix://a/b names host "a"); ${usage}, e.g. unix:///csi/csi.sock`,
      );
    }
    return { kind: 'unix', path };
  }
  const tcp = /^tcp:\/\/(.+):(\d{1,5})$/.exec(endpoint);
  if (tcp) {
    const [, host = '', port = ''] = tcp;
    if (!tcpHosts.has(host) || Number(port) > 65535) {
      throw invalidArgument(
        `CSI endpoint "${endpoint}": TCP is only for tests and VMs; host must be one of ${[...tcpHosts].join(', ')} and port 0-65535`,
      );
    }
    return { kind: 'tcp', host, port: Number(port) };
  }
  throw invalidArgument(`CSI endpoint "${endpoint}" is not understood; ${usage}`);
}

/** Removes a socket file left by a dead process; refuses if a live server answers on it or it is not a socket. */
async function clearStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return;
  if (!info.isSocket()) {
    throw failedPrecondition(
      `CSI socket path "${path}" exists and is not a socket; remove it or pick another`,
    );
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw failedPrecondition(`another process is serving on "${path}"; stop it first`);
  await unlink(path);
}

/** Creates the socket's directory and removes a stale socket file there (see clearStaleSocket). */
export async function prepareSocketPath(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await clearStaleSocket(path);
}

function bind(server: Server, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(target, ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  });
}

export async function startCsiServer(options: {
  endpoint: string;
  services: Partial<Record<CsiServiceName, ServiceHandlers>>;
  log: Logger;
}): Promise<CsiServer> {
  const endpoint = parseEndpoint(options.endpoint);
  const proto = loadCsiProto();
  const server = new Server();
  const deps = { log: options.log, locks: createOperationLocks() };
  for (const [name, handlers] of Object.entries(options.services) as Array<
    [CsiServiceName, ServiceHandlers]
  >) {
    addCsiService(server, name, proto.services[name], handlers, deps);
  }

  let address: string;
  if (endpoint.kind === 'unix') {
    await prepareSocketPath(endpoint.path);
    await bind(server, `unix://${endpoint.path}`);
    address = `unix://${endpoint.path}`;
  } else {
    const port = await bind(server, `${endpoint.host}:${endpoint.port}`);
    address = `tcp://${endpoint.host}:${port}`;
  }
  options.log.info({ address, services: Object.keys(options.services) }, 'CSI server listening');

  return {
    address,
    stop: async (graceMs) => {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          options.log.warn({ graceMs }, 'calls still running after the grace period; cutting them off');
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      if (endpoint.kind === 'unix') await unlink(endpoint.path).catch(() => undefined);
      options.log.info({ address }, 'CSI server stopped');
    },
  };
}
