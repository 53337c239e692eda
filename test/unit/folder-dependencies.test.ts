// The folders' import rules, read from the sources themselves: imports point down only, so
// no two folders import each other, the provisioning core knows neither front door, and nothing
// in src/ imports a test fake or any other file outside src/.
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { relativeImports } from './relative-imports.ts';

const srcRoot = resolve(import.meta.dirname, '..', '..', 'src');

/** Each folder of src/ (a top-level file counts as its own unit) and what it may import. */
const allowed: Record<string, readonly string[]> = {
  'cli.ts': ['config', 'log.ts', 'claims', 'plugin.ts'],
  'plugin.ts': ['config', 'csi', 'csi-controller', 'node', 'provisioning', 'version.ts'],
  claims: ['config', 'kube', 'provisioning', 'errors.ts', 'text.ts'],
  // The Kubernetes API client: knows no Warren object.
  kube: ['errors.ts', 'version.ts'],
  'csi-controller': ['csi', 'provisioning', 'errors.ts', 'text.ts'],
  node: ['csi', 'provisioning', 'errors.ts', 'text.ts', 'shipped.ts'],
  csi: ['errors.ts', 'text.ts', 'shipped.ts'],
  config: ['provisioning', 'errors.ts', 'text.ts'],
  provisioning: ['errors.ts', 'text.ts', 'shipped.ts'],
  'log.ts': [],
  'errors.ts': [],
  'text.ts': [],
  // Where shipped files are (proto/, worker entry points), from src/ and from the bundle.
  'shipped.ts': [],
  // The version is the package's own.
  'version.ts': ['package.json'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The unit a path belongs to: its top folder under src/, a top-level file, or 'outside src/'. */
function unitOf(path: string): string {
  const rel = relative(srcRoot, path);
  if (rel === '../package.json') return 'package.json';
  if (rel.startsWith('..')) return 'outside src/';
  const [first = ''] = rel.split('/');
  return first;
}

const edges = sourceFiles(srcRoot).flatMap((file) =>
  relativeImports(file).map((target) => ({
    file: relative(srcRoot, file),
    from: unitOf(file),
    to: unitOf(target),
    target,
  })),
);
const crossing = edges.filter((e) => e.from !== e.to);

describe('folder dependencies', () => {
  it('finds the imports it judges (a rule over nothing would pass vacuously)', () => {
    expect(crossing.length).toBeGreaterThan(50);
    expect(new Set(crossing.map((e) => e.from))).toEqual(
      new Set(
        Object.keys(allowed).filter((u) => !['log.ts', 'errors.ts', 'text.ts', 'shipped.ts'].includes(u)),
      ),
    );
  });

  it('every import across folders follows the rules', () => {
    const broken = crossing
      .filter((e) => !(allowed[e.from] ?? []).includes(e.to))
      .map(
        (e) =>
          `${e.file} imports ${relative(srcRoot, e.target)} (${e.from} may import only ${(allowed[e.from] ?? []).join(', ') || 'nothing'})`,
      );
    expect(broken).toEqual([]);
  });

  it('the rules themselves have no cycle', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (unit: string, path: string[]) => {
      if (done.has(unit)) return;
      if (visiting.has(unit)) {
        cycles.push([...path, unit].join(' -> '));
        return;
      }
      visiting.add(unit);
      for (const next of allowed[unit] ?? []) visit(next, [...path, unit]);
      visiting.delete(unit);
      done.add(unit);
    };
    for (const unit of Object.keys(allowed)) visit(unit, []);
    expect(cycles).toEqual([]);
  });
});
