// The CSI-sidecar contender: `warren node --controller` serving CSI on a unix socket, and
// external-provisioner (built by hack/tools.sh) driving it against the bed.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BedEnv } from '../bed/bed.ts';
import { call, csiClients } from '../lib/csi-client.ts';
import { pollUntil } from '../lib/poll.ts';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

export interface Child {
  name: string;
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

function start(name: string, command: string, args: string[], logFile: string, env = process.env): Child {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  if (child.pid === undefined) throw new Error(`bench: could not start ${name} (${command})`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    child,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const running = (c: Child) => c.child.exitCode === null && c.child.signalCode === null;

/**
 * Starts `warren node` on a unix socket (with --controller and the bed's share when `controller`)
 * and returns once a Probe is answered, with the milliseconds from spawn to that answer.
 */
export async function startNodePlugin(opts: {
  bed: BedEnv;
  socket: string;
  driverName: string;
  controller: boolean;
  logFile: string;
  env?: Record<string, string>;
  /** The program: src/cli.ts by default, or the bundle's dist/cli.js. */
  cli?: string;
}): Promise<{ plugin: Child; firstProbeMs: number }> {
  const { bed } = opts;
  const t0 = performance.now();
  const plugin = start(
    'warren node',
    process.execPath,
    [
      opts.cli ?? cli,
      'node',
      `--endpoint=unix://${opts.socket}`,
      '--node-id=bench',
      `--driver-name=${opts.driverName}`,
      '--log-level=warn',
      ...(opts.controller
        ? [
            '--controller',
            `--share=${bed.WARREN_NFS_SERVER}:${bed.WARREN_NFS_SHARE}=${bed.WARREN_EXPORT_DIR}`,
          ]
        : []),
    ],
    opts.logFile,
    { ...process.env, ...opts.env },
  );
  const waitOpts = {
    timeoutMs: 60_000,
    intervalMs: 10,
    giveUpIf: () => (running(plugin) ? undefined : `it exited; see ${opts.logFile}`),
  };
  await pollUntil(() => existsSync(opts.socket), {
    ...waitOpts,
    what: `warren node's socket ${opts.socket}`,
  });
  const clients = csiClients(`unix://${opts.socket}`);
  try {
    await pollUntil(
      async () => {
        await call(clients.identity.Probe.bind(clients.identity), {});
        return true;
      },
      { ...waitOpts, what: 'warren node to answer Probe' },
    );
  } finally {
    clients.close();
  }
  return { plugin, firstProbeMs: performance.now() - t0 };
}

/**
 * external-provisioner against the bed, talking CSI to the plugin's socket; returns once its
 * caches are synced and its workers run (it logs "Started provisioner controller").
 */
export async function startExternalProvisioner(opts: {
  binary: string;
  bed: BedEnv;
  socket: string;
  args: string[];
  logFile: string;
}): Promise<Child> {
  const provisioner = start(
    'external-provisioner',
    opts.binary,
    [
      `--csi-address=${opts.socket}`,
      `--kubeconfig=${opts.bed.KUBECONFIG}`,
      '--leader-election=false',
      // The claim's name and namespace as CreateVolume parameters, for Warren's subDir template.
      '--extra-create-metadata',
      '--v=1',
      ...opts.args,
    ],
    opts.logFile,
  );
  const log = () => (existsSync(opts.logFile) ? readFileSync(opts.logFile, 'utf8') : '');
  await pollUntil(() => log().includes('Started provisioner controller'), {
    what: 'external-provisioner to start its workers',
    timeoutMs: 60_000,
    intervalMs: 100,
    giveUpIf: () => (running(provisioner) ? undefined : 'it exited'),
    detail: () => `last lines of ${opts.logFile}:\n${log().trimEnd().split('\n').slice(-20).join('\n')}`,
  });
  return provisioner;
}
