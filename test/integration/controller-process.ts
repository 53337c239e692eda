// Runs `warren controller` as a real child process against the bed, as an operator would.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { freePort } from '../../hack/bed/ports.ts';

export interface ControllerProcess {
  child: ChildProcess;
  metricsUrl: string;
  logFile: string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  logLines(): Array<Record<string, unknown>>;
}

const repoRoot = join(import.meta.dirname, '..', '..');

export async function startController(opts: {
  provisioner: string;
  args?: string[];
  env?: Record<string, string>;
  logFile: string;
  shareDir?: string;
}): Promise<ControllerProcess> {
  const bed = inject('bed');
  const port = await freePort();
  const args = [
    join(repoRoot, 'src', 'cli.ts'),
    'controller',
    `--kubeconfig=${bed.KUBECONFIG}`,
    `--provisioner=${opts.provisioner}`,
    `--share=${bed.WARREN_NFS_SERVER}:${bed.WARREN_NFS_SHARE}=${opts.shareDir ?? bed.WARREN_EXPORT_DIR}`,
    `--metrics-address=127.0.0.1:${port}`,
    ...(opts.args?.some((a) => a.startsWith('--leader-elect=')) ? [] : ['--leader-elect=false']),
    '--resync-period=20s',
    '--log-level=debug',
    ...(opts.args ?? []),
  ];
  const out = createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const metricsUrl = `http://127.0.0.1:${port}`;
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    child,
    metricsUrl,
    logFile: opts.logFile,
    exited,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    logLines: () =>
      readFileSync(opts.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Reads a metric's value from /metrics (sum over series matching the label filter). */
export async function metricValue(
  metricsUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const lbl = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
