import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { toRpcFailure } from '../../src/csi/status.ts';
import { type ErrorKind, WarrenError } from '../../src/errors.ts';
import { captureLog } from './csi-log-capture.ts';

const table: Array<[ErrorKind, status]> = [
  ['InvalidArgument', status.INVALID_ARGUMENT],
  ['NotFound', status.NOT_FOUND],
  ['AlreadyExists', status.ALREADY_EXISTS],
  ['Aborted', status.ABORTED],
  ['FailedPrecondition', status.FAILED_PRECONDITION],
  ['Unavailable', status.UNAVAILABLE],
  ['OutOfRange', status.OUT_OF_RANGE],
  ['Unimplemented', status.UNIMPLEMENTED],
  ['Internal', status.INTERNAL],
];

describe('WarrenError kind -> gRPC status', () => {
  it.each(table)('%s becomes %i and keeps its message', (kind, code) => {
    const capture = captureLog();
    const failure = toRpcFailure(new WarrenError(kind, `the ${kind} message`), 'CreateVolume', capture.log);
    expect(failure).toEqual({ code, details: `the ${kind} message` });
  });

  it('logs the cause of an Internal WarrenError but not of an expected one', () => {
    const capture = captureLog();
    toRpcFailure(new WarrenError('NotFound', 'gone'), 'DeleteVolume', capture.log);
    expect(capture.records()).toEqual([]);
    toRpcFailure(new WarrenError('Internal', 'broken'), 'DeleteVolume', capture.log);
    expect(capture.records()).toHaveLength(1);
  });

  it('turns an unknown error into INTERNAL with a generic message and the cause in the log', () => {
    const capture = captureLog();
    const cause = Object.assign(new Error('EACCES: permission denied, open /secret/path'), {
      code: 'EACCES',
    });
    const failure = toRpcFailure(cause, 'CreateVolume', capture.log);
    expect(failure.code).toBe(status.INTERNAL);
    expect(failure.details).toContain('CreateVolume');
    expect(failure.details).toContain('EACCES');
    expect(failure.details).not.toContain('/secret/path');
    const [record] = capture.records();
    expect(record?.level).toBe(50);
    expect(JSON.stringify(record?.err)).toContain('/secret/path');
  });

  it('names the error type when there is no errno code', () => {
    const failure = toRpcFailure(new TypeError('x is undefined'), 'Probe', captureLog().log);
    expect(failure).toMatchObject({ code: status.INTERNAL });
    expect(failure.details).toContain('TypeError');
    expect(toRpcFailure('a string', 'Probe', captureLog().log).details).toContain('string');
  });
});
