// The copy engine's linkDest option on a real filesystem: unchanged files become hard links to the
// earlier copy's, changed ones are copied, the earlier tree is never written and no link in it is
// followed, and removing the earlier copy leaves the later one whole.
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyTree } from '../../src/provisioning/tree-copy.ts';

let base: string;
let source: string;
const when = new Date('2024-03-04T05:06:07.123Z');
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'warren-linkdest-'));
  source = join(base, 'source');
  mkdirSync(join(source, 'dir/sub'), { recursive: true });
  writeFileSync(join(source, 'same'), 'unchanged');
  writeFileSync(join(source, 'dir/sub/deep'), 'deep and unchanged');
  writeFileSync(join(source, 'edited'), 'version 1');
  writeFileSync(join(source, 'chmodded'), 'mode changes');
  writeFileSync(join(source, 'touched'), 'same bytes');
  writeFileSync(join(source, 'pair-a'), 'hard linked');
  linkSync(join(source, 'pair-a'), join(source, 'dir/pair-b'));
  for (const f of ['same', 'dir/sub/deep', 'edited', 'chmodded', 'touched', 'pair-a'])
    utimesSync(join(source, f), when, when);
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const ino = (path: string) => lstatSync(path).ino;

async function snapshot(name: string, linkDest?: string) {
  const target = join(base, name);
  mkdirSync(target);
  const stats = await copyTree(source, target, undefined, linkDest ? { linkDest } : {});
  return { target, stats };
}

describe('copyTree with linkDest', () => {
  it('links unchanged files to the earlier copy and copies changed ones', async () => {
    const first = await snapshot('first');
    expect(first.stats).toMatchObject({ files: 6, linked: 0, hardLinks: 1, fileBytes: 69 });
    writeFileSync(join(source, 'edited'), 'version 2!');
    utimesSync(join(source, 'edited'), when, when); // same mtime, other size
    chmodSync(join(source, 'chmodded'), 0o600);
    utimesSync(join(source, 'touched'), new Date(), new Date());
    writeFileSync(join(source, 'new'), 'brand new');
    const second = await snapshot('second', first.target);
    expect(second.stats).toMatchObject({ files: 4, linked: 3, hardLinks: 1, bytes: 10 + 12 + 10 + 9 });
    for (const f of ['same', 'dir/sub/deep'])
      expect(ino(join(second.target, f))).toBe(ino(join(first.target, f)));
    for (const f of ['edited', 'chmodded', 'touched'])
      expect(ino(join(second.target, f))).not.toBe(ino(join(first.target, f)));
    // pair-a is unchanged and linked; its second name links to it: one inode, as in the first.
    expect(ino(join(second.target, 'dir/pair-b'))).toBe(ino(join(first.target, 'pair-a')));
    expect(readFileSync(join(first.target, 'edited'), 'utf8')).toBe('version 1');
    expect(readFileSync(join(second.target, 'edited'), 'utf8')).toBe('version 2!');
    expect(lstatSync(join(first.target, 'chmodded')).mode & 0o777).toBe(0o644);
  });

  it('removing the earlier copy leaves the later one whole', async () => {
    const first = await snapshot('first');
    const second = await snapshot('second', first.target);
    expect(second.stats.linked).toBe(6);
    rmSync(first.target, { recursive: true });
    expect(readFileSync(join(second.target, 'same'), 'utf8')).toBe('unchanged');
    expect(readFileSync(join(second.target, 'dir/sub/deep'), 'utf8')).toBe('deep and unchanged');
    expect(lstatSync(join(second.target, 'same')).nlink).toBe(1);
  });

  it('never follows a symbolic link in the earlier tree', async () => {
    // An earlier tree whose `dir` is a link to a directory holding files that match the source's.
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(join(elsewhere, 'sub'), { recursive: true });
    writeFileSync(join(elsewhere, 'sub/deep'), 'deep and unchanged');
    utimesSync(join(elsewhere, 'sub/deep'), when, when);
    const earlier = join(base, 'earlier');
    mkdirSync(earlier);
    symlinkSync(elsewhere, join(earlier, 'dir'));
    symlinkSync(join(source, 'same'), join(earlier, 'same'));
    const later = await snapshot('later', earlier);
    expect(later.stats.linked).toBe(0);
    expect(ino(join(later.target, 'dir/sub/deep'))).not.toBe(ino(join(elsewhere, 'sub/deep')));
    expect(lstatSync(join(elsewhere, 'sub/deep')).nlink).toBe(1);
  });

  it('copies everything when linkDest is missing or is a link', async () => {
    const first = await snapshot('first');
    symlinkSync(first.target, join(base, 'alias'));
    expect((await snapshot('via-link', join(base, 'alias'))).stats.linked).toBe(0);
    expect((await snapshot('none', join(base, 'missing'))).stats.linked).toBe(0);
  });
});
