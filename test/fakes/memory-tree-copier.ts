// In-memory TreeCopier over the memory directory backend's entries: copies the entries below the
// source to the target, records each call, and can be told to fail or to wait until released.
import { failedPrecondition, notFound } from '../../src/errors.ts';
import type { CopyStats, TreeCopier } from '../../src/provisioning/tree-copy.ts';
import { quote } from '../../src/text.ts';
import type { MemoryDirectoryBackend } from './memory-directory-backend.ts';

export interface MemoryTreeCopier extends TreeCopier {
  readonly calls: Array<{ source: string; target: string }>;
  /** The next copy fails with `error` after copying half its entries (a partial copy is left). */
  failNext(error: Error): void;
  /** Copies wait until release() is called. */
  hold(): void;
  release(): void;
}

export function createMemoryTreeCopier(backend: MemoryDirectoryBackend): MemoryTreeCopier {
  const calls: MemoryTreeCopier['calls'] = [];
  const failures: Error[] = [];
  let gate: Promise<void> | undefined;
  let open: () => void = () => {};
  return {
    calls,
    failNext: (error) => void failures.push(error),
    hold() {
      gate = new Promise((r) => {
        open = r;
      });
    },
    release() {
      open();
      gate = undefined;
    },
    async copy(source, target, onBytes = () => {}) {
      calls.push({ source, target });
      if (gate) await gate;
      const top = backend.entries.get(source);
      if (!top) throw notFound(`source directory ${quote(source)} does not exist`);
      if (top.kind !== 'dir') throw failedPrecondition(`source ${quote(source)} is not a directory`);
      const below = [...backend.entries]
        .filter(([p]) => p.startsWith(`${source}/`))
        .sort(([a], [b]) => a.localeCompare(b));
      const stats: CopyStats = {
        directories: 0,
        files: 0,
        symlinks: 0,
        hardLinks: 0,
        bytes: 0,
        skipped: [],
        ownersNotKept: 0,
      };
      const error = failures.shift();
      const count = error ? Math.floor(below.length / 2) : below.length;
      for (const [path, entry] of below.slice(0, count)) {
        backend.entries.set(`${target}${path.slice(source.length)}`, { ...entry });
        if (entry.kind === 'dir') stats.directories++;
        else if (entry.kind === 'symlink') stats.symlinks++;
        else {
          stats.files++;
          stats.bytes += entry.content.length;
          onBytes(entry.content.length);
        }
      }
      if (error) throw error;
      return stats;
    },
  };
}
