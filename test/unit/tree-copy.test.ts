// The copy engine on a real local filesystem: everything a clone must keep, checked by lstat.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyTree, temporaryFor } from '../../src/provisioning/tree-copy.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

const isRoot = process.getuid?.() === 0;
let base: string;
let source: string;
let target: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'warren-copy-'));
  source = join(base, 'source');
  target = join(base, 'target');
  mkdirSync(source);
  mkdirSync(target);
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const when = new Date('2024-03-04T05:06:07.000Z');
const older = new Date('2020-01-02T03:04:05.000Z');

/** Every entry below `root`: type, mode, owner, mtime, size, link target, content (files). */
function describeTree(root: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const key = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path);
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
      out[key] = {
        kind,
        mode: (st.mode & 0o7777).toString(8),
        owner: `${st.uid}:${st.gid}`,
        mtime: st.mtime.toISOString(),
        ...(kind === 'file'
          ? { size: st.size, content: readFileSync(path).toString('base64').slice(0, 40) }
          : {}),
        ...(kind === 'link' ? { to: readlinkSync(path) } : {}),
      };
      if (kind === 'dir') walk(path, key);
    }
  };
  walk(root, '');
  return out;
}

function fillSource(): void {
  mkdirSync(join(source, 'a/b/c'), { recursive: true });
  writeFileSync(join(source, 'a/b/c/deep.txt'), 'deep');
  writeFileSync(join(source, 'plain.txt'), 'hello\n');
  writeFileSync(join(source, 'exec.sh'), '#!/bin/sh\n');
  chmodSync(join(source, 'exec.sh'), 0o4755);
  writeFileSync(join(source, 'private'), 'secret');
  chmodSync(join(source, 'private'), 0o600);
  symlinkSync('plain.txt', join(source, 'rel-link'));
  symlinkSync('/etc/passwd', join(source, 'outside-link'));
  symlinkSync('../../..', join(source, 'a/b/climb'));
  symlinkSync('missing', join(source, 'dangling'));
  writeFileSync(join(source, 'first'), 'linked content');
  linkSync(join(source, 'first'), join(source, 'a/second'));
  linkSync(join(source, 'first'), join(source, 'a/b/third'));
  if (isRoot) {
    chownSync(join(source, 'plain.txt'), 1001, 1002);
    chownSync(join(source, 'a/b'), 2001, 2002);
    chownSync(join(source, 'exec.sh'), 3001, 3002);
    chmodSync(join(source, 'exec.sh'), 0o4755);
  }
  for (const p of ['plain.txt', 'exec.sh', 'private', 'first', 'a/b/c/deep.txt'])
    utimesSync(join(source, p), when, when);
  lutimesSync(join(source, 'rel-link'), older, older);
  for (const p of ['a/b/c', 'a/b', 'a']) utimesSync(join(source, p), older, older);
  chmodSync(source, 0o751);
  utimesSync(source, older, older);
}

