// The one place where Warren's typed errors become gRPC status codes. Nothing here reads a message.
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { type ErrorKind, errorRules, WarrenError } from '../errors.ts';

/** The gRPC code of an error kind, as errors.ts's table names it. */
export const statusOf = (kind: ErrorKind): status => status[errorRules[kind].grpc];

export interface RpcFailure {
  code: status;
  details: string;
}

/**
 * A WarrenError keeps its message: it was written for the user. Anything else is a bug or a
 * failure nobody classified; the client learns which RPC failed and roughly how (an errno code or
 * error name, never the raw message), and the log gets the whole cause.
 */
export function toRpcFailure(err: unknown, method: string, log: Logger): RpcFailure {
  if (err instanceof WarrenError && err.kind !== 'Internal') {
    return { code: statusOf(err.kind), details: err.message };
  }
  log.error({ err }, `${method} failed with an internal error`);
  if (err instanceof WarrenError) return { code: status.INTERNAL, details: err.message };
  return {
    code: status.INTERNAL,
    details: `${method} failed with an internal error (${describe(err)}); the Warren plugin log has the cause`,
  };
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code)) return code;
  return err instanceof Error ? err.name : typeof err;
}
