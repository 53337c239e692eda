// The process-group time limit, with harmless stand-ins for mount and umount.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBounded } from '../../src/node/bounded-process.ts';
import { makeRealMounter } from '../../src/node/real-mounter.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

/** Gone = no such process, or a zombie waiting for its new parent to reap it. */
async function isGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    const state = await readFile(`/proc/${pid}/stat`, 'utf8').then(
      (text) => text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3),
      () => 'gone',
    );
    if (state === 'gone' || state === 'Z') return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

const pidsIn = (text: string) => text.trim().split(/\s+/).filter(Boolean).map(Number);

describe('runBounded', () => {
  it('kills the whole process group at the time limit', async () => {
    const started = Date.now();
    const run = await runBounded('sh', ['-c', 'sleep 30 & echo $!; sleep 30 & echo $!; wait'], {
      timeoutMs: 300,
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(run).toMatchObject({ timedOut: true, exitCode: null, signal: 'SIGKILL' });
    const pids = pidsIn(run.stdout);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(await isGone(pid)).toBe(true);
  });

  it('does not wait for a leftover that holds the output pipes, and kills it', async () => {
    const started = Date.now();
    const run = await runBounded('sh', ['-c', 'sleep 30 & echo $!; exit 3'], { timeoutMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(run).toMatchObject({ timedOut: false, exitCode: 3, exited: true });
    const [pid] = pidsIn(run.stdout);
    expect(await isGone(pid as number)).toBe(true);
  });

  it('returns output and exit code of a command that finishes', async () => {
    const run = await runBounded('sh', ['-c', 'echo out; echo err >&2; exit 4'], { timeoutMs: 5_000 });
    expect(run).toEqual({
      exitCode: 4,
      signal: null,
      timedOut: false,
      exited: true,
      stopped: false,
      started: true,
      stdout: 'out\n',
      stderr: 'err\n',
    });
  });

  it('counts the time limit from the started line; before it, the start limit applies', async () => {
    // Starts slowly (1.5 s, over the 1 s limit), then finishes at once: within the limit from "started".
    const slowStart = await runBounded('sh', ['-c', 'sleep 1.5; echo started; echo done'], {
      timeoutMs: 1_000,
      startedLine: 'started',
      startTimeoutMs: 5_000,
    });
    expect(slowStart).toMatchObject({
      timedOut: false,
      started: true,
      exitCode: 0,
      stdout: 'started\ndone\n',
    });
    const neverStarts = await runBounded('sh', ['-c', 'sleep 30'], {
      timeoutMs: 10_000,
      startedLine: 'started',
      startTimeoutMs: 300,
    });
    expect(neverStarts).toMatchObject({ timedOut: true, started: false });
    const stuckAfterStart = await runBounded('sh', ['-c', 'echo started; sleep 30'], {
      timeoutMs: 300,
      startedLine: 'started',
      startTimeoutMs: 10_000,
    });
    expect(stuckAfterStart).toMatchObject({ timedOut: true, started: true, stdout: 'started\n' });
  });

  it('stops the command, group and all, once stopWhen says its work is done', async () => {
    let polls = 0;
    const started = Date.now();
    const run = await runBounded('sh', ['-c', 'sleep 30 & echo $!; wait'], {
      timeoutMs: 10_000,
      pollMs: 50,
      stopWhen: async () => ++polls >= 3,
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(run).toMatchObject({ stopped: true, timedOut: false, signal: 'SIGKILL' });
    expect(await isGone(pidsIn(run.stdout)[0] as number)).toBe(true);
  });

  it('rejects when the command does not exist', async () => {
    await expect(runBounded('/nonexistent/warren-mount', [], { timeoutMs: 1_000 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});

describe('real mounter with stand-in commands', () => {
  let dir: string;
  const script = async (name: string, body: string) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warren-mounter-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes type, options, source and target; a hung mount is Unavailable and leaves no process', async () => {
    const mountCommand = await script(
      'hung-mount',
      `echo "$@" > ${dir}/args; sleep 30 & echo $! > ${dir}/pids; sleep 30 & echo $! >> ${dir}/pids; wait`,
    );
    const mounter = makeRealMounter({ mountCommand, killGraceMs: 1000 });
    await expectWarrenRejection(
      mounter.mount('srv:/export/a', '/mnt/t', 'nfs', ['vers=4.1', 'ro'], 400),
      'Unavailable',
      'did not answer within 0.4 s',
    );
    expect(await readFile(join(dir, 'args'), 'utf8')).toBe('-t nfs -o vers=4.1,ro srv:/export/a /mnt/t\n');
    for (const pid of pidsIn(await readFile(join(dir, 'pids'), 'utf8'))) expect(await isGone(pid)).toBe(true);
  });

  it('reports a failed mount with what the command said', async () => {
    const mountCommand = await script(
      'denied-mount',
      'echo "mount.nfs: access denied by server" >&2; exit 32',
    );
    const mounter = makeRealMounter({ mountCommand });
    await expectWarrenRejection(
      mounter.mount('srv:/x', '/mnt/t', 'nfs4', [], 5_000),
      'FailedPrecondition',
      'exit 32: mount.nfs: access denied',
    );
  });

  it('answers FailedPrecondition when mount is not installed', async () => {
    const mounter = makeRealMounter({ mountCommand: join(dir, 'missing') });
    await expectWarrenRejection(
      mounter.mount('srv:/x', '/mnt/t', 'nfs', [], 1_000),
      'FailedPrecondition',
      'mount.nfs',
    );
  });

  it('runs umount, umount -f and umount -l and reports hangs without throwing', async () => {
    const umountCommand = await script(
      'umount',
      `echo "$@" >> ${dir}/umount-args; [ "$1" = -f ] && exec sleep 30; exit 0`,
    );
    const mounter = makeRealMounter({ umountCommand, killGraceMs: 1000 });
    expect(await mounter.unmount('/mnt/t', 'plain', 2_000)).toMatchObject({ mode: 'plain', succeeded: true });
    expect(await mounter.unmount('/mnt/t', 'force', 300)).toMatchObject({
      mode: 'force',
      succeeded: false,
      timedOut: true,
    });
    expect(await mounter.unmount('/mnt/t', 'lazy', 2_000)).toMatchObject({ mode: 'lazy', succeeded: true });
    expect(await readFile(join(dir, 'umount-args'), 'utf8')).toBe('/mnt/t\n-f /mnt/t\n-l /mnt/t\n');
  });

  it('stops a umount whose helper hangs once the mount has left the table', async () => {
    const mountInfoPath = join(dir, 'mountinfo-detach');
    await writeFile(mountInfoPath, '41 22 0:51 / /mnt/d rw - nfs4 srv:/export rw\n');
    const umountCommand = await script(
      'detach-then-hang',
      `: > ${mountInfoPath}; sleep 30 & echo $! > ${dir}/helper; wait`,
    );
    const mounter = makeRealMounter({ umountCommand, mountInfoPath, killGraceMs: 1000 });
    const started = Date.now();
    expect(await mounter.unmount('/mnt/d', 'force', 20_000)).toMatchObject({
      mode: 'force',
      succeeded: true,
      timedOut: false,
    });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await isGone(Number(await readFile(join(dir, 'helper'), 'utf8')))).toBe(true);
  });

  it('checks health with statfs: usable, failing, or not answering', async () => {
    const real = makeRealMounter();
    expect(await real.health(dir, 5_000)).toEqual({ usable: true });
    expect(await real.health(join(dir, 'missing'), 5_000)).toMatchObject({
      usable: false,
      timedOut: false,
      stale: false,
    });
    const staleStat = await script(
      'stale-stat',
      `echo "stat: cannot read file system information for '$4': Stale file handle" >&2; exit 1`,
    );
    expect(await makeRealMounter({ statCommand: staleStat }).health(dir, 5_000)).toMatchObject({
      usable: false,
      timedOut: false,
      stale: true,
    });
    const hung = makeRealMounter({ statCommand: await script('hung-stat', 'sleep 30'), killGraceMs: 1000 });
    expect(await hung.health(dir, 300)).toMatchObject({
      usable: false,
      timedOut: true,
      stale: false,
      message: expect.stringContaining('0.3 s'),
    });
  });

  it('reads mounts from the mountinfo file', async () => {
    const mountInfoPath = join(dir, 'mountinfo');
    await writeFile(mountInfoPath, '40 22 0:50 / /mnt/a\\040b rw - nfs4 srv:/export rw\n');
    const mounter = makeRealMounter({ mountInfoPath });
    expect(await mounter.mountsAt('/mnt/a b')).toMatchObject({ mountId: 40, source: 'srv:/export' });
    expect(await mounter.mountsAt('/mnt/other')).toBeUndefined();
  });
});
