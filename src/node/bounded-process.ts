// Runs a command that may block forever on a dead NFS server (mount, umount, stat) without ever
// blocking the caller past its time limit and without leaving any of its processes behind.
//
// The command runs in its own process group (detached: setsid), so at the time limit one
// SIGKILL to the group also reaches helpers it forked (mount.nfs, umount.nfs4). Completion is
// decided on 'exit', not 'close': a stuck grandchild can hold the output pipes open for good.
import { spawn } from 'node:child_process';

export interface BoundedRunOptions {
  timeoutMs: number;
  /** After SIGKILL, how long to wait for 'exit' before giving up on the process (D state). */
  killGraceMs?: number;
  /** After 'exit', how long to wait for the pipes to drain before closing them ourselves. */
  drainGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Polled while the command runs; once it answers true the group is killed and the run ends. */
  stopWhen?: () => Promise<boolean>;
  pollMs?: number;
  /**
   * A line the command prints once it has started (a Node child takes seconds to start on a busy
   * node): until it is seen the limit is startTimeoutMs, and timeoutMs counts from it.
   */
  startedLine?: string;
  startTimeoutMs?: number;
}

export interface BoundedRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The time limit passed and the process group was killed. */
  timedOut: boolean;
  /** False only when the process did not even die from SIGKILL within killGraceMs. */
  exited: boolean;
  /** stopWhen answered true and the group was killed before the command finished. */
  stopped: boolean;
  /** startedLine was printed (always true without one). */
  started: boolean;
  stdout: string;
  stderr: string;
}

const maxOutputChars = 64 * 1024;

/** Rejects only when the command cannot be started (e.g. ENOENT); every other outcome resolves. */
export function runBounded(
  command: string,
  args: readonly string[],
  options: BoundedRunOptions,
): Promise<BoundedRun> {
  const { timeoutMs, killGraceMs = 2000, drainGraceMs = 200, stopWhen, pollMs = 100, startedLine } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    const output = { stdout: '', stderr: '' };
    let started = startedLine === undefined;
    const collect = (key: 'stdout' | 'stderr') => (chunk: string) => {
      if (output[key].length < maxOutputChars)
        output[key] += chunk.slice(0, maxOutputChars - output[key].length);
      if (
        !started &&
        key === 'stdout' &&
        output.stdout
          .split('\n')
          .slice(0, -1)
          .includes(startedLine ?? '')
      ) {
        started = true;
        if (!settled && !timedOut) {
          clearTimeout(limitTimer);
          limitTimer = setTimeout(onLimit, timeoutMs);
        }
      }
    };
    child.stdout.setEncoding('utf8').on('data', collect('stdout'));
    child.stderr.setEncoding('utf8').on('data', collect('stderr'));
    let timedOut = false;
    let stopped = false;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;

    // Called at the time limit, before the leader is reaped (its pid still names this group), and
    // after 'exit' only while members still hold the pipes (their membership reserves the id).
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, exited: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(limitTimer);
      clearTimeout(graceTimer);
      clearInterval(poller);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ exitCode, signal, timedOut, exited, stopped, started, ...output });
    };
    const running = () =>
      !settled && !timedOut && !stopped && child.exitCode === null && child.signalCode === null;

    let polling = false;
    const poll = async (check: () => Promise<boolean>) => {
      if (polling || !running()) return;
      polling = true;
      const stop = await check().catch(() => false);
      polling = false;
      if (stop && running()) {
        stopped = true;
        killGroup();
      }
    };
    const poller = stopWhen ? setInterval(() => void poll(stopWhen), pollMs) : undefined;

    const onLimit = () => {
      timedOut = true;
      killGroup();
      graceTimer = setTimeout(() => finish(null, null, false), killGraceMs);
    };
    let limitTimer = setTimeout(onLimit, started ? timeoutMs : (options.startTimeoutMs ?? timeoutMs));

    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(limitTimer);
      clearInterval(poller);
      reject(err);
    });
    child.once('exit', (exitCode, signal) => {
      // Give the pipes a moment to deliver the last output; if they stay open, a leftover holds them.
      const drainTimer = setTimeout(() => {
        killGroup();
        finish(exitCode, signal, true);
      }, drainGraceMs);
      child.once('close', () => {
        clearTimeout(drainTimer);
        finish(exitCode, signal, true);
      });
    });
  });
}

/** A one-line summary of a finished run for messages and logs. */
export function describeRun(run: BoundedRun, timeoutMs: number): string {
  const said = (run.stderr.trim() || run.stdout.trim()).replaceAll(/\s+/g, ' ').slice(0, 500);
  if (run.timedOut) return `no answer within ${formatSeconds(timeoutMs)}; killed its process group`;
  if (run.stopped) return 'its work was done but it had not finished; killed its process group';
  const how = run.signal ? `killed by ${run.signal}` : `exit ${run.exitCode}`;
  return said ? `${how}: ${said}` : how;
}

export const formatSeconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;
