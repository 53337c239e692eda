// The bundle's plugin for Node's built-ins (hack/bundle-builtins.ts), on a bundle built here and run
// in a Node process of its own: a built-in required for later use is loaded at its first use, not
// at start, and an ES import of one takes the module itself, not its ES namespace.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { nodeBundleOptions } from '../../hack/bundle-options.ts';

const dir = mkdtempSync(join(tmpdir(), 'warren-bundle-builtins-'));

/** Bundles `source` (an ES module) as hack/bundle.ts does, runs it, returns what it printed. */
async function run(source: string): Promise<unknown> {
  const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(entry, source);
  const outfile = `${entry}.out.mjs`;
  await build({
    entryPoints: [entry],
    outfile,
    ...nodeBundleOptions,
    logLevel: 'silent',
  });
  return JSON.parse(execFileSync(process.execPath, [outfile], { encoding: 'utf8' }));
}

// A CommonJS module in the bundle, as grpc-js's compression filter requires zlib.
const commonJsUser = `
const loaded = (name) => process.moduleLoadList.includes('NativeModule ' + name);
const zlib = require('zlib');
const dns = require('node:dns');
const before = { zlib: loaded('zlib'), dns: loaded('dns') };
const gzipped = zlib.gzipSync('warren');
const after = { zlib: loaded('zlib'), dns: loaded('dns') };
console.log(JSON.stringify({
  before, after,
  roundTrip: zlib.gunzipSync(gzipped).toString(),
  has: 'gzipSync' in zlib,
  keys: Object.keys(zlib).includes('createGunzip'),
  sameFunction: zlib.gzipSync === process.getBuiltinModule('node:zlib').gzipSync,
  dnsLookup: typeof dns.promises.lookup,
}));
`;

describe('built-ins loaded at first use', () => {
  it('a CommonJS require of zlib or dns loads it at the first property read, and it works as the module', async () => {
    const cjs = join(dir, 'user.cjs');
    writeFileSync(cjs, commonJsUser);
    expect(await run(`import './user.cjs';`)).toEqual({
      before: { zlib: false, dns: false },
      after: { zlib: true, dns: false },
      roundTrip: 'warren',
      has: true,
      keys: true,
      sameFunction: true,
      dnsLookup: 'function',
    });
  });

  it('any other CommonJS require of a built-in loads it at once', async () => {
    const cjs = join(dir, 'other.cjs');
    writeFileSync(
      cjs,
      `require('node:v8'); console.log(JSON.stringify(process.moduleLoadList.includes('NativeModule v8')));`,
    );
    expect(await run(`import './other.cjs';`)).toBe(true);
  });
});

describe('ES imports of built-ins', () => {
  it('take the module from process.getBuiltinModule, so node:http loads no undici', async () => {
    const printed = await run(`
import { createServer } from 'node:http';
console.log(JSON.stringify({
  createServer: typeof createServer,
  undici: process.moduleLoadList.some((m) => m.startsWith('NativeModule internal/deps/undici')),
}));
`);
    expect(printed).toEqual({ createServer: 'function', undici: false });
  });
});
