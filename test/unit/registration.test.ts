import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loaderOptions } from '../../src/csi/load.ts';
import {
  pluginInfo,
  type RegistrationServer,
  registrationProtoPath,
  registrationSocketPath,
  startRegistrationServer,
} from '../../src/node/registration.ts';
import { captureLog } from './csi-log-capture.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

// kubelet's side of the conversation: a plain grpc-js client of the same proto.
function kubeletClient(path: string) {
  const pkg = loadPackageDefinition(loadSync(registrationProtoPath, loaderOptions));
  const Registration = (pkg.pluginregistration as GrpcObject).Registration as ServiceClientConstructor;
  const client = new Registration(`unix://${path}`, credentials.createInsecure());
  const unary = (method: string, request: object) =>
    new Promise<Record<string, unknown>>((resolve, reject) =>
      (client[method] as (r: object, cb: (e: Error | null, v: Record<string, unknown>) => void) => void).call(
        client,
        request,
        (err, value) => (err ? reject(err) : resolve(value)),
      ),
    );
  return { unary, close: () => client.close() };
}

let dir: string;
let server: RegistrationServer | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warren-reg-'));
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('pluginInfo and the socket name', () => {
  it('answers as a CSI plugin of CSI 1.x at the path kubelet dials', () => {
    expect(pluginInfo('nfs.warren.dev', '/var/lib/kubelet/plugins/nfs.warren.dev/csi.sock')).toEqual({
      type: 'CSIPlugin',
      name: 'nfs.warren.dev',
      endpoint: '/var/lib/kubelet/plugins/nfs.warren.dev/csi.sock',
      supported_versions: ['1.0.0'],
    });
    expect(registrationSocketPath('/registration', 'nfs.warren.dev')).toBe(
      '/registration/nfs.warren.dev-reg.sock',
    );
  });
});

describe('startRegistrationServer', () => {
  it('serves GetInfo and records what kubelet reports, then removes its socket', async () => {
    const captured = captureLog();
    const info = pluginInfo('nfs.warren.dev', '/var/lib/kubelet/plugins/nfs.warren.dev/csi.sock');
    server = await startRegistrationServer({ registrationDir: dir, info, log: captured.log });
    expect(server.path).toBe(join(dir, 'nfs.warren.dev-reg.sock'));
    expect(server.lastStatus()).toBeUndefined();
    const kubelet = kubeletClient(server.path);
    try {
      expect(await kubelet.unary('GetInfo', {})).toEqual(info);
      expect(
        await kubelet.unary('NotifyRegistrationStatus', {
          plugin_registered: false,
          error: 'driver name mismatch',
        }),
      ).toEqual({});
      expect(server.lastStatus()).toEqual({ plugin_registered: false, error: 'driver name mismatch' });
      expect(await kubelet.unary('NotifyRegistrationStatus', { plugin_registered: true, error: '' })).toEqual(
        {},
      );
      expect(server.lastStatus()).toEqual({ plugin_registered: true, error: '' });
    } finally {
      kubelet.close();
    }
    const messages = captured.records().map((r) => [r.level, r.msg, r.error]);
    expect(messages).toContainEqual([
      50,
      'kubelet refused the registration; it retries with backoff',
      'driver name mismatch',
    ]);
    expect(messages).toContainEqual([30, 'registered with kubelet', undefined]);
    await server.stop();
    server = undefined;
    await expect(stat(join(dir, 'nfs.warren.dev-reg.sock'))).rejects.toThrow('ENOENT');
  });

  it('replaces a socket left by a dead process and refuses a path that is not a socket', async () => {
    const info = pluginInfo('nfs.warren.dev', '/csi/csi.sock');
    const path = join(dir, 'nfs.warren.dev-reg.sock');
    // A process that dies by SIGKILL while listening leaves its socket file behind.
    const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
    await new Promise<void>((resolve) => execFile(process.execPath, ['-e', script], () => resolve()));
    expect((await stat(path)).isSocket()).toBe(true);
    server = await startRegistrationServer({ registrationDir: dir, info, log: captureLog().log });
    const kubelet = kubeletClient(server.path);
    try {
      expect((await kubelet.unary('GetInfo', {})).name).toBe('nfs.warren.dev');
    } finally {
      kubelet.close();
    }

    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'nfs.warren.dev-reg.sock'), 'not a socket');
    await expectWarrenRejection(
      startRegistrationServer({ registrationDir: other, info, log: captureLog().log }),
      'FailedPrecondition',
      'is not a socket',
    );
  });
});
