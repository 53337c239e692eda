// What clone and snapshot tests fill a volume with, and how they compare two trees entry by entry.
import { createHash } from 'node:crypto';
import {
  chownSync,
  closeSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** Fills a volume directory with what a copy must keep: nested directories, links of every kind, several owners, a 64 MiB sparse file. */
export function fill(dir: string, fileCount: number): void {
  for (let i = 0; i < fileCount; i++) {
    const sub = join(dir, `d${i % 10}`, `e${i % 7}`);
    if (i < 70) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}`), `file ${i}\n`.repeat(1 + (i % 5)));
  }
  writeFileSync(join(dir, 'owned-a'), 'a');
  writeFileSync(join(dir, 'owned-b'), 'b');
  chownSync(join(dir, 'owned-a'), 1001, 1001);
  chownSync(join(dir, 'owned-b'), 2002, 3003);
  chownSync(join(dir, 'd1'), 4004, 4004);
  symlinkSync('d0/e0/f0', join(dir, 'inside-link'));
  symlinkSync('/etc/passwd', join(dir, 'outside-link'));
  symlinkSync('../../..', join(dir, 'd2', 'climbing-link'));
  writeFileSync(join(dir, 'linked'), 'shared inode');
  linkSync(join(dir, 'linked'), join(dir, 'd3', 'linked-too'));
  const fd = openSync(join(dir, 'sparse'), 'w');
  writeSync(fd, Buffer.from('head'), 0, 4, 0);
  writeSync(fd, Buffer.from('tail'), 0, 4, (64 << 20) - 4);
  closeSync(fd);
  utimesSync(join(dir, 'owned-a'), new Date('2021-01-01T00:00:00Z'), new Date('2021-01-01T00:00:00Z'));
}

/**
 * Every entry: kind, mode, owner, size, content digest, link target; its mtime in nanoseconds
 * apart (compared to within a microsecond); and the hard-link groups within the tree.
 */
export function describeTree(root: string) {
  const entries: Record<string, string> = {};
  const mtimes: Record<string, bigint> = {};
  const inodes = new Map<number, string[]>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const key = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path);
      mtimes[key] = lstatSync(path, { bigint: true }).mtimeNs;
      const base = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        entries[key] = base;
        walk(path, key);
      } else if (st.isSymbolicLink()) entries[key] = `${base} -> ${readlinkSync(path)}`;
      else {
        entries[key] = `${base} ${st.size} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
        if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), key]);
      }
    }
  };
  walk(root, '');
  // Groups of names inside the tree only: a snapshot's files also have names in other snapshots.
  const groups = [...inodes.values()].filter((g) => g.length > 1);
  return { entries, mtimes, hardLinks: groups.map((g) => g.join(' = ')).sort() };
}
