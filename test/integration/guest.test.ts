// Proof that the qemu test guest does real kernel NFS mounts against the bed's NFS server:
// v3 and v4.1 mounts of a subdirectory, a write that lands on the host, a clean unmount.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootGuest, type Guest, guestNfsHost } from '../../hack/bed/guest.ts';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the integration global setup provides the NFS server`);
  return value;
}

interface MountCase {
  name: string;
  fstype: 'nfs' | 'nfs4';
  /** The exported path as this protocol version names it. */
  exportPath: string;
  options: string;
  /** Options /proc/mounts must show (the kernel rewrites and adds others). */
  expectedOptions: string[];
}

function mountCases(): MountCase[] {
  const nfsPort = requiredEnv('WARREN_NFS_PORT');
  const mountPort = requiredEnv('WARREN_MOUNT_PORT');
  return [
    {
      name: 'v3',
      fstype: 'nfs',
      exportPath: requiredEnv('WARREN_NFS_SHARE'),
      options: `vers=3,port=${nfsPort},mountport=${mountPort},nolock,proto=tcp,mountproto=tcp`,
      expectedOptions: ['vers=3', `port=${nfsPort}`, `mountport=${mountPort}`, 'proto=tcp', 'mountproto=tcp'],
    },
    {
      name: 'v4.1',
      fstype: 'nfs4',
      exportPath: requiredEnv('WARREN_NFS_PSEUDO'),
      options: `vers=4.1,port=${nfsPort}`,
      expectedOptions: ['vers=4.1', `port=${nfsPort}`],
    },
  ];
}

/** The /proc/mounts entry for a mount point, split into its fields. */
async function mountEntry(guest: Guest, target: string) {
  const { stdout } = await guest.exec(['cat', '/proc/mounts']);
  const fields = stdout
    .split('\n')
    .map((line) => line.split(' '))
    .find((f) => f[1] === target);
  return fields && { source: fields[0], fstype: fields[2], options: fields[3]?.split(',') ?? [] };
}

describe('guest kernel NFS mounts', () => {
  const exportDir = requiredEnv('WARREN_EXPORT_DIR');
  const runId = randomUUID().slice(0, 8);
  let guest: Guest;

  beforeAll(async () => {
    const logDir = join(import.meta.dirname, '..', '..', 'test-results');
    await mkdir(logDir, { recursive: true });
    guest = await bootGuest({ logFile: join(logDir, 'guest-console.log') });
  }, 180_000);

  afterAll(async () => {
    await guest?.stop();
    for (const c of mountCases())
      await rm(join(exportDir, `guest-${runId}-${c.name}`), { recursive: true, force: true });
  });

  it.each(mountCases())('mounts a subdirectory with NFS $name, writes through it and unmounts', async (c) => {
    const subdir = `guest-${runId}-${c.name}`;
    await mkdir(join(exportDir, subdir));
    const source = `${guestNfsHost}:${c.exportPath}/${subdir}`;
    const target = `/mnt/warren-${c.name}`;
    expect(await guest.exec(['mkdir', '-p', target])).toMatchObject({ code: 0 });

    let started = Date.now();
    const mounted = await guest.exec(['mount', '-t', c.fstype, '-o', c.options, source, target], {
      timeoutMs: 30_000,
    });
    const mountMs = Date.now() - started;
    expect(mounted).toMatchObject({ code: 0, stderr: '' });
    const entry = await mountEntry(guest, target);
    expect(entry).toMatchObject({ source, fstype: c.fstype });
    expect(entry?.options).toEqual(expect.arrayContaining(c.expectedOptions));

    const content = `written by the guest over NFS ${c.name} (${runId})\n`;
    expect(await guest.exec(['tee', `${target}/hello.txt`], { input: content })).toMatchObject({ code: 0 });
    expect(await readFile(join(exportDir, subdir, 'hello.txt'), 'utf8')).toBe(content);
    // Owners stay numeric end to end: root in the guest is uid 0 on the server, not nobody.
    expect(await guest.exec(['stat', '-c', '%u:%g', `${target}/hello.txt`])).toMatchObject({
      stdout: '0:0\n',
    });

    started = Date.now();
    expect(await guest.exec(['umount', target], { timeoutMs: 30_000 })).toMatchObject({ code: 0 });
    const umountMs = Date.now() - started;
    expect(await mountEntry(guest, target)).toBeUndefined();
    console.log(
      `[warren] guest NFS ${c.name}: mount ${mountMs} ms, umount ${umountMs} ms (boot ${guest.bootMs} ms)`,
    );
  });
});
