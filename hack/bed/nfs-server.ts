// A real NFS server for the bed: nfs-ganesha (VFS) on 127.0.0.1, NFS v3 and v4, one export
// directory per bed. rpcbind, which ganesha must register with, runs in a network namespace
// of its own: registration goes through its unix socket, and nothing listens on port 111.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { type Daemon, isRunning, startDaemon, stopDaemon, waitReady } from './daemon.ts';
import { freePorts } from './ports.ts';

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
}

export const shareName = '/export';

export async function startNfsServer(dir: string, started: Daemon[]): Promise<NfsServer> {
  await ensurePackages();
  const rpcbind = await ensureRpcbind(dir);
  if (rpcbind) started.push(rpcbind);
  const exportDir = join(dir, 'export');
  await mkdir(exportDir, { recursive: true });
  await mkdir(join(dir, 'nfs-recovery'), { recursive: true });
  const [nfsPort, mountPort] = (await freePorts(2)) as [number, number];
  const conf = join(dir, 'ganesha.conf');
  await writeFile(
    conf,
    ganeshaConfig({ nfsPort, mountPort, exportDir, recoveryDir: join(dir, 'nfs-recovery') }),
  );
  // ganesha's own log (-L) goes to the file that also holds its stdout, so that the error
  // thrown when it exits early shows why.
  const logFile = join(dir, 'ganesha.out');
  const ganesha = startDaemon(
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
  };
  await waitReady(ganesha, () => answers(server), {
    timeoutMs: 30_000,
    what: 'answering over NFS v3 and v4',
  });
  return server;
}

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

function ganeshaConfig(o: {
  nfsPort: number;
  mountPort: number;
  exportDir: string;
  recoveryDir: string;
}): string {
  return `# Written by Warren's test bed.
NFS_CORE_PARAM {
  Protocols = 3, 4;
  NFS_Port = ${o.nfsPort};
  MNT_Port = ${o.mountPort};
  Bind_addr = 127.0.0.1;
  Enable_NLM = false;
  Enable_RQUOTA = false;
  Mount_Path_Pseudo = true;  # v3 clients mount the pseudo path too, so one share name serves both
}
NFS_KRB5 { Active_krb5 = false; }
MDCACHE { Dir_Chunk = 0; }
NFSV4 { Graceless = true; Only_Numeric_Owners = true; RecoveryBackend = fs; RecoveryRoot = ${o.recoveryDir}; }
EXPORT {
  Export_Id = 1;
  Path = ${o.exportDir};
  Pseudo = ${shareName};
  Access_Type = RW;
  Squash = No_Root_Squash;
  Protocols = 3, 4;
  Transports = TCP;
  # The bed writes into the export directly (as the controller does through its own mount);
  # without this, ganesha serves cached attributes and directory listings for up to a minute.
  Attr_Expiration_Time = 0;
  FSAL { Name = VFS; }
}
`;
}

const rpcbindSocket = '/run/rpcbind.sock';
/** The rpcbind a bed started, so that whichever bed stops last can stop it (see stopAll). */
const rpcbindRecord = '/run/warren-rpcbind.json';

/**
 * Makes sure an rpcbind answers on its unix socket, which is how ganesha registers. One started
 * here runs in a private network namespace and is shared by every bed on the machine: it is
 * returned (recorded in a file) to each of them, and the bed that stops last stops it. A socket
 * file left by a killed rpcbind is removed first: nothing accepts on it, and ganesha exits when
 * it cannot register.
 */
async function ensureRpcbind(dir: string): Promise<Daemon | undefined> {
  const recorded = readRpcbindRecord();
  const answering = await accepts(rpcbindSocket);
  if (recorded && isRunning(recorded) && answering) return recorded;
  if (answering) return undefined; // the machine's own rpcbind: use it, never stop it
  if (recorded && isRunning(recorded)) await stopDaemon(recorded);
  const others = await livingProcesses('rpcbind');
  if (others.length > 0) {
    throw new Error(
      `rpcbind (pid ${others.join(', ')}) runs but does not answer on ${rpcbindSocket}; stop it and run again`,
    );
  }
  // Once more if it exits at once: rpcbind reports why only to syslog, which the bed does not have.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRpcbind(dir);
    } catch (err) {
      if (attempt >= 3) throw err;
      console.error(`[warren] ${(err as Error).message.split('\n')[0]}; starting it again`);
      await sleep(500);
    }
  }
}

async function startRpcbind(dir: string): Promise<Daemon> {
  await rm(rpcbindSocket, { force: true });
  const rpcbind = startDaemon(
    'rpcbind',
    [
      'unshare',
      '-n',
      'sh',
      '-c',
      `${requiredCommand('ip')} link set lo up && exec ${requiredCommand('rpcbind')} -f`,
    ],
    { logFile: join(dir, 'rpcbind.log') },
  );
  rpcbind.signature = 'rpcbind'; // in the command line before the exec (sh -c) and after it
  // Recorded at once, so that a bed interrupted while waiting leaves it for the next one to find.
  await writeFile(rpcbindRecord, JSON.stringify(rpcbind));
  try {
    await waitReady(rpcbind, () => accepts(rpcbindSocket), {
      timeoutMs: 10_000,
      what: `accepting connections on ${rpcbindSocket}`,
    });
  } catch (err) {
    await stopDaemon(rpcbind); // so that a second try never runs beside it
    throw err;
  }
  return rpcbind;
}

/** PIDs of processes named `name`, leaving out zombies (a stopped rpcbind not reaped yet). */
export async function livingProcesses(name: string): Promise<number[]> {
  const { stdout } = await execa('pgrep', ['-x', name], { reject: false });
  return stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      } catch {
        return false;
      }
    });
}

function readRpcbindRecord(): Daemon | undefined {
  try {
    return JSON.parse(readFileSync(rpcbindRecord, 'utf8')) as Daemon;
  } catch {
    return undefined;
  }
}

function accepts(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function ensurePackages(): Promise<void> {
  const missing = ['ganesha.nfsd', 'rpcbind', 'nfs-ls'].filter((c) => !commandPath(c));
  if (missing.length === 0) return;
  console.error(`[warren] installing the NFS server packages (missing: ${missing.join(', ')})`);
  await execa(
    'bash',
    [
      join(import.meta.dirname, '..', 'lib', 'apt-install.sh'),
      'nfs-ganesha',
      'nfs-ganesha-vfs',
      'rpcbind',
      'libnfs-utils',
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
}

/**
 * Where a command is: on PATH, or in the sbin directories that a non-login environment (CI's
 * among them) may leave off PATH, where rpcbind and ip live.
 */
export function commandPath(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(':').filter(Boolean),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
  ];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

function requiredCommand(name: string): string {
  const path = commandPath(name);
  if (!path) throw new Error(`${name} is not installed (looked on PATH and in the sbin directories)`);
  return path;
}
