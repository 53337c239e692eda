import { chmod, lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsDirectoryBackend } from '../../src/provisioning/fs-directory-backend.ts';
import { type BackendHarness, describeDirectoryBackendContract } from './directory-backend-contract.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

async function listTree(sandbox: string, dir = ''): Promise<string[]> {
  const result: string[] = [];
  for (const name of await readdir(join(sandbox, dir))) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const info = await lstat(join(sandbox, path));
    if (info.isSymbolicLink()) result.push(`${path} -> ${await readlink(join(sandbox, path))}`);
    else if (info.isDirectory()) result.push(`${path}/`, ...(await listTree(sandbox, path)));
    else result.push(path);
  }
  return result.sort();
}

async function makeFsHarness(): Promise<BackendHarness> {
  const sandbox = await mkdtemp(join(tmpdir(), 'warren-fs-backend-'));
  const root = join(sandbox, 'share');
  const outside = join(sandbox, 'outside');
  await mkdir(root);
  await mkdir(outside, { mode: 0o755 });
  await writeFile(join(outside, 'secret.txt'), 'keep me');
  return {
    backend: createFsDirectoryBackend(),
    root,
    outside,
    canChown: process.getuid?.() === 0,
    mkdir: async (path, mode) => {
      await mkdir(join(sandbox, path), { recursive: true });
      if (mode !== undefined) await chmod(join(sandbox, path), mode);
    },
    writeFile: (path, content) => writeFile(join(sandbox, path), content),
    symlink: (path, target) => symlink(target, join(sandbox, path)),
    tree: () => listTree(sandbox),
    modeOf: async (path) => (await lstat(join(sandbox, path))).mode & 0o7777,
    ownerOf: async (path) => {
      const info = await lstat(join(sandbox, path));
      return { uid: info.uid, gid: info.gid };
    },
    cleanup: () => rm(sandbox, { recursive: true, force: true }),
  };
}

describeDirectoryBackendContract('fs directory backend', makeFsHarness);

describe('fs directory backend, real filesystem details', () => {
  const backend = createFsDirectoryBackend();

  it('applies the mode despite a restrictive umask', async () => {
    const h = await makeFsHarness();
    const previous = process.umask(0o077);
    try {
      await backend.ensureDirectory(h.root, 'a/b', { mode: 0o777 });
      expect(await h.modeOf('share/a')).toBe(0o755);
      expect(await h.modeOf('share/a/b')).toBe(0o777);
    } finally {
      process.umask(previous);
      await h.cleanup();
    }
  });

  it('leaves the target of a symlink inside a volume intact, file contents included', async () => {
    const h = await makeFsHarness();
    try {
      await h.mkdir('share/sibling');
      await h.writeFile('share/sibling/data', 'precious');
      await h.mkdir('share/claim');
      await h.symlink('share/claim/to-sibling', join(h.root, 'sibling'));
      await h.symlink('share/claim/to-outside', h.outside);
      expect(await backend.removeDirectory(h.root, 'claim')).toBe('removed');
      expect(await h.tree()).toEqual([
        'outside/',
        'outside/secret.txt',
        'share/',
        'share/sibling/',
        'share/sibling/data',
      ]);
    } finally {
      await h.cleanup();
    }
  });

  it('writes records atomically, leaving no temporary files', async () => {
    const h = await makeFsHarness();
    try {
      await Promise.all(Array.from({ length: 20 }, (_, n) => backend.putRecord(h.root, 'k', { n })));
      expect(await readdir(join(h.root, '.warren', 'index'))).toEqual(['k.json']);
      expect(await backend.getRecord(h.root, 'k')).toEqual({ n: expect.any(Number) });
      expect(await h.modeOf('share/.warren/index')).toBe(0o755);
    } finally {
      await h.cleanup();
    }
  });

  it('refuses a corrupt record and a record that is a symlink', async () => {
    const h = await makeFsHarness();
    try {
      await h.mkdir('share/.warren/index');
      await h.writeFile('share/.warren/index/bad.json', '{not json');
      await h.symlink('share/.warren/index/link.json', join(h.outside, 'secret.txt'));
      await expectWarrenRejection(
        backend.getRecord(h.root, 'bad'),
        'FailedPrecondition',
        'bad.json',
        'not valid JSON',
      );
      await expectWarrenRejection(backend.getRecord(h.root, 'link'), 'FailedPrecondition', 'link.json');
      await backend.deleteRecord(h.root, 'link');
      expect((await h.tree()).filter((entry) => entry.startsWith('outside'))).toEqual([
        'outside/',
        'outside/secret.txt',
      ]);
    } finally {
      await h.cleanup();
    }
  });

  it('follows a symlinked root (the configured mount point), but nothing below it', async () => {
    const h = await makeFsHarness();
    try {
      const linkedRoot = `${h.root}-link`;
      await symlink(h.root, linkedRoot);
      expect(await backend.ensureDirectory(linkedRoot, 'x', { mode: 0o700 })).toBe('created');
      expect(await h.modeOf('share/x')).toBe(0o700);
    } finally {
      await h.cleanup();
    }
  });
});
