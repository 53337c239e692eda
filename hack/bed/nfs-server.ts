// The bed's NFS server: nfs-ganesha (VFS) on 127.0.0.1 serving one export directory over NFS v3
// and v4, together with the shared rpcbind it registers with; started and stopped as one unit.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { type Daemon, startDaemon, stopDaemon, waitReady } from './daemon.ts';
import { ganeshaConfig } from './ganesha-config.ts';
import { ensureCommands, requiredCommand } from './host.ts';
import { freePorts } from './ports.ts';
import { acquireRpcbind, releaseRpcbind } from './rpcbind.ts';

export interface NfsServer {
  /** Host name clients use (from the guest this is 10.0.2.2, qemu's alias for the host's loopback). */
  server: string;
  nfsPort: number;
  mountPort: number;
  /** The exported path as clients name it, for v3 and v4 alike. */
  share: string;
  /** The same directory on the local disk. */
  exportDir: string;
  ganesha: Daemon;
  /** The shared rpcbind this server registered with; undefined when it is the machine's own. */
  rpcbind?: Daemon;
}

/** What a bed records of its NFS server, to stop or restart it later from another process. */
export type NfsServerRecord = Pick<NfsServer, 'ganesha' | 'rpcbind'>;

export const shareName = '/export';

/**
 * Starts the NFS server in `dir`. The daemons it owns alone are pushed to `started` as they
 * start, so that an exit handler can kill them; rpcbind is not (other beds may share it, and
 * the next bed reuses or replaces one left behind). On failure it stops what it started.
 */
export async function startNfsServer(dir: string, started: Daemon[]): Promise<NfsServer> {
  await ensureCommands(
    ['ganesha.nfsd', 'rpcbind', 'nfs-ls'],
    ['nfs-ganesha', 'nfs-ganesha-vfs', 'rpcbind', 'libnfs-utils'],
  );
  const rpcbind = await acquireRpcbind(dir);
  let ganesha: Daemon | undefined;
  try {
    const exportDir = join(dir, 'export');
    const recoveryDir = join(dir, 'nfs-recovery');
    await mkdir(exportDir, { recursive: true });
    await mkdir(recoveryDir, { recursive: true });
    const [nfsPort, mountPort] = (await freePorts(2)) as [number, number];
    const conf = join(dir, 'ganesha.conf');
    await writeFile(conf, ganeshaConfig({ nfsPort, mountPort, exportDir, pseudo: shareName, recoveryDir }));
    // ganesha's own log (-L) goes to the file that also holds its stdout, so that the error
    // thrown when it exits early shows why.
    const logFile = join(dir, 'ganesha.out');
    ganesha = startDaemon(
      'ganesha.nfsd',
      [
        requiredCommand('ganesha.nfsd'),
        '-F',
        '-f',
        conf,
        '-L',
        logFile,
        '-p',
        join(dir, 'ganesha.pid'),
        '-N',
        'NIV_EVENT',
      ],
      { logFile },
    );
    started.push(ganesha);
    const server: NfsServer = {
      server: '127.0.0.1',
      nfsPort,
      mountPort,
      share: shareName,
      exportDir,
      ganesha,
      ...(rpcbind ? { rpcbind } : {}),
    };
    await waitReady(ganesha, () => answers(server), {
      timeoutMs: 30_000,
      what: 'answering over NFS v3 and v4',
    });
    return server;
  } catch (err) {
    await stopNfsServer({ ganesha, rpcbind });
    throw err;
  }
}

export const nfsServerRecord = (s: NfsServer): NfsServerRecord => ({
  ganesha: s.ganesha,
  ...(s.rpcbind ? { rpcbind: s.rpcbind } : {}),
});

/** Stops ganesha, then rpcbind if no other bed's ganesha still uses it. */
export async function stopNfsServer(s: Partial<NfsServerRecord>): Promise<void> {
  if (s.ganesha) await stopDaemon(s.ganesha);
  await releaseRpcbind(s.rpcbind);
}

/** The daemons that are this server's alone: what may be killed or restarted without asking. */
export const ownNfsDaemons = (s: NfsServerRecord): Daemon[] => [s.ganesha];

/** Every daemon the server depends on, the shared rpcbind included (for status). */
export const usedNfsDaemons = (s: NfsServerRecord): Daemon[] => [
  ...(s.rpcbind ? [s.rpcbind] : []),
  s.ganesha,
];

export function nfsUrl(
  s: Pick<NfsServer, 'server' | 'nfsPort' | 'mountPort' | 'share'>,
  version: 3 | 4,
  path = '',
): string {
  const base = `nfs://${s.server}${s.share}${path}`;
  return version === 3
    ? `${base}?nfsport=${s.nfsPort}&mountport=${s.mountPort}`
    : `${base}?version=4&nfsport=${s.nfsPort}`;
}

async function answers(s: NfsServer): Promise<boolean> {
  for (const v of [3, 4] as const) {
    const r = await execa('nfs-ls', [nfsUrl(s, v)], { reject: false, timeout: 5_000 });
    if (r.exitCode !== 0) return false;
  }
  return true;
}
