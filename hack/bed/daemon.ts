// Long-running bed processes: started detached with their output in a log file, so they
// outlive the command that started them, and stopped by PID, never by name.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollUntil } from '../lib/poll.ts';

export interface Daemon {
  name: string;
  pid: number;
  /** Substring of /proc/PID/cmdline that proves the PID is still ours (guards against PID reuse). */
  signature: string;
  logFile: string;
  /** The command line, so a bed daemon can be started again (see restartDaemon). */
  argv: string[];
}

export function startDaemon(
  name: string,
  argv: string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Daemon {
  const [command, ...args] = argv;
  if (!command) throw new Error(`startDaemon(${name}): empty command`);
  const out = openSync(opts.logFile, 'a');
  try {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
    child.on('error', () => {}); // reported through isRunning/waitFor instead
    child.unref();
    return { name, pid: child.pid, signature: command, logFile: opts.logFile, argv };
  } finally {
    closeSync(out);
  }
}

/** True when PID is alive, not a zombie, and still runs the command we started. */
export function isRunning(d: Pick<Daemon, 'pid' | 'signature'>): boolean {
  try {
    const stat = readFileSync(`/proc/${d.pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    // Empty while the process is between two execve calls (sh -c '... && exec rpcbind'): still ours.
    const cmdline = readFileSync(`/proc/${d.pid}/cmdline`, 'utf8');
    return cmdline === '' || cmdline.includes(d.signature);
  } catch {
    return false;
  }
}

export function logTail(d: Daemon, lines = 25): string {
  if (!existsSync(d.logFile)) return '(no log)';
  return readFileSync(d.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
export async function stopDaemon(d: Daemon, graceMs = 10_000): Promise<void> {
  if (!isRunning(d)) return;
  signal(d.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(d) && Date.now() < deadline) await sleep(50);
  if (!isRunning(d)) return;
  signal(d.pid, 'SIGKILL');
  while (isRunning(d)) await sleep(20);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Polls `ready` until it returns true; fails early, with the log tail, if the daemon dies. */
export async function waitReady(
  d: Daemon,
  ready: () => Promise<boolean>,
  opts: { timeoutMs: number; what: string },
): Promise<number> {
  const start = Date.now();
  await pollUntil(ready, {
    what: `${d.name} to be ${opts.what}`,
    timeoutMs: opts.timeoutMs,
    intervalMs: 500,
    giveUpIf: () => (isRunning(d) ? undefined : 'it exited'),
    detail: () => `last lines of ${d.logFile}:\n${logTail(d)}`,
  });
  return Date.now() - start;
}
