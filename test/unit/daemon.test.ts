// hack/bed/daemon.ts on real processes: what processState says of a running, an exited (not yet
// reaped) and a vanished process, and that waitReaped waits for the reaping, not just the exit.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, expect, it } from 'vitest';
import { type Daemon, processState, stopDaemon, waitReaped } from '../../hack/bed/daemon.ts';
import { pollUntil } from '../../hack/lib/poll.ts';

const daemon = (pid: number, signature: string): Daemon => ({
  name: signature,
  pid,
  signature,
  logFile: '/dev/null',
  argv: [signature],
});

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
});

/**
 * A `sleep 0` whose parent never reaps it: sh starts it in the background, prints its PID and
 * execs `sleep 30`, which does not wait for children. Returns both.
 */
async function unreapedChild(): Promise<{ zombie: Daemon; parent: Daemon }> {
  const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(sh.pid as number);
  const lines = createInterface({ input: sh.stdout });
  const line = await new Promise<string>((resolve) => lines.once('line', resolve));
  lines.close();
  return { zombie: daemon(Number(line), 'sleep'), parent: daemon(sh.pid as number, 'sleep') };
}

it('says running for a live process, and gone once it is stopped and reaped', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  started.push(child.pid as number);
  const d = daemon(child.pid as number, 'sleep');
  expect(processState(d)).toBe('running');
  await stopDaemon(d);
  await pollUntil(() => processState(d) === 'gone', {
    what: 'the reaped sleep to be gone',
    timeoutMs: 5_000,
  });
  expect(processState(d)).toBe('gone');
});

it('says gone when the PID runs another program', () => {
  expect(processState(daemon(process.pid, 'no-such-program'))).toBe('gone');
  expect(processState(daemon(process.pid, process.execPath))).toBe('running');
});

it('says exited for a process that has ended but is not reaped, and waitReaped waits for its parent', async () => {
  const { zombie, parent } = await unreapedChild();
  await pollUntil(() => processState(zombie) === 'exited', { what: 'sleep 0 to exit', timeoutMs: 5_000 });
  expect(await waitReaped([zombie], 300)).toEqual([zombie]);
  await stopDaemon(parent); // its orphan goes to init, which reaps it
  expect(await waitReaped([zombie], 10_000)).toEqual([]);
  expect(processState(zombie)).toBe('gone');
});
