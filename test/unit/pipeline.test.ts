import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { createOperationLocks } from '../../src/csi/operation-locks.ts';
import { invokeRpc, lockFor, type RpcHandler } from '../../src/csi/pipeline.ts';
import { redactSecrets } from '../../src/csi/redact.ts';
import { invalidArgument } from '../../src/errors.ts';
import { captureLog } from './csi-log-capture.ts';

/** A handler that waits until the test lets it finish, to hold a lock on purpose. */
function gatedHandler() {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const started: string[] = [];
  const handler: RpcHandler<{ volume_id?: string }, object> = async (request) => {
    started.push(request.volume_id ?? '');
    await gate;
    return {};
  };
  return { handler, open, started };
}

const deps = () => ({ ...captureLog(), locks: createOperationLocks() });

describe('lock keys', () => {
  it('locks a volume by id, a publish by id and target path, a create by name', () => {
    expect(lockFor('DeleteVolume', { volume_id: 'v1' })?.what).toBe('volume "v1"');
    expect(lockFor('NodePublishVolume', { volume_id: 'v1', target_path: '/t' })?.key).toBe('volume\0v1\0/t');
    expect(lockFor('NodeUnpublishVolume', { volume_id: 'v1', target_path: '/t' })?.key).toBe(
      lockFor('NodePublishVolume', { volume_id: 'v1', target_path: '/t' })?.key,
    );
    expect(lockFor('CreateVolume', { name: 'n', volume_id: '' })?.what).toBe('volume name "n"');
  });

  it('locks a snapshot by its name while it is taken and by its id while it is deleted', () => {
    expect(lockFor('CreateSnapshot', { name: 'n', source_volume_id: 'v1' })).toEqual({
      key: 'snapshot-name\0n',
      what: 'snapshot name "n"',
    });
    expect(lockFor('DeleteSnapshot', { snapshot_id: 's1#x#/e#n' })).toEqual({
      key: 'snapshot\0s1#x#/e#n',
      what: 'snapshot "s1#x#/e#n"',
    });
    expect(lockFor('ListSnapshots', { snapshot_id: 's1#x#/e#n' })).toBeUndefined();
    expect(lockFor('CreateSnapshot', { name: '' })).toBeUndefined();
  });

  it('does not lock read-only calls or calls without a volume', () => {
    expect(lockFor('ValidateVolumeCapabilities', { volume_id: 'v1' })).toBeUndefined();
    expect(lockFor('NodeGetVolumeStats', { volume_id: 'v1', volume_path: '/t' })).toBeUndefined();
    expect(lockFor('Probe', {})).toBeUndefined();
    expect(lockFor('DeleteVolume', { volume_id: '' })).toBeUndefined();
  });
});

describe('operation locks', () => {
  it('refuses a held key, frees it on release, and ignores a second release', () => {
    const locks = createOperationLocks();
    const release = locks.tryAcquire('a');
    expect(release).toBeTypeOf('function');
    expect(locks.tryAcquire('a')).toBeUndefined();
    release?.();
    release?.();
    expect(locks.held()).toEqual([]);
    expect(locks.tryAcquire('a')).toBeTypeOf('function');
  });
});

