// Typed errors: domain code throws these, and this file's one table says what each kind becomes
// everywhere: the gRPC code (csi/status.ts applies it), the retry class of a reconcile and whether
// the user is told with a Warning Event (claims/report-failure.ts applies both). Nothing chooses
// any of these by reading a message.

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

/** gRPC status names as grpc-js spells them in its `status` enum. */
export type GrpcCodeName =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'ABORTED'
  | 'FAILED_PRECONDITION'
  | 'UNAVAILABLE'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL';

/** `slow`: a user must change something, retrying soon will not help. `fast`: transient. */
export type RetryClass = 'slow' | 'fast';

export interface KindRules {
  grpc: GrpcCodeName;
  retry: RetryClass;
  /** Tell the user with a Warning Event. Aborted is a race with another writer: nothing to tell. */
  warn: boolean;
}

export const errorRules: Record<ErrorKind, KindRules> = {
  InvalidArgument: { grpc: 'INVALID_ARGUMENT', retry: 'slow', warn: true },
  NotFound: { grpc: 'NOT_FOUND', retry: 'fast', warn: true },
  AlreadyExists: { grpc: 'ALREADY_EXISTS', retry: 'fast', warn: true },
  Aborted: { grpc: 'ABORTED', retry: 'fast', warn: false },
  FailedPrecondition: { grpc: 'FAILED_PRECONDITION', retry: 'slow', warn: true },
  Unavailable: { grpc: 'UNAVAILABLE', retry: 'fast', warn: true },
  OutOfRange: { grpc: 'OUT_OF_RANGE', retry: 'fast', warn: true },
  Unimplemented: { grpc: 'UNIMPLEMENTED', retry: 'slow', warn: true },
  Internal: { grpc: 'INTERNAL', retry: 'fast', warn: true },
};

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

export const rulesFor = (err: unknown): KindRules => errorRules[errorKind(err)];
