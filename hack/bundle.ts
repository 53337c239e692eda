// Bundles Warren's sources into dist/ with esbuild, for the image and the guest: one ES module per
// entry point (the CLI and the three child process entries) plus shared chunks, so Node neither
// strips types from every .ts file nor resolves hundreds of modules at start. proto/'s descriptors
// are written as JSON into dist/proto/ (hack/proto-json.ts), so the bundle does not parse .proto
// files at start; src/shipped.ts finds them from dist/.
// `npm run demo` and the tests keep running from src/.
import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { writeProtoJson } from './proto-json.ts';

const repoRoot = join(import.meta.dirname, '..');
const outdir = process.argv[2] ?? join(repoRoot, 'dist');

// `import { createServer } from 'node:http'` in an ES module makes Node build the module's ES
// namespace, which reads every export, lazy getters included: node:http's WebSocket and
// MessageEvent then load Node's own undici (and web streams), node:crypto's webcrypto its
// crypto modules. Measured on Node 24: an ES import of node:http alone adds 13.6 MB RSS over
// process.getBuiltinModule('node:http'). So each ES import of a built-in becomes a CommonJS
// module holding process.getBuiltinModule(name); esbuild reads its named imports at use.
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const builtinsWithoutNamespace: Plugin = {
  name: 'builtins-without-namespace',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) =>
      builtins.has(args.path) && (args.kind === 'import-statement' || args.kind === 'dynamic-import')
        ? { path: args.path.replace(/^(node:)?/, 'node:'), namespace: 'builtin' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

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
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  // The CommonJS dependencies (grpc-js, pino) require Node's built-in modules.
  banner: {
    js: "import { createRequire as __warrenRequire } from 'node:module'; const require = __warrenRequire(import.meta.url);",
  },
  plugins: [builtinsWithoutNamespace],
  // V8 keeps each module's source text in the heap (functions compile lazily from it): 8.4 MB of
  // source became 4.1 MB, and warren controller's idle RSS fell from 99 to 88 MB. Identifiers
  // stay as written, so stack traces still name every function.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
writeProtoJson(outdir);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.error(
  `[bundle] ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB in ${outdir}`,
);