describe('invokeRpc', () => {
  it('answers ABORTED at once to a concurrent call on the same volume, and frees the lock after', async () => {
    const d = deps();
    const gated = gatedHandler();
    const first = invokeRpc('DeleteVolume', gated.handler, { volume_id: 'v1' }, d);
    const second = await invokeRpc('DeleteVolume', gated.handler, { volume_id: 'v1' }, d);
    expect(second).toEqual({
      ok: false,
      failure: { code: status.ABORTED, details: 'an operation on volume "v1" is in progress; retry later' },
    });
    expect(gated.started).toEqual(['v1']);
    gated.open();
    expect(await first).toEqual({ ok: true, response: {} });
    expect(d.locks.held()).toEqual([]);
    expect((await invokeRpc('DeleteVolume', gated.handler, { volume_id: 'v1' }, d)).ok).toBe(true);
  });

  it('runs calls on different volumes in parallel', async () => {
    const d = deps();
    const gated = gatedHandler();
    const calls = ['a', 'b', 'c'].map((id) => invokeRpc('DeleteVolume', gated.handler, { volume_id: id }, d));
    await new Promise((resolve) => setImmediate(resolve));
    expect(gated.started).toEqual(['a', 'b', 'c']);
    gated.open();
    expect((await Promise.all(calls)).every((outcome) => outcome.ok)).toBe(true);
  });

  it('lets two publishes of one volume to different targets run together', async () => {
    const d = deps();
    const gated = gatedHandler();
    const one = invokeRpc('NodePublishVolume', gated.handler, { volume_id: 'v', target_path: '/a' }, d);
    const two = invokeRpc('NodePublishVolume', gated.handler, { volume_id: 'v', target_path: '/b' }, d);
    const same = await invokeRpc(
      'NodeUnpublishVolume',
      gated.handler,
      { volume_id: 'v', target_path: '/a' },
      d,
    );
    expect(same.ok ? 0 : same.failure.code).toBe(status.ABORTED);
    gated.open();
    expect([(await one).ok, (await two).ok]).toEqual([true, true]);
  });

  it('releases the lock when the handler throws, and maps the error', async () => {
    const d = deps();
    const failing: RpcHandler<unknown, never> = async () => {
      throw invalidArgument('volume_id is required');
    };
    const outcome = await invokeRpc('DeleteVolume', failing, { volume_id: 'v1' }, d);
    expect(outcome).toEqual({
      ok: false,
      failure: { code: status.INVALID_ARGUMENT, details: 'volume_id is required' },
    });
    expect(d.locks.held()).toEqual([]);
  });

  it('answers INTERNAL for an unexpected error and logs the cause', async () => {
    const d = deps();
    const broken: RpcHandler<unknown, never> = async () => {
      throw new RangeError('index 7 out of bounds');
    };
    const outcome = await invokeRpc('CreateVolume', broken, { name: 'n' }, d);
    expect(outcome.ok ? undefined : outcome.failure.code).toBe(status.INTERNAL);
    expect(outcome.ok ? '' : outcome.failure.details).not.toContain('index 7');
    expect(d.text()).toContain('index 7 out of bounds');
  });

  it('never writes secrets to the log, at any depth, in requests or responses', async () => {
    const d = deps();
    const echo: RpcHandler<unknown, unknown> = async (request) => ({
      echoed: request,
      node_stage_secrets: 's3',
    });
    const request = {
      volume_id: 'v1',
      secrets: { password: 'hunter2', token: 'tok-123' },
      nested: [{ controller_publish_secrets: { key: 'k-456' } }],
    };
    const outcome = await invokeRpc('ControllerExpandVolume', echo, request, d);
    expect(outcome.ok).toBe(true);
    const text = d.text();
    for (const secret of ['hunter2', 'tok-123', 'k-456', 's3"']) expect(text).not.toContain(secret);
    expect(text).toContain('password');
    expect(request.secrets.password).toBe('hunter2');
  });

  it('logs method, volume id, target path and duration on a child logger', async () => {
    const d = deps();
    const ok: RpcHandler<unknown, object> = async () => ({});
    await invokeRpc('NodePublishVolume', ok, { volume_id: 'v9', target_path: '/pods/x' }, d);
    const done = d.records().find((record) => record.msg === 'NodePublishVolume succeeded');
    expect(done).toMatchObject({
      level: 30,
      method: 'NodePublishVolume',
      volumeId: 'v9',
      targetPath: '/pods/x',
    });
    expect(done?.durationMs).toBeTypeOf('number');
  });

  it('logs frequent read-only calls at debug only', async () => {
    const d = { ...captureLog('info'), locks: createOperationLocks() };
    const ok: RpcHandler<unknown, object> = async () => ({ ready: { value: true } });
    await invokeRpc('Probe', ok, {}, d);
    expect(d.records()).toEqual([]);
  });
});

describe('redactSecrets', () => {
  it('hides values of secrets maps and keeps everything else', () => {
    const input = {
      name: 'n',
      secrets: { a: '1' },
      parameters: { server: 's' },
      list: [{ x_secrets: { b: '2' } }],
    };
    expect(redactSecrets(input)).toEqual({
      name: 'n',
      secrets: { a: '[redacted]' },
      parameters: { server: 's' },
      list: [{ x_secrets: { b: '[redacted]' } }],
    });
  });

  it('hides a secrets field that is not a map', () => {
    expect(redactSecrets({ secrets: 'plain' })).toEqual({ secrets: '[redacted]' });
    expect(redactSecrets({ secrets: null })).toEqual({ secrets: '[redacted]' });
  });
});
