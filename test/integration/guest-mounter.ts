// The real Mounter running in the qemu test guest, driven from the host: boots the guest, starts
// guest-mounter-service.ts in it and returns a Mounter whose every call runs there.
import { request } from 'node:http';
import { join } from 'node:path';
import { bootGuest, type Guest } from '../../hack/bed/guest.ts';
import { pollUntil } from '../../hack/lib/poll.ts';
import { type ErrorKind, errorRules, WarrenError } from '../../src/errors.ts';
import type { Mounter } from '../../src/node/mounter.ts';
import type { MounterMethod, MounterReply } from './guest-mounter-service.ts';

const servicePort = 7071;
const repoRoot = join(import.meta.dirname, '..', '..');
/** Slack on top of a call's own time limit for the HTTP round trip and a slow guest. */
const callSlackMs = 15_000;

export interface GuestMounter {
  guest: Guest;
  mounter: Mounter;
  stop(): Promise<void>;
}

function post(
  port: number,
  method: MounterMethod,
  args: unknown[],
  timeoutMs: number,
): Promise<MounterReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: `/${method}`, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as MounterReply));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`guest mounter ${method}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(JSON.stringify(args));
  });
}

const isKind = (kind: string | undefined): kind is ErrorKind =>
  kind !== undefined && Object.hasOwn(errorRules, kind);

function remoteMounter(port: number): Mounter {
  async function call<T>(method: MounterMethod, args: unknown[], timeoutMs: number): Promise<T> {
    const reply = await post(port, method, args, timeoutMs + callSlackMs);
    if ('value' in reply) return (reply.value ?? undefined) as T;
    const { kind, message } = reply.error;
    throw isKind(kind) ? new WarrenError(kind, message) : new Error(`in the guest: ${message}`);
  }
  return {
    mount: (source, target, fsType, options, timeoutMs) =>
      call('mount', [source, target, fsType, options, timeoutMs], timeoutMs),
    unmount: (target, mode, timeoutMs) => call('unmount', [target, mode, timeoutMs], timeoutMs),
    mountsAt: (target) => call('mountsAt', [target], 0),
    health: (target, timeoutMs) => call('health', [target, timeoutMs], timeoutMs),
  };
}

export async function startGuestMounter(opts: { logFile: string }): Promise<GuestMounter> {
  const guest = await bootGuest({ forwards: [servicePort], logFile: opts.logFile });
  try {
    const node = join(repoRoot, 'node_modules', '.bin', 'node');
    const service = join(repoRoot, 'test', 'integration', 'guest-mounter-service.ts');
    const started = await guest.exec([
      'sh',
      '-c',
      `cd ${repoRoot} && setsid ${node} ${service} ${servicePort} > /tmp/guest-mounter.log 2>&1 < /dev/null &`,
    ]);
    if (started.code !== 0) throw new Error(`could not start the guest mounter service: ${started.stderr}`);
    const port = guest.hostPortFor(servicePort);
    await pollUntil(
      () =>
        post(port, 'mountsAt', ['/'], 1_000).then(
          () => true,
          () => false,
        ),
      { what: 'the mounter service in the guest to answer', timeoutMs: 90_000, intervalMs: 250 },
    ).catch(async (err: unknown) => {
      const log = await guest.exec(['tail', '-n', '30', '/tmp/guest-mounter.log']);
      throw new Error(`${(err as Error).message}\n${log.stdout}`);
    });
    return { guest, mounter: remoteMounter(port), stop: () => guest.stop() };
  } catch (err) {
    await guest.stop();
    throw err;
  }
}
