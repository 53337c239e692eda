// The same cases against every TreeCopier, so the in-memory fake keeps the real engine's rules.
// Each harness gives a sandbox directory; paths below are relative to it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TreeCopier } from '../../src/provisioning/tree-copy.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

export interface CopierHarness {
  copier: TreeCopier;
  /** Absolute path of the sandbox. */
  root: string;
  mkdir(path: string, mode: number): Promise<void>;
  writeFile(path: string, content: string): Promise<void>;
  symlink(path: string, target: string): Promise<void>;
  /** Sorted, relative to `path`: `dir/ <mode>`, `file = <content>`, `link -> <target>`. */
  tree(path: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

const sourceTree = [
  'a/ 750',
  'a/b/ 700',
  'a/b/deep.txt = deep',
  'a/note.txt = note',
  'empty/ 755',
  'hello.txt = hello world',
  'link -> /etc/passwd',
  'relative -> a/note.txt',
];

export function describeTreeCopierContract(name: string, makeHarness: () => Promise<CopierHarness>): void {
  describe(`${name} (TreeCopier contract)`, () => {
    let h: CopierHarness;
    const at = (path: string) => `${h.root}/${path}`;
    beforeEach(async () => {
      h = await makeHarness();
      await h.mkdir('source', 0o755);
      await h.mkdir('source/a', 0o750);
      await h.mkdir('source/a/b', 0o700);
      await h.mkdir('source/empty', 0o755);
      await h.writeFile('source/hello.txt', 'hello world');
      await h.writeFile('source/a/note.txt', 'note');
      await h.writeFile('source/a/b/deep.txt', 'deep');
      await h.symlink('source/link', '/etc/passwd');
      await h.symlink('source/relative', 'a/note.txt');
      await h.mkdir('target', 0o700);
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('copies directories, files and links (never followed), and counts them', async () => {
      const heard: number[] = [];
      const stats = await h.copier.copy(at('source'), at('target'), (n) => heard.push(n));
      expect(await h.tree('target')).toEqual(sourceTree);
      expect(await h.tree('source')).toEqual(sourceTree);
      expect(stats).toEqual({
        directories: 3,
        files: 3,
        symlinks: 2,
        hardLinks: 0,
        bytes: 'hello world'.length + 'note'.length + 'deep'.length,
        fileBytes: 'hello world'.length + 'note'.length + 'deep'.length,
        linked: 0,
        skipped: [],
        ownersNotKept: expect.any(Number),
      });
      expect(heard.reduce((a, b) => a + b, 0)).toBe(stats.bytes);
    });

    it('run again over a complete copy, it converges and keeps what else is in the target', async () => {
      await h.writeFile('target/other.txt', 'not from the source');
      await h.copier.copy(at('source'), at('target'));
      await h.copier.copy(at('source'), at('target'), undefined, {});
      expect(await h.tree('target')).toEqual([...sourceTree, 'other.txt = not from the source'].sort());
    });

    it('with linkDest, links the files unchanged since that copy and copies the others', async () => {
      await h.copier.copy(at('source'), at('target'));
      await h.writeFile('source/hello.txt', 'hello again, longer');
      await h.mkdir('second', 0o700);
      const stats = await h.copier.copy(at('source'), at('second'), undefined, { linkDest: at('target') });
      expect({ files: stats.files, linked: stats.linked, bytes: stats.bytes }).toEqual({
        files: 1,
        linked: 2,
        bytes: 'hello again, longer'.length,
      });
      expect(await h.tree('second')).toEqual(await h.tree('source'));
      expect(await h.tree('target')).toEqual(sourceTree);
    });

    it('takes an options object it does not know and copies the same', async () => {
      await h.copier.copy(at('source/a'), at('target'), () => {}, { unknownOption: true });
      expect(await h.tree('target')).toEqual(['b/ 700', 'b/deep.txt = deep', 'note.txt = note']);
    });

    it('a missing source is NotFound, a file is not a directory; the target is left as it was', async () => {
      await expectWarrenRejection(h.copier.copy(at('missing'), at('target')), 'NotFound', 'does not exist');
      await expectWarrenRejection(
        h.copier.copy(at('source/hello.txt'), at('target')),
        'FailedPrecondition',
        'is not a directory',
      );
      expect(await h.tree('target')).toEqual([]);
    });
  });
}
