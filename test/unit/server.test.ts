import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseEndpoint, startCsiServer } from '../../src/csi/server.ts';
import { makeIdentityService } from '../../src/node/identity-service.ts';
import { call, csiClients, expectStatus } from './csi-grpc-client.ts';
import { captureLog } from './csi-log-capture.ts';
import { expectWarrenError, expectWarrenRejection } from './expect-warren-error.ts';

const identity = (servesController = false) =>
  makeIdentityService({
    driverName: 'nfs.warren.dev',
    version: '0.0.1',
    servesController,
    probe: async () => ({ ready: true }),
  });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'warren-sock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseEndpoint', () => {
  it('reads unix and tcp endpoints', () => {
    expect(parseEndpoint('unix:///csi/csi.sock')).toEqual({ kind: 'unix', path: '/csi/csi.sock' });
    expect(parseEndpoint('tcp://127.0.0.1:10000')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 10000 });
    expect(parseEndpoint('tcp://0.0.0.0:0')).toEqual({ kind: 'tcp', host: '0.0.0.0', port: 0 });
  });

  it.each([
    ['unix://csi/csi.sock', 'relative socket path'],
    ['tcp://10.0.0.5:10000', 'only for tests'],
    ['tcp://127.0.0.1:70000', 'port 0-65535'],
    ['/csi/csi.sock', 'not understood'],
  ])('refuses %s', (endpoint, fragment) => {
    expectWarrenError(() => parseEndpoint(endpoint), 'InvalidArgument', fragment);
  });
});

describe('startCsiServer', () => {
  it('creates the socket directory, serves, and removes the socket when stopped', async () => {
    const path = join(dir, 'a', 'b', 'csi.sock');
    const server = await startCsiServer({
      endpoint: `unix://${path}`,
      services: { Identity: identity() },
      log: captureLog().log,
    });
    const clients = csiClients(server.address);
    try {
      const caps = await call(clients.identity.GetPluginCapabilities.bind(clients.identity), {});
      expect(caps.capabilities).toEqual([]);
      await expectStatus(
        call(clients.controller.CreateVolume.bind(clients.controller), {}),
        status.UNIMPLEMENTED,
      );
    } finally {
      clients.close();
      await server.stop(500);
    }
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('replaces a stale socket left by a dead process', async () => {
    const path = join(dir, 'csi.sock');
    // A process that dies by SIGKILL while listening leaves its socket file behind.
    const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
    await new Promise<void>((resolve) => execFile(process.execPath, ['-e', script], () => resolve()));
    expect((await stat(path)).isSocket()).toBe(true);
    const server = await startCsiServer({
      endpoint: `unix://${path}`,
      services: { Identity: identity() },
      log: captureLog().log,
    });
    const clients = csiClients(server.address);
    try {
      expect((await call(clients.identity.GetPluginInfo.bind(clients.identity), {})).name).toBe(
        'nfs.warren.dev',
      );
    } finally {
      clients.close();
      await server.stop(500);
    }
  });

  it('refuses a path that is not a socket, and a socket a live process serves', async () => {
    const file = join(dir, 'file.sock');
    await writeFile(file, 'keep me');
    await expectWarrenRejection(
      startCsiServer({ endpoint: `unix://${file}`, services: {}, log: captureLog().log }),
      'FailedPrecondition',
      'not a socket',
    );
    const live = join(dir, 'live.sock');
    const other = createServer();
    await new Promise<void>((resolve) => other.listen(live, resolve));
    try {
      await expectWarrenRejection(
        startCsiServer({ endpoint: `unix://${live}`, services: {}, log: captureLog().log }),
        'FailedPrecondition',
        'another process',
      );
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('serves on tcp://127.0.0.1:0 and reports the real port', async () => {
    const server = await startCsiServer({
      endpoint: 'tcp://127.0.0.1:0',
      services: { Identity: identity(true) },
      log: captureLog().log,
    });
    const clients = csiClients(server.address);
    try {
      expect(server.address).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9]\d*$/);
      const info = await call(clients.identity.GetPluginInfo.bind(clients.identity), {});
      expect(info.name).toBe('nfs.warren.dev');
    } finally {
      clients.close();
      await server.stop(500);
    }
  });

  it('refuses a handler for an RPC the service does not have', async () => {
    const services = { Identity: { ...identity(), GetPluginInf0: async () => ({}) } };
    await expect(
      startCsiServer({ endpoint: 'tcp://127.0.0.1:0', services, log: captureLog().log }),
    ).rejects.toThrow('Identity has no RPC named GetPluginInf0');
  });

  it('cuts off a call still running after the grace period, and still removes the socket', async () => {
    const path = join(dir, 'csi.sock');
    const captured = captureLog();
    let entered!: () => void;
    const inProbe = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const hanging = makeIdentityService({
      driverName: 'nfs.warren.dev',
      version: '0.0.1',
      servesController: false,
      probe: () => {
        entered();
        return new Promise(() => {}); // never answers
      },
    });
    const server = await startCsiServer({
      endpoint: `unix://${path}`,
      services: { Identity: hanging },
      log: captured.log,
    });
    const clients = csiClients(server.address);
    try {
      const outcome = call(clients.identity.Probe.bind(clients.identity), {}).then(
        () => 'answered',
        (err: { code?: number }) => err.code,
      );
      await inProbe;
      await server.stop(200);
      expect([status.CANCELLED, status.UNAVAILABLE]).toContain(await outcome);
      await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(captured.records().map((r) => r.msg)).toContain(
        'calls still running after the grace period; cutting them off',
      );
    } finally {
      clients.close();
    }
  });

  it('warren node stops on SIGTERM: exit 0, socket removed', async () => {
    const path = join(dir, 'node.sock');
    const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');
    const child = spawn(process.execPath, [cli, 'node', `--endpoint=unix://${path}`, '--node-id=n1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await expect.poll(() => output.includes('CSI server listening'), { timeout: 20_000 }).toBe(true);
    await stat(path);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(output).toContain('"signal":"SIGTERM"');
    expect(output).toContain('CSI server stopped');
  }, 30_000);
});
