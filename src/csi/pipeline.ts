// One request pipeline for every CSI RPC: child logger, redacted request/response logs, the
// per-volume try-lock, error mapping (status.ts) and timing. Handlers stay plain async functions
// that return a response object or throw a WarrenError.
import type {
  handleUnaryCall,
  Server,
  ServerUnaryCall,
  ServiceDefinition,
  sendUnaryData,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { WarrenError } from '../errors.ts';
import { quote } from '../text.ts';
import type { OperationLocks } from './operation-locks.ts';
import { redactSecrets } from './redact.ts';
import { type RpcFailure, toRpcFailure } from './status.ts';

export interface RpcContext {
  /** Child logger carrying the method and the volume id / target path of this call. */
  log: Logger;
}

export type RpcHandler<Request, Response> = (request: Request, ctx: RpcContext) => Promise<Response>;

/** RPC name (as in csi.proto, e.g. `CreateVolume`) -> handler. RPCs left out answer UNIMPLEMENTED. */
export type ServiceHandlers = Record<string, RpcHandler<never, unknown>>;

export interface PipelineDeps {
  log: Logger;
  locks: OperationLocks;
}

export type RpcOutcome = { ok: true; response: unknown } | { ok: false; failure: RpcFailure };

/** Calls that only read, or that kubelet and probes repeat every few seconds: no lock, quiet logs. */
const readOnlyMethods = new Set([
  'GetPluginInfo',
  'GetPluginCapabilities',
  'Probe',
  'ControllerGetCapabilities',
  'ValidateVolumeCapabilities',
  'ListVolumes',
  'ListSnapshots',
  'GetCapacity',
  'ControllerGetVolume',
  'NodeGetCapabilities',
  'NodeGetInfo',
  'NodeGetVolumeStats',
]);

type Fields = Record<string, unknown>;
const textField = (request: Fields, name: string): string | undefined => {
  const value = request[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** Which lock a call needs, and how to name it to a user; undefined = no lock. */
export function lockFor(method: string, request: Fields): { key: string; what: string } | undefined {
  if (readOnlyMethods.has(method)) return undefined;
  const snapshotName = method === 'CreateSnapshot' ? textField(request, 'name') : undefined;
  if (snapshotName !== undefined)
    return { key: `snapshot-name\0${snapshotName}`, what: `snapshot name ${quote(snapshotName)}` };
  const snapshotId = method === 'DeleteSnapshot' ? textField(request, 'snapshot_id') : undefined;
  if (snapshotId !== undefined)
    return { key: `snapshot\0${snapshotId}`, what: `snapshot ${quote(snapshotId)}` };
  const volumeId = textField(request, 'volume_id');
  if (volumeId === undefined) {
    const name = method === 'CreateVolume' ? textField(request, 'name') : undefined;
    return name === undefined ? undefined : { key: `name\0${name}`, what: `volume name ${quote(name)}` };
  }
  const path = textField(request, 'target_path') ?? textField(request, 'staging_target_path');
  if (path === undefined) return { key: `volume\0${volumeId}`, what: `volume ${quote(volumeId)}` };
  return {
    key: `volume\0${volumeId}\0${path}`,
    what: `volume ${quote(volumeId)} at ${quote(path)}`,
  };
}

/** Runs one call through the pipeline; exported so tests can drive it without a server. */
export async function invokeRpc(
  method: string,
  handler: RpcHandler<never, unknown>,
  request: unknown,
  deps: PipelineDeps,
): Promise<RpcOutcome> {
  const fields = (request ?? {}) as Fields;
  const started = performance.now();
  const log = deps.log.child({
    method,
    ...(textField(fields, 'volume_id') ? { volumeId: fields.volume_id } : {}),
    ...(textField(fields, 'target_path') ? { targetPath: fields.target_path } : {}),
  });
  const quiet = readOnlyMethods.has(method);
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  log.debug({ request: redactSecrets(fields) }, 'request');

  const lock = lockFor(method, fields);
  const release = lock ? deps.locks.tryAcquire(lock.key) : undefined;
  try {
    if (lock && !release) {
      throw new WarrenError('Aborted', `an operation on ${lock.what} is in progress; retry later`);
    }
    const response = await handler(request as never, { log });
    log.debug({ response: redactSecrets(response) }, 'response');
    log[quiet ? 'debug' : 'info']({ durationMs: elapsed() }, `${method} succeeded`);
    return { ok: true, response: response ?? {} };
  } catch (err) {
    const failure = toRpcFailure(err, method, log);
    const level = failure.code === status.INTERNAL ? 'error' : 'warn';
    log[level]({ durationMs: elapsed(), code: status[failure.code] }, `${method} failed: ${failure.details}`);
    return { ok: false, failure };
  } finally {
    release?.();
  }
}

function unaryHandler(
  method: string,
  handler: RpcHandler<never, unknown>,
  deps: PipelineDeps,
): handleUnaryCall<unknown, unknown> {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    void invokeRpc(method, handler, call.request, deps).then((outcome) =>
      outcome.ok ? callback(null, outcome.response) : callback(outcome.failure),
    );
  };
}

function unimplemented(
  service: string,
  method: string,
  deps: PipelineDeps,
): handleUnaryCall<unknown, unknown> {
  const details = `${service}.${method} is not implemented by Warren`;
  return (_call, callback) => {
    deps.log.debug({ method }, details);
    callback({ code: status.UNIMPLEMENTED, details });
  };
}

/** Registers every RPC of `definition` on the server; a handler naming no RPC of the service is a bug. */
export function addCsiService(
  server: Server,
  service: string,
  definition: ServiceDefinition,
  handlers: ServiceHandlers,
  deps: PipelineDeps,
): void {
  const methods = Object.keys(definition);
  const stray = Object.keys(handlers).filter((name) => !methods.includes(name));
  if (stray.length > 0) throw new Error(`${service} has no RPC named ${stray.join(', ')}`);
  const implementation: UntypedServiceImplementation = {};
  for (const method of methods) {
    const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
    implementation[method] = handler
      ? unaryHandler(method, handler, deps)
      : unimplemented(service, method, deps);
  }
  server.addService(definition, implementation);
}
