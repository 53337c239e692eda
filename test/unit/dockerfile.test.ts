// The Dockerfile's build stage runs hack/bundle.ts: it must copy in every file the bundler imports
// (followed through hack/ from bundle.ts), the sources it bundles (src/) and proto/, from which it
// writes the CSI descriptors. No container engine here, so the check is on the file itself.
import { readFileSync } from 'node:fs';
import { join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { relativeImports } from './relative-imports.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

/** The sources of the COPY lines of the stage named `stage` (not those copying from another stage). */
function copiedInStage(dockerfile: string, stage: string): string[] {
  const sources: string[] = [];
  let inStage = false;
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) inStage = from[1]?.toLowerCase() === stage;
    const copy = /^COPY\s+(.*)$/i.exec(line);
    if (!inStage || !copy || /--from=/.test(copy[1] ?? '')) continue;
    const words = (copy[1] ?? '').split(/\s+/).filter((w) => !w.startsWith('--'));
    sources.push(...words.slice(0, -1).map((w) => normalize(w).replace(/\/$/, '')));
  }
  return sources;
}

/** Repository-relative paths of the local modules `entry` imports, itself included, transitively. */
function localImports(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const target of relativeImports(join(repoRoot, file))) visit(relative(repoRoot, target));
  };
  visit(entry);
  return [...seen].sort();
}

const covered = (path: string, sources: string[]) =>
  sources.some((s) => path === s || path.startsWith(`${s}/`));

describe('Dockerfile build stage', () => {
  const sources = copiedInStage(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'), 'build');

  it('copies in what hack/bundle.ts imports, the sources and proto/', () => {
    const needed = [...localImports('hack/bundle.ts'), 'src', 'proto', 'package.json', 'package-lock.json'];
    expect(needed.filter((p) => !covered(p, sources))).toEqual([]);
  });

  it('reads COPY lines per stage', () => {
    const text = [
      'FROM node AS build',
      'COPY a b ./',
      'COPY --chown=1:1 c ./c',
      'FROM node',
      'COPY d ./',
      'COPY --from=build /app/dist ./dist',
    ].join('\n');
    expect(copiedInStage(text, 'build')).toEqual(['a', 'b', 'c']);
  });
});
