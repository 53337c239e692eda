// The local test bed as one unit: control plane + NFS server, described by a state file so
// that `up` is idempotent, `down` can run from another process, and stale state is repaired.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane } from './control-plane.ts';
import { type Daemon, isRunning, startDaemon, stopDaemon, waitReaped } from './daemon.ts';
import {
  type NfsServer,
  type NfsServerRecord,
  nfsServerRecord,
  ownNfsDaemons,
  startNfsServer,
  stopNfsServer,
  usedNfsDaemons,
} from './nfs-server.ts';
import { ensureTools } from './tools.ts';

export interface BedState {
  runtimeDir: string;
  startedAt: string;
  /** etcd, kube-apiserver, kube-controller-manager, snapshot-controller, in start order. */
  controlPlane: Daemon[];
  nfsServer: NfsServerRecord;
  env: BedEnv;
}

/** Every daemon the bed runs on or relies on, the NFS server's shared rpcbind included. */
export const bedDaemons = (s: BedState): Daemon[] => [...s.controlPlane, ...usedNfsDaemons(s.nfsServer)];

/** The daemons that are this bed's alone: what it may kill or restart. */
export const ownDaemons = (s: BedState): Daemon[] => [...s.controlPlane, ...ownNfsDaemons(s.nfsServer)];

/** What tests and people use to reach the bed; written to warren.env as KEY=value lines. */
export interface BedEnv {
  KUBECONFIG: string;
  WARREN_APISERVER: string;
  WARREN_NFS_SERVER: string;
  WARREN_NFS_PORT: string;
  WARREN_MOUNT_PORT: string;
  WARREN_NFS_SHARE: string;
  WARREN_NFS_PSEUDO: string;
  WARREN_EXPORT_DIR: string;
  WARREN_BED_DIR: string;
}

/** The bed's NFS server as nfsUrl wants it. */
export function nfsServerOf(env: BedEnv): Pick<NfsServer, 'server' | 'nfsPort' | 'mountPort' | 'share'> {
  return {
    server: env.WARREN_NFS_SERVER,
    nfsPort: Number(env.WARREN_NFS_PORT),
    mountPort: Number(env.WARREN_MOUNT_PORT),
    share: env.WARREN_NFS_SHARE,
  };
}

const stateFile = (stateDir: string) => join(stateDir, 'bed.json');
const envFile = (stateDir: string) => join(stateDir, 'warren.env');

export async function readState(stateDir: string): Promise<BedState | undefined> {
  if (!existsSync(stateFile(stateDir))) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(stateFile(stateDir), 'utf8'));
  } catch (err) {
    throw new Error(
      `${stateFile(stateDir)} is not valid JSON (${(err as Error).message}); delete it and run up again`,
    );
  }
  return checked(raw as Partial<BedState>, stateFile(stateDir));
}

export function readStateSync(stateDir: string): BedState | undefined {
  try {
    return checked(JSON.parse(readFileSync(stateFile(stateDir), 'utf8')), stateFile(stateDir));
  } catch {
    return undefined;
  }
}

/** The state file's content, refused with what to do when it is not one this code writes. */
function checked(raw: Partial<BedState> & { daemons?: Daemon[] }, file: string): BedState {
  if (Array.isArray(raw.controlPlane) && raw.nfsServer?.ganesha) return raw as BedState;
  const pids = (raw.daemons ?? []).map((d) => `${d.name}:${d.pid}`).join(' ');
  throw new Error(
    `${file} was written by an older version of the bed${pids ? ` (its processes: ${pids})` : ''}; stop those processes and delete the file`,
  );
}

