// The relative imports of a source file (static and dynamic), resolved to absolute paths: read from
// the text, for the tests that check what imports what.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)];
  return specifiers.map((m) => resolve(dirname(file), m[1] ?? ''));
}
