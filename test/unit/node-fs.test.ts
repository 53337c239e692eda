// The real NodeFs on a temporary directory: target directories, the du-like walk (in a child
// process), and the readiness probe.
import { chmod, link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRealNodeFs } from '../../src/node/node-fs.ts';
import { probeNode } from '../../src/node/real-node-deps.ts';
import { decodeMeasurement, encodeMeasurement, walkVolume } from '../../src/node/volume-walk.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

const KiB = 1024n;
let base: string;
let volume: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'warren-nodefs-'));
  volume = join(base, 'volume');
  await mkdir(join(volume, 'a/b'), { recursive: true });
  await writeFile(join(volume, 'a/b/data'), Buffer.alloc(256 * 1024, 7));
  await link(join(volume, 'a/b/data'), join(volume, 'a/hardlink'));
  await writeFile(join(base, 'outside'), Buffer.alloc(1024 * 1024, 7));
  await symlink(join(base, 'outside'), join(volume, 'link-out'));
  await symlink(base, join(volume, 'link-dir'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('walkVolume', () => {
  it('counts every entry once, hard links once, and never follows symbolic links', async () => {
    const walked = await walkVolume(volume, Date.now() + 10_000);
    // volume, a, a/b, a/b/data (= a/hardlink), link-out, link-dir
    expect(walked.usedInodes).toBe(6n);
    expect(walked.complete).toBe(true);
    expect(walked.usedBytes).toBeGreaterThanOrEqual(256n * KiB);
    expect(walked.usedBytes).toBeLessThan(512n * KiB);
  });

  it('stops at its deadline and says the count is partial', async () => {
    const walked = await walkVolume(volume, Date.now() - 1);
    expect(walked).toMatchObject({ complete: false, usedInodes: 1n });
  });
});

describe('measurement encoding', () => {
  it('round-trips bigints and refuses anything else', () => {
    const m = {
      totalBytes: 1n << 62n,
      availableBytes: 5n,
      usedBytes: 6n,
      totalInodes: 7n,
      freeInodes: 8n,
      usedInodes: 9n,
      complete: false,
    };
    expect(decodeMeasurement(encodeMeasurement(m))).toEqual(m);
    expect(decodeMeasurement('{"complete":true}')).toBeUndefined();
    expect(decodeMeasurement(encodeMeasurement(m).replace('"5"', '"-5"'))).toBeUndefined();
    expect(decodeMeasurement('not json')).toBeUndefined();
  });
});

describe('makeRealNodeFs', () => {
  const fs = makeRealNodeFs();

  it('measures a volume in a child process', async () => {
    const m = await fs.measure(volume, 10_000);
    expect(m).toMatchObject({ usedInodes: 6n, complete: true });
    expect(m.totalBytes).toBeGreaterThan(0n);
    expect(m.availableBytes).toBeLessThanOrEqual(m.totalBytes);
  });

  it('reports a volume that cannot be measured', async () => {
    await expectWarrenRejection(fs.measure(join(base, 'missing'), 5_000), 'Internal', 'ENOENT');
  });

  it('creates, inspects and removes a target directory', async () => {
    const target = join(base, 'pods/uid/volumes/pv/mount');
    expect(await fs.pathKind(target)).toBe('missing');
    await fs.makeDirectory(target, 0o750);
    expect(await fs.pathKind(target)).toBe('directory');
    expect(await fs.pathKind(join(volume, 'link-dir'))).toBe('other');
    await fs.removeDirectory(target);
    await fs.removeDirectory(target);
    expect(await fs.pathKind(target)).toBe('missing');
  });

  it('refuses to remove a directory that is not empty', async () => {
    await expectWarrenRejection(fs.removeDirectory(join(volume, 'a')), 'FailedPrecondition', 'not empty');
  });
});

describe('probeNode', () => {
  it('is ready when mount.nfs is installed and says where it looked otherwise', async () => {
    const sbin = join(base, 'sbin');
    await mkdir(sbin);
    expect(await probeNode([sbin])).toEqual({ ready: false, message: expect.stringContaining(sbin) });
    await writeFile(join(sbin, 'mount.nfs'), '#!/bin/sh\n');
    await chmod(join(sbin, 'mount.nfs'), 0o755);
    expect(await probeNode([join(base, 'nothing'), sbin])).toEqual({ ready: true });
  });
});