describe('copyTree', () => {
  it('keeps contents, modes, owners, timestamps and links (never followed)', async () => {
    fillSource();
    const stats = await copyTree(source, target);
    expect(describeTree(target)).toStrictEqual(describeTree(source));
    expect((lstatSync(target).mode & 0o7777).toString(8)).toBe('751');
    expect(lstatSync(target).mtime).toStrictEqual(older);
    expect(stats).toMatchObject({ files: 5, symlinks: 4, hardLinks: 2, directories: 3, skipped: [] });
    expect(stats.ownersNotKept).toBe(0);
  });

  it('keeps hard links as hard links', async () => {
    fillSource();
    await copyTree(source, target);
    const inodes = ['first', 'a/second', 'a/b/third'].map((p) => lstatSync(join(target, p)).ino);
    expect(new Set(inodes).size).toBe(1);
    expect(lstatSync(join(target, 'first')).nlink).toBe(3);
    expect(inodes[0]).not.toBe(lstatSync(join(source, 'first')).ino);
  });

  it('keeps a sparse file sparse, byte for byte', async () => {
    const path = join(source, 'sparse');
    const fd = openSync(path, 'w');
    writeSync(fd, Buffer.from('start'), 0, 5, 0);
    writeSync(fd, Buffer.from('middle'), 0, 6, 16 << 20);
    writeSync(fd, Buffer.from('end'), 0, 3, (32 << 20) - 3);
    closeSync(fd);
    const stats = await copyTree(source, target);
    const copied = lstatSync(join(target, 'sparse'));
    expect(copied.size).toBe(32 << 20);
    expect(copied.blocks * 512).toBeLessThan(1 << 20);
    expect(stats.bytes).toBeLessThan(3 * 4096 + 1);
    expect(readFileSync(join(target, 'sparse')).equals(readFileSync(path))).toBe(true);
  });

  it('a file ending in a hole keeps its size', async () => {
    const fd = openSync(join(source, 'tail-hole'), 'w');
    writeSync(fd, Buffer.from('x'), 0, 1, 0);
    closeSync(fd);
    execFileSync('truncate', ['-s', '10M', join(source, 'tail-hole')]);
    await copyTree(source, target);
    expect(lstatSync(join(target, 'tail-hole')).size).toBe(10 << 20);
  });

  it('skips a FIFO and says so', async () => {
    execFileSync('mkfifo', [join(source, 'pipe')]);
    writeFileSync(join(source, 'kept'), 'k');
    const stats = await copyTree(source, target);
    expect(stats.skipped).toStrictEqual(['pipe']);
    expect(readdirSync(target)).toStrictEqual(['kept']);
  });

  it('run again over a copy cut off part-way, it converges to the source and leaves no temporary', async () => {
    fillSource();
    // What a copy cut off part-way leaves: some entries, one of them stale.
    mkdirSync(join(target, 'a'));
    writeFileSync(join(target, 'plain.txt'), 'half');
    writeFileSync(temporaryFor(join(target, 'exec.sh')), 'cut off mid-write');
    writeFileSync(join(target, 'first'), 'stale');
    await copyTree(source, target);
    expect(describeTree(target)).toStrictEqual(describeTree(source));
    expect(new Set(['first', 'a/second'].map((p) => lstatSync(join(target, p)).ino)).size).toBe(1);
  });

  it('reports progress in bytes written', async () => {
    writeFileSync(join(source, 'one'), Buffer.alloc(10_000, 1));
    writeFileSync(join(source, 'two'), Buffer.alloc(5_000, 2));
    let seen = 0;
    const stats = await copyTree(source, target, (n) => {
      seen += n;
    });
    expect({ seen, bytes: stats.bytes }).toStrictEqual({ seen: 15_000, bytes: 15_000 });
  });

  it('a missing source is NotFound, a file is not a directory', async () => {
    await expectWarrenRejection(copyTree(join(base, 'nope'), target), 'NotFound', 'does not exist');
    writeFileSync(join(base, 'file'), 'x');
    await expectWarrenRejection(
      copyTree(join(base, 'file'), target),
      'FailedPrecondition',
      'is not a directory',
    );
  });

  it('an entry in the way that is not a directory stops the copy with a clear error', async () => {
    mkdirSync(join(source, 'd'));
    writeFileSync(join(target, 'd'), 'in the way');
    await expectWarrenRejection(copyTree(source, target), 'FailedPrecondition', 'is not a directory');
  });

  it.skipIf(!isRoot)(
    'a target that fills up mid-copy stops with FailedPrecondition naming a full share',
    async () => {
      // A real 1 MiB tmpfs as the target: the kernel answers ENOSPC part-way through the copy.
      const tiny = join(base, 'tiny');
      mkdirSync(tiny);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', tiny]);
      try {
        for (let i = 0; i < 8; i++) writeFileSync(join(source, `big-${i}`), Buffer.alloc(256 * 1024, i + 1));
        await expectWarrenRejection(
          copyTree(source, tiny),
          'FailedPrecondition',
          'ENOSPC',
          'the share is full',
        );
      } finally {
        execFileSync('umount', [tiny]);
      }
    },
  );
});
