// A process killed (SIGKILL) while it takes a snapshot on a real directory: no half snapshot looks
// complete, and taking it again throws the partial copy away and makes the whole snapshot.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createFsDirectoryBackend } from '../../src/provisioning/fs-directory-backend.ts';
import { snapshotEntry } from '../../src/provisioning/snapshot-area.ts';
import { findSnapshot, listSnapshots, takeSnapshot } from '../../src/provisioning/snapshots.ts';
import { createFsTreeCopier } from '../../src/provisioning/tree-copy.ts';
import { encodeVolumeId } from '../../src/provisioning/volume-id.ts';

let root: string;
const files = 3000;
const at = (name: string) => ({ server: '127.0.0.1', share: '/export', name });
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'warren-snapshot-crash-'));
  for (let i = 0; i < files; i++) {
    const dir = join(root, 'vol', `d${i % 30}`);
    if (i < 30) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}`), `file ${i}\n`.repeat(200));
  }
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Starts the child and SIGKILLs it as soon as it says the copy has begun. */
function killMidCopy(name: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      join(import.meta.dirname, 'snapshot-child.ts'),
      root,
      name,
      'vol',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let said = '';
  return new Promise((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('copying')) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve(said));
  });
}

it('a snapshot killed mid-copy is not listed; taken again, it is whole and nothing partial is left', async () => {
  const said = await killMidCopy('killed');
  expect(said).toBe('copying\n');
  const area = join(root, '.warren/snapshots');
  // What the killed process left: a partial entry holding part of the copy, never a complete one.
  expect(readdirSync(area)).toEqual([snapshotEntry(at('killed'), 'part')]);
  const copied = readdirSync(join(area, snapshotEntry(at('killed'), 'part')), { recursive: true }).length;
  expect(copied).toBeLessThan(files + 30);
  const store = {
    shares: [{ server: '127.0.0.1', share: '/export', localDir: root }],
    backend: createFsDirectoryBackend(),
  };
  expect(await listSnapshots(store)).toEqual([]);
  expect(await findSnapshot(store, 's1#127.0.0.1#/export#killed')).toBeUndefined();

  const location = { server: '127.0.0.1', share: '/export', subDir: 'vol' };
  const info = await takeSnapshot(
    { store, copier: createFsTreeCopier() },
    { name: 'killed', source: { volumeId: encodeVolumeId(location, 'delete'), location } },
  );
  expect(info).toMatchObject({ files, linkedFiles: 0, readyToUse: true });
  expect(readdirSync(area)).toEqual([snapshotEntry(at('killed'), 'snap')]);
  const tree = join(area, snapshotEntry(at('killed'), 'snap'));
  expect(readdirSync(tree, { recursive: true })).toHaveLength(files + 30);
  expect(readFileSync(join(tree, 'd7/f2977'), 'utf8')).toBe('file 2977\n'.repeat(200));
  expect(readdirSync(tree, { recursive: true }).filter((n) => String(n).includes('.warren-copy-'))).toEqual(
    [],
  );
}, 60_000);
