import { readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsDirectoryBackend } from '../../src/provisioning/fs-directory-backend.ts';
import { describeDirectoryBackendContract } from './directory-backend-contract.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';
import { makeFsHarness } from './fs-harness.ts';

describeDirectoryBackendContract('fs directory backend', () => makeFsHarness(createFsDirectoryBackend()));

describe('fs directory backend, real filesystem details', () => {
  const backend = createFsDirectoryBackend();

  it('applies the mode despite a restrictive umask', async () => {
    const h = await makeFsHarness(backend);
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
    const h = await makeFsHarness(backend);
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
    const h = await makeFsHarness(backend);
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
    const h = await makeFsHarness(backend);
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
    const h = await makeFsHarness(backend);
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
