// In-memory TreeCopier over the memory directory backend's entries: copies the entries below the
// source to the target, records each call, and can be told to fail or to wait until released.
// With linkDest, a file whose earlier copy has the same content becomes that very entry object
// (the fake's hard link: both paths share it).
import { failedPrecondition, notFound } from '../../src/errors.ts';
import { emptyCopyStats, type TreeCopier } from '../../src/provisioning/tree-copy.ts';
import { quote } from '../../src/text.ts';
import type { MemoryDirectoryBackend } from './memory-directory-backend.ts';

export interface MemoryTreeCopier extends TreeCopier {
  readonly calls: Array<{ source: string; target: string; linkDest?: string }>;
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
    async copy(source, target, onBytes = () => {}, options = {}) {
      calls.push({
        source,
        target,
        ...(options.linkDest === undefined ? {} : { linkDest: options.linkDest }),
      });
      if (gate) await gate;
      const top = backend.entries.get(source);
      if (!top) throw notFound(`source directory ${quote(source)} does not exist`);
      if (top.kind !== 'dir') throw failedPrecondition(`source ${quote(source)} is not a directory`);
      const below = [...backend.entries]
        .filter(([p]) => p.startsWith(`${source}/`))
        .sort(([a], [b]) => a.localeCompare(b));
      const stats = emptyCopyStats();
      const error = failures.shift();
      const count = error ? Math.floor(below.length / 2) : below.length;
      for (const [path, entry] of below.slice(0, count)) {
        const relative = path.slice(source.length);
        const earlier =
          options.linkDest === undefined ? undefined : backend.entries.get(`${options.linkDest}${relative}`);
        if (entry.kind === 'file' && earlier?.kind === 'file' && earlier.content === entry.content) {
          backend.entries.set(`${target}${relative}`, earlier);
          stats.linked++;
          stats.fileBytes += entry.content.length;
          continue;
        }
        backend.entries.set(`${target}${relative}`, { ...entry });
        if (entry.kind === 'dir') stats.directories++;
        else if (entry.kind === 'symlink') stats.symlinks++;
        else {
          stats.files++;
          stats.fileBytes += entry.content.length;
          stats.bytes += entry.content.length;
          onBytes(entry.content.length);
        }
      }
      if (error) throw error;
      return stats;
    },
  };
}