export async function bedUp(stateDir: string, repoRoot: string, log = console.error): Promise<BedState> {
  const existing = await readState(stateDir);
  if (existing) {
    const dead = bedDaemons(existing).filter((d) => !isRunning(d));
    if (dead.length === 0) {
      log(`[warren] the bed is already up (started ${existing.startedAt}); nothing to do`);
      return existing;
    }
    log(
      `[warren] found a stale bed (not running: ${dead.map((d) => d.name).join(', ')}); cleaning it up first`,
    );
    await bedDown(stateDir, log);
  }
  await mkdir(stateDir, { recursive: true });
  const tools = await ensureTools(repoRoot);
  const runtimeDir = await mkdtemp(join(tmpdir(), 'warren-bed-'));
  const started: Daemon[] = [];
  // Interrupted while starting (Ctrl-C, then process.exit), there is no state file yet for
  // `down` to read: kill what has been started (the parts push only the daemons that are theirs).
  const killIfInterrupted = () => {
    killAllNow(started);
    rmSync(runtimeDir, { recursive: true, force: true });
  };
  process.on('exit', killIfInterrupted);
  const t0 = Date.now();
  try {
    const cp = await startControlPlane(runtimeDir, tools, started);
    const controlPlane = [...started];
    const r = cp.readyMs;
    log(
      `[warren] control plane ready in ${Date.now() - t0} ms (apiserver ${cp.apiserverUrl}; etcd ${r.etcd} ms, ` +
        `apiserver ${r.apiserver} ms, then kube-controller-manager ${r.controllerManager} ms and snapshot-controller ${r.snapshotController} ms side by side)`,
    );
    const nfs = await startNfsServer(runtimeDir, started);
    log(
      `[warren] NFS server ready on 127.0.0.1:${nfs.nfsPort} (mountd ${nfs.mountPort}), exporting ${nfs.exportDir} as ${nfs.share}`,
    );
    const state: BedState = {
      runtimeDir,
      startedAt: new Date().toISOString(),
      controlPlane,
      nfsServer: nfsServerRecord(nfs),
      env: {
        KUBECONFIG: cp.kubeconfig,
        WARREN_APISERVER: cp.apiserverUrl,
        WARREN_NFS_SERVER: nfs.server,
        WARREN_NFS_PORT: String(nfs.nfsPort),
        WARREN_MOUNT_PORT: String(nfs.mountPort),
        WARREN_NFS_SHARE: nfs.share,
        WARREN_NFS_PSEUDO: nfs.share,
        WARREN_EXPORT_DIR: nfs.exportDir,
        WARREN_BED_DIR: runtimeDir,
      },
    };
    await writeFile(stateFile(stateDir), `${JSON.stringify(state, null, 2)}\n`);
    await writeFile(
      envFile(stateDir),
      Object.entries(state.env)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
    log(`[warren] bed up in ${Date.now() - t0} ms; environment in ${envFile(stateDir)}`);
    return state;
  } catch (err) {
    // The NFS server stops what it started when it fails; this stops the rest.
    await stopDaemons(started);
    await rm(runtimeDir, { recursive: true, force: true });
    throw err;
  } finally {
    process.off('exit', killIfInterrupted);
  }
}

export async function bedDown(stateDir: string, log = console.error): Promise<void> {
  const state = await readState(stateDir);
  if (!state) {
    log('[warren] no bed is recorded here; nothing to stop');
    return;
  }
  await stopBed(state);
  // `ps` lists a stopped daemon until its parent reaps it; wait for that, so that once this
  // returns nothing of the bed is left, then remove its files.
  for (const d of await waitReaped(bedDaemons(state)))
    log(`[warren] ${d.name} (pid ${d.pid}) has exited, but its parent has not reaped it yet`);
  await rm(state.runtimeDir, { recursive: true, force: true });
  await rm(stateFile(stateDir), { force: true });
  await rm(envFile(stateDir), { force: true });
  log(
    `[warren] bed stopped (${ownDaemons(state)
      .map((d) => `${d.name}:${d.pid}`)
      .join(' ')}) and ${state.runtimeDir} removed`,
  );
}

export async function bedStatus(stateDir: string): Promise<string> {
  const state = await readState(stateDir);
  if (!state) return 'down (no bed recorded)';
  const lines = bedDaemons(state).map(
    (d) =>
      `  ${d.name.padEnd(24)} pid ${String(d.pid).padEnd(8)} ${isRunning(d) ? 'running' : 'NOT RUNNING'}`,
  );
  const healthy = bedDaemons(state).every(isRunning);
  return [
    `${healthy ? 'up' : 'degraded (run up to repair, or down)'} since ${state.startedAt}`,
    ...lines,
    `  env: ${envFile(stateDir)}`,
  ].join('\n');
}

/** Stops the NFS server (which decides about its rpcbind), then the control plane in reverse start order. */
export async function stopBed(state: BedState): Promise<void> {
  await stopNfsServer(state.nfsServer);
  await stopDaemons(state.controlPlane);
}

async function stopDaemons(daemons: Daemon[]): Promise<void> {
  for (const d of [...daemons].reverse()) await stopDaemon(d);
}

/**
 * Stops one daemon of a bed (if it still runs) and starts it again with the same command line
 * after `downMs` (tests use it to take the apiserver away under a running controller).
 */
export async function restartDaemon(stateDir: string, name: string, downMs = 0): Promise<Daemon> {
  const state = await readState(stateDir);
  const old = state && ownDaemons(state).find((d) => d.name === name);
  if (!state || !old) throw new Error(`no ${name} among the daemons of the bed at ${stateDir}`);
  const argv = old.argv;
  await stopDaemon(old);
  await new Promise((resolve) => setTimeout(resolve, downMs));
  const fresh = startDaemon(name, argv, { logFile: old.logFile });
  fresh.signature = old.signature;
  const swap = (d: Daemon) => (d === old ? fresh : d);
  const next: BedState = {
    ...state,
    controlPlane: state.controlPlane.map(swap),
    nfsServer: { ...state.nfsServer, ganesha: swap(state.nfsServer.ganesha) },
  };
  await writeFile(stateFile(stateDir), `${JSON.stringify(next, null, 2)}\n`);
  return fresh;
}

/** Synchronous last resort for process exit handlers: SIGKILL whatever is still ours. */
export function killAllNow(daemons: Daemon[]): void {
  for (const d of daemons)
    if (isRunning(d))
      try {
        process.kill(d.pid, 'SIGKILL');
      } catch {}
}
