// Files that ship beside the code, found the same way from src/ (run as TypeScript) and from the
// bundle in dist/ (hack/bundle.ts): worker entry points and proto/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A process entry point next to the calling module: `<name>.ts` in src/, `<name>.js` in the bundle. */
export function siblingEntry(name: string, moduleUrl: string): URL {
  return new URL(`./${name}${moduleUrl.endsWith('.ts') ? '.ts' : '.js'}`, moduleUrl);
}

/** proto/<file>, looked for from the calling module's directory upwards (src/csi/ and dist/ alike). */
export function protoFile(file: string, moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'proto', file);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`proto/${file} is not in ${start} or any directory above it`);
  }
}
