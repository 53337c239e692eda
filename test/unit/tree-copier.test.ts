// The TreeCopier contract against the copy engine on the local disk, the same engine through a
// share's copy worker process, and the in-memory fake the reconciler tests use.
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { DirectoryBackend } from '../../src/provisioning/directory-backend.ts';
import type { ShareCopier } from '../../src/provisioning/share-copies.ts';
import { createShareWorkerBackend } from '../../src/provisioning/share-worker-backend.ts';
import { createFsTreeCopier, type TreeCopier } from '../../src/provisioning/tree-copy.ts';
import { createMemoryDirectoryBackend } from '../fakes/memory-directory-backend.ts';
import { createMemoryTreeCopier } from '../fakes/memory-tree-copier.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';
import { type CopierHarness, describeTreeCopierContract } from './tree-copier-contract.ts';

// The worker harness starts a real Node process per case, which takes seconds on a busy machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

async function listTree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(join(dir, rel))) {
    const path = rel ? `${rel}/${name}` : name;
    const info = await lstat(join(dir, path));
    if (info.isSymbolicLink()) out.push(`${path} -> ${await readlink(join(dir, path))}`);
    else if (info.isDirectory())
      out.push(`${path}/ ${(info.mode & 0o7777).toString(8)}`, ...(await listTree(dir, path)));
    else out.push(`${path} = ${await readFile(join(dir, path), 'utf8')}`);
  }
  return out.sort();
}

async function diskHarness(
  makeCopier: (root: string) => TreeCopier,
  onCleanup: () => Promise<void> = async () => {},
): Promise<CopierHarness> {
  const root = await mkdtemp(join(tmpdir(), 'warren-copier-'));
  return {
    copier: makeCopier(root),
    root,
    mkdir: (path, mode) => mkdir(join(root, path), { mode }),
    writeFile: (path, content) => writeFile(join(root, path), content),
    symlink: (path, target) => symlink(target, join(root, path)),
    tree: (path) => listTree(join(root, path)),
    cleanup: async () => {
      await onCleanup();
      await rm(root, { recursive: true, force: true });
    },
  };
}

describeTreeCopierContract('copy engine', () => diskHarness(() => createFsTreeCopier()));

describeTreeCopierContract('copy engine in a copy worker', async () => {
  let close: () => Promise<void> = async () => {};
  return diskHarness(
    (root) => {
      const io = createShareWorkerBackend({
        shares: [{ server: 'nfs.example', share: '/export', localDir: root }],
      });
      close = io.close;
      return io.copier;
    },
    () => close(),
  );
});

describeTreeCopierContract('memory tree copier', async () => {
  const root = '/sandbox';
  const backend = createMemoryDirectoryBackend([root]);
  const at = (path: string) => `${root}/${path}`;
  return {
    copier: createMemoryTreeCopier(backend),
    root,
    mkdir: async (path, mode) => backend.plant(at(path), { kind: 'dir', mode }),
    writeFile: async (path, content) => backend.plant(at(path), { kind: 'file', content }),
    symlink: async (path, target) => backend.plant(at(path), { kind: 'symlink', target }),
    tree: async (path) =>
      [...backend.entries]
        .filter(([p]) => p.startsWith(`${at(path)}/`))
        .map(([p, e]) => {
          const rel = p.slice(at(path).length + 1);
          if (e.kind === 'dir') return `${rel}/ ${e.mode.toString(8)}`;
          if (e.kind === 'symlink') return `${rel} -> ${e.target}`;
          return `${rel} = ${e.content}`;
        })
        .sort(),
    cleanup: async () => {},
  };
});

/** Pids of the live copy worker processes whose command line names `server`. */
async function copyWorkerPids(server: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    const state = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    if (cmdline.includes('share-copy-worker-main') && cmdline.includes(server) && !/\) Z /.test(state))
      pids.push(Number(name));
  }
  return pids;
}

describe('copy worker processes', () => {
  it('bytes reach the caller; a worker that stops making progress is killed, its copy Unavailable while the share answers its other calls, the next copy gets a new one', async () => {
    const server = `nfs-${process.pid}-${Date.now()}`;
    let copier: ShareCopier | undefined;
    let backend: DirectoryBackend | undefined;
    let close: () => Promise<void> = async () => {};
    const h = await diskHarness(
      (root) => {
        const io = createShareWorkerBackend({
          shares: [{ server, share: '/export', localDir: root }],
          copyTimings: { suspectAfterMs: 500, stallDeadlineMs: 3_000, idleMs: 600_000 },
        });
        close = io.close;
        copier = io.copier;
        backend = io.backend;
        return io.copier;
      },
      () => close(),
    );
    try {
      if (!copier) throw new Error('no copier');
      await h.mkdir('source', 0o755);
      await h.writeFile('source/data', 'x'.repeat(3 * 1024 * 1024 + 5));
      for (const t of ['t1', 't2', 't3']) await h.mkdir(t, 0o755);
      let heard = 0;
      const first = await copier.copy(`${h.root}/source`, `${h.root}/t1`, (n) => {
        heard += n;
      });
      expect([first.bytes, heard]).toEqual([3 * 1024 * 1024 + 5, 3 * 1024 * 1024 + 5]);
      const [pid, ...more] = await copyWorkerPids(server);
      expect(more).toEqual([]);
      // A stopped worker answers nothing, like one whose every call waits on a frozen server.
      process.kill(pid as number, 'SIGSTOP');
      const stuck = expectWarrenRejection(
        copier.copy(`${h.root}/source`, `${h.root}/t2`),
        'Unavailable',
        `the copy on share ${server}:/export stopped: no progress for 3 s`,
      );
      // Meanwhile the share's own worker answers its ordinary calls: the copy holds none of them.
      expect(await backend?.exists(h.root, 'source')).toBe(true);
      await backend?.ensureDirectory(h.root, 'during-the-copy', { mode: 0o755 });
      await stuck;
      await vi.waitFor(async () => expect(await copyWorkerPids(server)).toEqual([]), { timeout: 5_000 });
      const third = await copier.copy(`${h.root}/source`, `${h.root}/t3`);
      expect(third.bytes).toBe(3 * 1024 * 1024 + 5);
      expect(await h.tree('t3')).toEqual(await h.tree('source'));
      const [again] = await copyWorkerPids(server);
      expect(again).not.toBe(pid);
    } finally {
      await h.cleanup();
    }
  });
});
