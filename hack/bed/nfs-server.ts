// A real NFS server for the bed: nfs-ganesha (VFS) on 127.0.0.1, NFS v3 and v4, one export
// directory per bed. rpcbind, which ganesha must register with, runs in a network namespace
// of its own: registration goes through its unix socket, and nothing listens on port 111.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { type Daemon, startDaemon, waitReady } from './daemon.ts';
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
  /** Set when this bed had to start rpcbind itself. */
  rpcbind?: Daemon;
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
  const ganesha = startDaemon(
    'ganesha.nfsd',
    [
      'ganesha.nfsd',
      '-F',
      '-f',
      conf,
      '-L',
      join(dir, 'ganesha.log'),
      '-p',
      join(dir, 'ganesha.pid'),
      '-N',
      'NIV_EVENT',
    ],
    {
      logFile: join(dir, 'ganesha.out'),
    },
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

/** Starts rpcbind in a private network namespace unless one already serves /run/rpcbind.sock. */
async function ensureRpcbind(dir: string): Promise<Daemon | undefined> {
  const running = await execa('pgrep', ['-x', 'rpcbind'], { reject: false });
  if (running.exitCode === 0 && existsSync('/run/rpcbind.sock')) return undefined;
  const rpcbind = startDaemon(
    'rpcbind',
    ['unshare', '-n', 'sh', '-c', 'ip link set lo up && exec rpcbind -f -w'],
    {
      logFile: join(dir, 'rpcbind.log'),
    },
  );
  rpcbind.signature = 'rpcbind';
  await waitReady(rpcbind, async () => existsSync('/run/rpcbind.sock'), {
    timeoutMs: 10_000,
    what: 'listening on /run/rpcbind.sock',
  });
  return rpcbind;
}

async function ensurePackages(): Promise<void> {
  const missing = ['ganesha.nfsd', 'rpcbind', 'nfs-ls'].filter((c) => !commandExists(c));
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

function commandExists(name: string): boolean {
  return (
    (process.env.PATH ?? '/usr/sbin:/usr/bin').split(':').some((d) => existsSync(join(d, name))) ||
    existsSync(join('/usr/sbin', name)) ||
    existsSync(join('/sbin', name))
  );
}
