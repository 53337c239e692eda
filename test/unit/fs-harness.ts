// A DirectoryBackend contract harness on a temporary directory of the local disk.
import { chmod, lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DirectoryBackend } from '../../src/provisioning/directory-backend.ts';
import type { BackendHarness } from './directory-backend-contract.ts';

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

/** A sandbox on the local disk for `backend` (which must work on real paths). */
export async function makeFsHarness(
  backend: DirectoryBackend | ((root: string) => DirectoryBackend),
  onCleanup: () => Promise<void> = async () => {},
): Promise<BackendHarness> {
  const sandbox = await mkdtemp(join(tmpdir(), 'warren-fs-backend-'));
  const root = join(sandbox, 'share');
  const outside = join(sandbox, 'outside');
  await mkdir(root);
  await mkdir(outside, { mode: 0o755 });
  await writeFile(join(outside, 'secret.txt'), 'keep me');
  return {
    backend: typeof backend === 'function' ? backend(root) : backend,
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
    cleanup: async () => {
      await onCleanup();
      await rm(sandbox, { recursive: true, force: true });
    },
  };
}
