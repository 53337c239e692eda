// `warren controller` as a child process against the bed, as an operator runs it: the one way
// the demo, the bench and the tests start it, wait for it, read it and stop it.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pollUntil } from '../lib/poll.ts';
import type { BedEnv } from './bed.ts';
import { freePort } from './ports.ts';

const cli = join(import.meta.dirname, '..', '..', 'src', 'cli.ts');

export interface ControllerOptions {
  /** The bed it runs against: its kubeconfig and its NFS share. */
  bed: BedEnv;
  /** Where its stdout and stderr go (appended). */
  logFile: string;
  /** --provisioner; the controller's own default when left out. */
  provisioner?: string;
  /** The share's local directory (default: the bed's export directory). */
  shareDir?: string;
  /** A kubeconfig other than the bed's admin one (a ServiceAccount's, say). */
  kubeconfig?: string;
  /**
   * More flags, after the defaults; one that sets a flag the defaults set replaces it. The
   * defaults: --leader-elect=false, --resync-period=20s (a missed event shows within a test's
   * time), --log-level=debug (the log file is there to be read), a free --metrics-address.
   */
  args?: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** The program: src/cli.ts by default, or the bundle's dist/cli.js (hack/bundle.ts). */
  cli?: string;
}

export interface ControllerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT, serving /metrics, /healthz and /readyz. */
  metricsUrl: string;
  logFile: string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Waits until /readyz answers 200; fails at once, with the log tail, if the process exits. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** The log file's text. */
  logText(): string;
  /** The log file's JSON lines, parsed. */
  logLines(): Array<Record<string, unknown>>;
}

/** The command line for the options, with the metrics port chosen. */
export function controllerArgs(opts: ControllerOptions, metricsPort: number): string[] {
  const { bed } = opts;
  const fixed = [
    `--kubeconfig=${opts.kubeconfig ?? bed.KUBECONFIG}`,
    `--share=${bed.WARREN_NFS_SERVER}:${bed.WARREN_NFS_SHARE}=${opts.shareDir ?? bed.WARREN_EXPORT_DIR}`,
    ...(opts.provisioner ? [`--provisioner=${opts.provisioner}`] : []),
  ];
  const defaults = [
    `--metrics-address=127.0.0.1:${metricsPort}`,
    '--leader-elect=false',
    '--resync-period=20s',
    '--log-level=debug',
  ];
  const extra = opts.args ?? [];
  const flagOf = (arg: string) => arg.split('=', 1)[0];
  const overridden = new Set(extra.map(flagOf));
  return [...fixed, ...defaults.filter((d) => !overridden.has(flagOf(d))), ...extra];
}

export async function startController(opts: ControllerOptions): Promise<ControllerProcess> {
  const port = await freePort();
  const args = controllerArgs(opts, port);
  const address = args
    .findLast((a) => a.startsWith('--metrics-address='))
    ?.slice('--metrics-address='.length);
  const metricsUrl = `http://${address}`;
  const out = createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(process.execPath, [opts.cli ?? cli, 'controller', ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stopWith = async (signal: NodeJS.Signals) => {
    if (running()) child.kill(signal);
    await exited;
  };
  const logText = () => readFileSync(opts.logFile, 'utf8');
  return {
    child,
    metricsUrl,
    logFile: opts.logFile,
    exited,
    ready: (timeoutMs = 60_000) =>
      pollUntil(async () => (await fetch(`${metricsUrl}/readyz`)).ok, {
        what: `warren controller to be ready (${metricsUrl}/readyz)`,
        timeoutMs,
        intervalMs: 100,
        giveUpIf: () => (running() ? undefined : `it exited (${child.exitCode ?? child.signalCode})`),
        detail: () =>
          `last lines of ${opts.logFile}:\n${logText().trimEnd().split('\n').slice(-20).join('\n')}`,
      }),
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    logText,
    logLines: () =>
      logText()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** A metric's value from /metrics: the sum over the series whose labels include `labels`. */
export async function metricValue(
  metricsUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const series = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
