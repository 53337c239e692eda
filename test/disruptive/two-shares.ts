// Two NFS servers of their own (one export each) and the qemu guest with both exports mounted by
// its kernel (NFS 4.1, hard mounts, as kubelet mounts them), for tests that take one server away.
import { mkdirSync, writeFileSync } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, isRunning, startDaemon, stopDaemon } from '../../hack/bed/daemon.ts';
import { type BootOptions, bootGuest, type Guest, guestNfsHost } from '../../hack/bed/guest.ts';
import { repoRoot } from '../../hack/bed/guest-plugin.ts';
import { type NfsServer, startNfsServer, stopNfsServer } from '../../hack/bed/nfs-server.ts';

export const resultsDir = join(repoRoot, 'test-results');
export const guestNode = join(repoRoot, 'node_modules', '.bin', 'node');

export interface Share {
  name: 'a' | 'b';
  /** The server name in --share flags and StorageClasses (the guest mounts it by address). */
  server: string;
  nfs: NfsServer;
  mountPoint: string;
}

export interface TwoShares {
  guest: Guest;
  shares: Record<'a' | 'b', Share>;
  /** `--share` flags for a Warren command in the guest. */
  shareFlags: string;
  sh(script: string, timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Share worker processes of `server` in the guest that have not exited (copy workers: `entry`). */
  workersOf(server: string, entry?: 'share-worker-main' | 'share-copy-worker-main'): Promise<number>;
  /** The export's tree on the server's disk: `dir/ mode`, `file size`, `link -> target`. */
  tree(name: 'a' | 'b'): Promise<string[]>;
  /** SIGKILLs share a's server and starts it again with the same command line (same ports). */
  killA(): Promise<() => void>;
  stop(): Promise<void>;
}

async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, prefix))).sort()) {
    const path = prefix ? `${prefix}/${name}` : name;
    const info = await lstat(join(dir, path));
    if (info.isSymbolicLink()) out.push(`${path} -> ${await readlink(join(dir, path))}`);
    else if (info.isDirectory())
      out.push(`${path}/ ${(info.mode & 0o7777).toString(8)}`, ...(await listTree(dir, path)));
    else out.push(`${path} ${info.size}`);
  }
  return out;
}

export async function startTwoShares(
  opts: Omit<BootOptions, 'logFile'> & { logName: string },
): Promise<TwoShares> {
  mkdirSync(resultsDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 'warren-two-shares-'));
  const daemons: Daemon[] = [];
  const shares = {} as Record<'a' | 'b', Share>;
  let guest: Guest | undefined;
  const stop = async () => {
    const servers = Object.values(shares).map((s) => s.nfs);
    for (const s of servers) if (isRunning(s.ganesha)) process.kill(s.ganesha.pid, 'SIGCONT');
    await guest?.stop();
    for (const s of servers) await stopNfsServer(s); // rpcbind stays while another bed's ganesha uses it
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    for (const name of ['a', 'b'] as const) {
      mkdirSync(join(workDir, name));
      const nfs = await startNfsServer(join(workDir, name), daemons);
      // What Warren must never touch, and the parent of every volume (made by the admin).
      mkdirSync(join(nfs.exportDir, 'keep', 'deeper'), { recursive: true });
      writeFileSync(join(nfs.exportDir, 'keep', 'deeper', 'data'), `share ${name}`);
      mkdirSync(join(nfs.exportDir, 'vols'), { mode: 0o755 });
      shares[name] = { name, server: `nfs-${name}`, nfs, mountPoint: `/exports/${name}` };
    }
    const booted = await bootGuest({ ...opts, logFile: join(resultsDir, `${opts.logName}-console.log`) });
    guest = booted;
    const sh = (script: string, timeoutMs = 60_000) => booted.exec(['sh', '-c', script], { timeoutMs });
    const mounted = await sh(
      Object.values(shares)
        .map(
          (s) =>
            `mkdir -p ${s.mountPoint} && mount -t nfs -o vers=4.1,hard,port=${s.nfs.nfsPort} ${guestNfsHost}:/export ${s.mountPoint}`,
        )
        .join(' && '),
    );
    if (mounted.code !== 0) throw new Error(`mounting the exports in the guest failed: ${mounted.stderr}`);
    return {
      guest: booted,
      shares,
      shareFlags: Object.values(shares)
        .map((s) => ` --share=${s.server}:/export=${s.mountPoint}`)
        .join(''),
      sh,
      async workersOf(server, entry = 'share-worker-main') {
        // One grep over every cmdline: a fork per process would take the emulated CPU for seconds.
        const r = await sh(
          `for f in $(grep -l -a ${entry} /proc/[0-9]*/cmdline 2>/dev/null); do p=\${f%/cmdline}; ` +
            `[ "$p" = /proc/$$ ] && continue; grep -q -a -F '${server}:/export' $f 2>/dev/null || continue; ` +
            `read -r _ _ s _ < $p/stat; [ "$s" != Z ] && echo "$s"; done`,
        );
        return r.stdout.split('\n').filter(Boolean).length;
      },
      tree: (name) => listTree(shares[name].nfs.exportDir),
      async killA() {
        const old = shares.a.nfs.ganesha;
        process.kill(old.pid, 'SIGKILL');
        await stopDaemon(old); // returns once it is gone
        return () => {
          shares.a.nfs.ganesha = startDaemon(old.name, old.argv, { logFile: old.logFile });
        };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
