// Long-running bed processes: started detached with their output in a log file, so they
// outlive the command that started them, and stopped by PID, never by name.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
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

/**
 * What /proc says of a daemon: 'running' while any of its threads runs; 'exited' once every
 * thread has ended but its parent has not reaped it yet (a zombie: `ps` still lists it);
 * 'gone' when there is no such process, or the PID now runs another program. A process whose
 * first thread has ended while others still run (a zombie leader) is running.
 */
export type ProcessState = 'running' | 'exited' | 'gone';

export function processState(d: Pick<Daemon, 'pid' | 'signature'>): ProcessState {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${d.pid}/task`);
  } catch {
    return 'gone';
  }
  // A thread that ends between the listing and the read counts as ended.
  const ended = (tid: string) => /^[ZX]/.test(threadState(d.pid, tid) ?? 'X');
  if (threads.every(ended)) return threads.length > 0 || existsSync(`/proc/${d.pid}`) ? 'exited' : 'gone';
  try {
    // Empty while the process is between two execve calls (sh -c '... && exec rpcbind'), and
    // once its first thread has ended: still ours.
    const cmdline = readFileSync(`/proc/${d.pid}/cmdline`, 'utf8');
    return cmdline === '' || cmdline.includes(d.signature) ? 'running' : 'gone';
  } catch {
    return 'gone';
  }
}

function threadState(pid: number, tid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True while any thread of the daemon runs the command we started. */
export const isRunning = (d: Pick<Daemon, 'pid' | 'signature'>): boolean => processState(d) === 'running';

export function logTail(d: Daemon, lines = 25): string {
  if (!existsSync(d.logFile)) return '(no log)';
  return readFileSync(d.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** SIGTERM, then SIGKILL after graceMs; resolves once no thread of the process runs. */
export async function stopDaemon(d: Daemon, graceMs = 10_000): Promise<void> {
  if (!isRunning(d)) return;
  signal(d.pid, 'SIGTERM');
  const ended = () => !isRunning(d);
  const what = `${d.name} (pid ${d.pid}) to exit`;
  const inTime = await pollUntil(ended, { what, timeoutMs: graceMs, intervalMs: 50 }).then(
    () => true,
    () => false,
  );
  if (inTime) return;
  signal(d.pid, 'SIGKILL');
  await pollUntil(ended, { what: `${what} after SIGKILL`, timeoutMs: 60_000, intervalMs: 20 });
}

/**
 * Waits until every daemon that has exited is reaped by its parent (gone from the process
 * table), for at most timeoutMs, and returns those still waiting for their parent. A daemon of
 * a bed started by another process has init for a parent, which may reap only now and then.
 */
export async function waitReaped(daemons: Daemon[], timeoutMs = 10_000): Promise<Daemon[]> {
  const unreaped = () => daemons.filter((d) => processState(d) === 'exited');
  await pollUntil(() => unreaped().length === 0, {
    what: 'stopped daemons to be reaped',
    timeoutMs,
    intervalMs: 100,
  }).catch(() => undefined);
  return unreaped();
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
