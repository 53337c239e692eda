// `hack/local.sh` as a person uses it, on a second bed beside the test run's own: `up` twice is
// harmless, a dead daemon is reported by `status` and repaired by `up`, and `down` returns only
// once no process it stopped is left (not even one exited and waiting to be reaped), with no
// listening port and no runtime directory behind. The test run's bed shares rpcbind with this one, so this
// also shows that a second bed's `down` leaves the first one's NFS server answering.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, inject, it } from 'vitest';
import { type BedState, bedDaemons, nfsServerOf, ownDaemons, readStateSync } from '../../hack/bed/bed.ts';
import { type Daemon, isRunning } from '../../hack/bed/daemon.ts';
import { nfsUrl } from '../../hack/bed/nfs-server.ts';
import { pollUntil } from '../../hack/lib/poll.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const stateDir = mkdtempSync(join(tmpdir(), 'warren-local-bed-'));
const local = (command: string) =>
  execa('bash', [join(repoRoot, 'hack/local.sh'), command], {
    env: { WARREN_STATE_DIR: stateDir },
    reject: false,
    all: true,
  });

afterAll(async () => {
  await local('down');
  rmSync(stateDir, { recursive: true, force: true });
});

const listening = (port: number) => accepting({ host: '127.0.0.1', port });
const accepting = (to: { host: string; port: number } | string) =>
  new Promise<boolean>((resolve) => {
    const socket = typeof to === 'string' ? connect(to) : connect(to);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * The daemons that the process table still lists under the program they ran (running, or
 * exited and not yet reaped), read from /proc/PID/stat as `ps` does.
 */
function listed(daemons: Daemon[]): string[] {
  return daemons
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d.pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        return comm === basename(d.argv[0] ?? '').slice(0, 15); // the kernel keeps 15 characters
      } catch {
        return false;
      }
    })
    .map((d) => `${d.name}:${d.pid}`);
}

function envFile(): Record<string, string> {
  const text = readFileSync(join(stateDir, 'warren.env'), 'utf8');
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => l.split('=', 2) as [string, string]),
  );
}

it('comes up once, repairs a dead daemon, and goes down leaving nothing behind', async () => {
  const up = await local('up');
  expect(up.exitCode, up.all).toBe(0);
  const env = envFile();
  expect(Object.keys(env)).toEqual(
    expect.arrayContaining([
      'KUBECONFIG',
      'WARREN_NFS_SERVER',
      'WARREN_NFS_PORT',
      'WARREN_MOUNT_PORT',
      'WARREN_NFS_SHARE',
      'WARREN_EXPORT_DIR',
    ]),
  );
  const first = readStateSync(stateDir) as BedState;

  const again = await local('up');
  expect(again.exitCode, again.all).toBe(0);
  expect(again.all).toContain('already up');
  expect(bedDaemons(readStateSync(stateDir) as BedState).map((d) => d.pid)).toEqual(
    bedDaemons(first).map((d) => d.pid),
  );

  const kcm = first.controlPlane.find((d) => d.name === 'kube-controller-manager');
  if (!kcm) throw new Error('no kube-controller-manager in the bed');
  process.kill(kcm.pid, 'SIGKILL');
  await pollUntil(() => !isRunning(kcm), { what: 'the killed kube-controller-manager to be gone' });
  const status = await local('status');
  expect(status.all).toMatch(/degraded/);
  expect(status.all).toMatch(/kube-controller-manager +pid \d+ +NOT RUNNING/);

  const repaired = await local('up');
  expect(repaired.exitCode, repaired.all).toBe(0);
  expect(repaired.all).toContain('stale bed (not running: kube-controller-manager)');
  const second = readStateSync(stateDir) as BedState;
  // The stale bed's daemons were stopped before the new ones started: none is left, not even as a zombie.
  expect(listed(ownDaemons(first))).toEqual([]);
  expect(ownDaemons(second).every(isRunning)).toBe(true);
  const ports = [Number(envFile().WARREN_NFS_PORT), Number(new URL(envFile().WARREN_APISERVER ?? '').port)];
  expect(await Promise.all(ports.map(listening))).toEqual([true, true]);

  const down = await local('down');
  expect(down.exitCode, down.all).toBe(0);
  // Once `down` has returned, `ps` lists none of the processes it stopped.
  expect(listed(ownDaemons(second))).toEqual([]);
  expect(await Promise.all(ports.map(listening))).toEqual([false, false]);
  expect(existsSync(second.runtimeDir)).toBe(false);
  expect((await local('status')).all).toContain('down');

  // The test run's own bed still has its rpcbind (shared, so left for it) and still serves NFS.
  const rpcbind = first.nfsServer.rpcbind;
  if (!rpcbind) throw new Error('the second bed did not record the rpcbind it uses');
  expect(isRunning(rpcbind)).toBe(true);
  expect(await accepting('/run/rpcbind.sock')).toBe(true);
  for (const version of [3, 4] as const) {
    const url = nfsUrl(nfsServerOf(inject('bed')), version);
    expect((await execa('nfs-ls', [url], { reject: false })).exitCode).toBe(0);
  }
}, 300_000);
