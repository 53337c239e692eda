import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unavailable } from '../../src/errors.ts';
import { createMemoryDirectoryBackend } from '../fakes/memory-directory-backend.ts';
import { type BackendHarness, describeDirectoryBackendContract } from './directory-backend-contract.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

let sandboxes = 0;

async function makeMemoryHarness(): Promise<BackendHarness> {
  const sandbox = `/sandbox-${++sandboxes}`;
  const root = `${sandbox}/share`;
  const outside = `${sandbox}/outside`;
  const backend = createMemoryDirectoryBackend([root]);
  backend.plant(outside, { kind: 'dir', mode: 0o755 });
  backend.plant(`${outside}/secret.txt`, { kind: 'file', content: 'keep me' });
  const at = (path: string) => posix.join(sandbox, path);
  return {
    backend,
    root,
    outside,
    canChown: true,
    mkdir: async (path, mode = 0o755) => {
      const segments = path.split('/');
      for (let i = 1; i <= segments.length; i++) {
        const dir = at(segments.slice(0, i).join('/'));
        if (!backend.entries.has(dir) || i === segments.length) backend.plant(dir, { kind: 'dir', mode });
      }
    },
    writeFile: async (path, content) => backend.plant(at(path), { kind: 'file', content }),
    symlink: async (path, target) => backend.plant(at(path), { kind: 'symlink', target }),
    tree: async () =>
      [...backend.entries]
        .filter(([path]) => path.startsWith(`${sandbox}/`))
        .map(([path, entry]) => {
          const relative = path.slice(sandbox.length + 1);
          if (entry.kind === 'dir') return `${relative}/`;
          return entry.kind === 'symlink' ? `${relative} -> ${entry.target}` : relative;
        })
        .sort(),
    modeOf: async (path) => {
      const entry = backend.entries.get(at(path));
      return entry?.kind === 'dir' ? entry.mode : -1;
    },
    ownerOf: async (path) => {
      const entry = backend.entries.get(at(path));
      return entry?.kind === 'dir' ? { uid: entry.uid, gid: entry.gid } : {};
    },
    cleanup: async () => undefined,
  };
}

describeDirectoryBackendContract('memory directory backend', makeMemoryHarness);

describe('memory directory backend, test hooks', () => {
  it('records every call with its arguments, rejected ones included', async () => {
    const backend = createMemoryDirectoryBackend(['/share']);
    await backend.ensureDirectory('/share', 'a', { mode: 0o700, uid: 1 });
    await backend.exists('/share', 'a');
    await expectWarrenRejection(backend.removeDirectory('/share', '..'), 'InvalidArgument');
    await backend.putRecord('/share', 'k', { x: 1 });
    expect(backend.calls).toEqual([
      { op: 'ensureDirectory', args: ['/share', 'a', { mode: 0o700, uid: 1 }] },
      { op: 'exists', args: ['/share', 'a'] },
      { op: 'removeDirectory', args: ['/share', '..'] },
      { op: 'putRecord', args: ['/share', 'k', { x: 1 }] },
    ]);
  });

  it('throws injected failures once, in order, and then behaves normally', async () => {
    const backend = createMemoryDirectoryBackend(['/share']);
    backend.failNext('ensureDirectory', unavailable('server went away'));
    await expectWarrenRejection(
      backend.ensureDirectory('/share', 'a', { mode: 0o700 }),
      'Unavailable',
      'went away',
    );
    expect(await backend.exists('/share', 'a')).toBe(false);
    expect(await backend.ensureDirectory('/share', 'a', { mode: 0o700 })).toBe('created');
  });

  it('keeps stored records independent of the caller’s objects', async () => {
    const backend = createMemoryDirectoryBackend(['/share']);
    const record = { subDir: 'a' };
    await backend.putRecord('/share', 'k', record);
    record.subDir = 'changed';
    expect(await backend.getRecord('/share', 'k')).toEqual({ subDir: 'a' });
  });

  it('treats a root that was never mounted as unavailable', async () => {
    const backend = createMemoryDirectoryBackend();
    await expectWarrenRejection(backend.exists('/share', 'a'), 'Unavailable', '"/share"');
    backend.mountRoot('/share');
    expect(await backend.exists('/share', 'a')).toBe(false);
  });
});
