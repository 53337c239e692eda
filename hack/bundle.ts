// Bundles Warren's sources into dist/ with esbuild, for the image and the guest: one ES module per
// entry point (the CLI and the three child process entries) plus shared chunks, so Node neither
// strips types from every .ts file nor resolves hundreds of modules at start. proto/'s descriptors
// are written as JSON into dist/proto/ (hack/proto-json.ts), so the bundle does not parse .proto
// files at start; src/shipped.ts finds them from dist/.
// `npm run demo` and the tests keep running from src/.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { nodeBundleOptions } from './bundle-options.ts';
import { writeProtoJson } from './proto-json.ts';

const repoRoot = join(import.meta.dirname, '..');
const outdir = process.argv[2] ?? join(repoRoot, 'dist');

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: repoRoot,
  entryPoints: [
    'src/cli.ts',
    'src/provisioning/share-worker-main.ts',
    'src/provisioning/share-copy-worker-main.ts',
    'src/node/usage-probe.ts',
  ],
  // Flat: a child's entry is next to the chunk that starts it (src/shipped.ts siblingEntry).
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  outdir,
  ...nodeBundleOptions,
  splitting: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
writeProtoJson(outdir);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.error(
  `[bundle] ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB in ${outdir}`,
);
