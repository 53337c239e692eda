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
  const found = findProtoFile(file, moduleUrl);
  if (found) return found;
  throw new Error(`proto/${file} is not in ${dirname(fileURLToPath(moduleUrl))} or any directory above it`);
}

/** protoFile, or undefined when there is none (the bundle's descriptors, absent from src/). */
export function findProtoFile(file: string, moduleUrl: string): string | undefined {
  for (let dir = dirname(fileURLToPath(moduleUrl)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'proto', file);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
