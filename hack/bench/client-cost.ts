// `node hack/bench/client-cost.ts`: what a Kubernetes client costs the controller's resting
// memory, Warren's own (src/kube) beside the others. Each probe below is bundled as hack/bundle.ts
// bundles Warren, makes the same one request to a bed's apiserver (a list of PVs, with the
// kubeconfig's client certificate), then rests; its VmRSS and the node binary's resident pages are
// read 8 s after start, median of 3 starts. Set beside warren controller's idle RSS in the bench,
// the rows say how much of it is the client library and how much Warren. A measurement, not a test.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from 'esbuild';
import { execa } from 'execa';
import { bedDown, bedUp } from '../bed/bed.ts';
import { nodeBundleOptions } from '../bundle-options.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

/** Reads the kubeconfig's server and client certificate (the bed writes them inline). */
const credentials = `
import { readFileSync } from 'node:fs';
const text = readFileSync(process.env.KUBECONFIG ?? '', 'utf8');
const field = (k: string) => Buffer.from(new RegExp(k + ': (\\\\S+)').exec(text)?.[1] ?? '', 'base64');
const tls = { ca: field('certificate-authority-data'), cert: field('client-certificate-data'), key: field('client-key-data') };
const server = new URL(/server: (\\S+)/.exec(text)?.[1] ?? '');
`;
const rest = 'setInterval(() => {}, 1000);';

const probes: Array<{ name: string; source: string }> = [
  { name: 'bare Node (no request)', source: rest },
  {
    name: 'node:https',
    source: `${credentials}
import https from 'node:https';
https.get({ host: server.hostname, port: server.port, path: '/api/v1/persistentvolumes', ...tls }, (r) => {
  let body = '';
  r.on('data', (c) => { body += c; });
  r.on('end', () => JSON.parse(body));
});
${rest}`,
  },
  {
    name: 'undici fetch (what client-node sends with)',
    source: `${credentials}
import { Agent, fetch } from 'undici';
const r = await fetch(new URL('/api/v1/persistentvolumes', server), { dispatcher: new Agent({ connect: tls }) });
JSON.parse(await r.text());
${rest}`,
  },
  {
    name: "Warren's own client (src/kube)",
    source: `
import { makeKubeApi } from './src/kube/api.ts';
import { loadConnection } from './src/kube/connection.ts';
await makeKubeApi(loadConnection(process.env.KUBECONFIG)).get('/api/v1/persistentvolumes');
${rest}`,
  },
  {
    name: '@kubernetes/client-node: KubeConfig, CoreV1Api',
    source: `
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
const kc = new KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG ?? '');
await kc.makeApiClient(CoreV1Api).listPersistentVolume();
${rest}`,
  },
];

function residentKb(pid: number, nodeBinary: string): { rssKb: number; binaryKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
  let binaryKb = 0;
  let inBinary = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inBinary = line.trimEnd().endsWith(` ${nodeBinary}`);
    else if (inBinary && line.startsWith('Rss:')) binaryKb += Number(line.split(/\s+/)[1]);
  }
  return { rssKb, binaryKb };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const mb = (kb: number) => (kb / 1024).toFixed(1);

const stateDir = mkdtempSync(join(tmpdir(), 'warren-client-cost-'));
const bed = await bedUp(stateDir, repoRoot);
const nodeBinary = (await execa(process.execPath, ['-p', 'require("fs").realpathSync(process.execPath)']))
  .stdout;
const rows: string[] = [
  '| probe | bundle KiB | VmRSS MB | of it, node binary pages MB |',
  '| --- | --- | --- | --- |',
];
try {
  for (const probe of probes) {
    const outfile = join(stateDir, `${probe.name.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
    const result = await build({
      stdin: { contents: probe.source, resolveDir: repoRoot, loader: 'ts', sourcefile: 'probe.ts' },
      outfile,
      ...nodeBundleOptions,
      metafile: true,
      logLevel: 'warning',
    });
    const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
    const readings: Array<{ rssKb: number; binaryKb: number }> = [];
    for (let i = 0; i < 3; i++) {
      const child = execa(process.execPath, [outfile], { env: { KUBECONFIG: bed.env.KUBECONFIG } });
      let exited = false;
      const markExited = () => {
        exited = true;
      };
      child.then(markExited, markExited);
      await sleep(8_000);
      if (child.pid === undefined || exited) throw new Error(`${probe.name} did not stay up`);
      readings.push(residentKb(child.pid, nodeBinary));
      child.kill();
      await child.catch(() => undefined);
    }
    const row = `| ${probe.name} | ${(bytes / 1024).toFixed(0)} | ${mb(median(readings.map((r) => r.rssKb)))} | ${mb(median(readings.map((r) => r.binaryKb)))} |`;
    console.error(`[client-cost] ${row}`);
    rows.push(row);
  }
} finally {
  await bedDown(stateDir);
}
console.log(rows.join('\n'));
