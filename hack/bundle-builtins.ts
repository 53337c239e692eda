// hack/bundle.ts's esbuild plugin for Node's built-in modules: how the bundle loads them, so that a
// process loads no more of Node than it uses.
import { builtinModules } from 'node:module';
import type { Plugin } from 'esbuild';

// `import { createServer } from 'node:http'` in an ES module makes Node build the module's ES
// namespace, which reads every export, lazy getters included: node:http's WebSocket and
// MessageEvent then load Node's own undici (and web streams), node:crypto's webcrypto its
// crypto modules. Measured on Node 24: an ES import of node:http alone adds 13.6 MB RSS over
// process.getBuiltinModule('node:http'). So each ES import of a built-in becomes a CommonJS
// module holding process.getBuiltinModule(name); esbuild reads its named imports at use.
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

// Some built-ins are required by a dependency at load but used only on paths Warren seldom or
// never takes (grpc-js's compression and DNS resolver, undici's decompression): each CommonJS
// require of one becomes a stand-in that loads the module at the first read of a property.
// Measured on Node 24, a bare process with http2 and tls loaded: zlib adds 1.0 MB RSS, dns 0.6 MB.
const loadedOnFirstUse = new Set(['zlib', 'dns']);
const bareName = (path: string) => path.replace(/^node:/, '');
export const builtinsWithoutNamespace: Plugin = {
  name: 'builtins-without-namespace',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => {
      if (!builtins.has(args.path)) return undefined;
      const path = `node:${bareName(args.path)}`;
      if (args.kind === 'import-statement' || args.kind === 'dynamic-import')
        return { path, namespace: 'builtin' };
      if (args.kind === 'require-call' && loadedOnFirstUse.has(bareName(args.path)))
        return { path, namespace: 'builtin-on-first-use' };
      return undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
    b.onLoad({ filter: /.*/, namespace: 'builtin-on-first-use' }, (args) => ({
      contents: [
        'let loaded;',
        `const real = () => (loaded ??= process.getBuiltinModule(${JSON.stringify(args.path)}));`,
        'module.exports = new Proxy({}, {',
        '  get: (_, key) => real()[key],',
        '  has: (_, key) => key in real(),',
        '  ownKeys: () => Reflect.ownKeys(real()),',
        '  getOwnPropertyDescriptor: (_, key) => {',
        '    const d = Reflect.getOwnPropertyDescriptor(real(), key);',
        '    return d && { ...d, configurable: true };',
        '  },',
        '});',
      ].join('\n'),
      loader: 'js',
    }));
  },
};
