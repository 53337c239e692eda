// Typed errors: domain code throws these; csi/status.ts maps them to gRPC codes and
// controller/events.ts to Kubernetes Events. Nothing chooses a code by reading a message.

export type ErrorKind =
  | 'InvalidArgument' // the request or configuration is wrong; the message says what to fix
  | 'NotFound'
  | 'AlreadyExists'
  | 'Aborted' // an operation on the same object is in progress
  | 'FailedPrecondition'
  | 'Unavailable' // transient: server down, timeout; retry
  | 'OutOfRange'
  | 'Unimplemented'
  | 'Internal';

export class WarrenError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = `WarrenError(${kind})`;
  }
}

export const invalidArgument = (message: string) => new WarrenError('InvalidArgument', message);
export const notFound = (message: string) => new WarrenError('NotFound', message);
export const alreadyExists = (message: string) => new WarrenError('AlreadyExists', message);
export const unavailable = (message: string, cause?: unknown) =>
  new WarrenError('Unavailable', message, { cause });
export const failedPrecondition = (message: string) => new WarrenError('FailedPrecondition', message);

export function errorKind(err: unknown): ErrorKind {
  return err instanceof WarrenError ? err.kind : 'Internal';
}

/** Errors a user must fix (retrying soon will not help). */
export function isConfigurationError(err: unknown): boolean {
  const kind = errorKind(err);
  return kind === 'InvalidArgument' || kind === 'FailedPrecondition' || kind === 'Unimplemented';
}
