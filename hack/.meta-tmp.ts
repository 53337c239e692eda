import { build } from 'esbuild';
import { nodeBundleOptions } from './bundle-options.ts';

const pure = {
  name: 'pure',
  setup(b: any) {
    b.onResolve({ filter: /.*/ }, async (args: any) => {
      if (args.pluginData === 'pure') return undefined;
      if (!args.importer.includes('client-node') && !args.path.includes('client-node')) return undefined;
      const r = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'pure',
      });
      if (r.errors.length || !r.path.includes('client-node/dist/gen')) return undefined;
      return { path: r.path, sideEffects: false };
    });
  },
};
const only = {
  name: 'only',
  setup(b: any) {
    b.onLoad({ filter: /client-node\/dist\/gen\/index\.js$/ }, async (args: any) => {
      const fs = await import('node:fs');
      let text = fs.readFileSync(args.path, 'utf8');
      text = text.replace(
        /export \{ ObjectAdmissionregistrationApi[^}]*\}/,
        'export { ObjectApisApi as ApisApi, ObjectAppsV1Api as AppsV1Api, ObjectCoordinationV1Api as CoordinationV1Api, ObjectCoreV1Api as CoreV1Api, ObjectCustomObjectsApi as CustomObjectsApi, ObjectStorageV1Api as StorageV1Api }',
      );
      return { contents: text, loader: 'js', resolveDir: (await import('node:path')).dirname(args.path) };
    });
  },
};
const opts: any = {
  ...nodeBundleOptions,
  plugins: [...nodeBundleOptions.plugins, ...(process.argv[2] ? [pure, only] : [])],
};
const r = await build({
  absWorkingDir: '/work/main',
  entryPoints: ['src/cli.ts'],
  outdir: process.argv[2] ? '/tmp/metaout-pure' : '/tmp/metaout',
  ...opts,
  metafile: true,
  logLevel: 'warning',
});
const out = Object.values(r.metafile.outputs)[0];
const by: Record<string, number> = {};
for (const [path, v] of Object.entries(out.inputs) as any) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)/.exec(path);
  let key = m ? m[1] : 'src';
  if (m && m[1] === '@kubernetes/client-node')
    key +=
      '/' +
      m[2]
        .split('/')
        .slice(0, 3)
        .join('/')
        .replace(/\/[^/]*\.js$/, '');
  by[key] = (by[key] ?? 0) + v.bytesInOutput;
}
console.log('total', (out.bytes / 1024).toFixed(0));
for (const [k, v] of Object.entries(by)
  .sort((a, b) => b[1] - a[1])
  .slice(0, 8))
  console.log((v / 1024).toFixed(0).padStart(6), k);
