// `npm run bench`: N claims through each contender on one local bed, side by side: the floor (N
// pre-bound PV+PVC pairs that kube-controller-manager binds alone), `warren controller`, and
// external-provisioner (at its defaults, then tuned) driving `warren node --controller`. Prints a
// table, writes it with a plot of Bound claims over time to test-results/. A measurement, not a
// test: nothing is asserted. The contenders run one after another on a 2-core machine shared
// with the bed, so only the ratios to the floor of the same run carry over.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, StorageV1Api } from '@kubernetes/client-node';
import { execa } from 'execa';
import { bedDown, bedUp } from './bed/bed.ts';
import { startController } from './bed/controller.ts';
import { measureAtRest } from './bench/at-rest.ts';
import { type BenchConfig, readBenchConfig } from './bench/config.ts';
import { deployedNodeOptions } from './bench/image-env.ts';
import { lineChart } from './bench/plot.ts';
import { type ContenderResult, table, writesTable } from './bench/report.ts';
import { childrenOf } from './bench/rss.ts';
import { type Provisioner, runFloor, runProvisioner } from './bench/run.ts';
import { startExternalProvisioner, startNodePlugin } from './bench/sidecar.ts';

const repoRoot = join(import.meta.dirname, '..');
const config: BenchConfig = readBenchConfig(process.env);
const outDir = join(repoRoot, 'test-results');
mkdirSync(outDir, { recursive: true });

const tools = Object.fromEntries(
  (await execa('bash', [join(repoRoot, 'hack/tools.sh'), 'paths'])).stdout
    .split('\n')
    .map((line) => line.split('=', 2) as [string, string]),
);
if (config.runs.some((r) => r.startsWith('sidecar')))
  await execa('bash', [join(repoRoot, 'hack/tools.sh'), 'external-provisioner'], { stdio: 'inherit' });

// What the image runs: the bundle (hack/bundle.ts) unless WARREN_BENCH_BUNDLE=false.
const cli = config.bundle ? join(repoRoot, 'dist', 'cli.js') : undefined;
if (config.bundle) await execa(process.execPath, [join(repoRoot, 'hack/bundle.ts')], { stdio: 'inherit' });

const stateDir = mkdtempSync(join(tmpdir(), 'warren-bench-'));
const logDir = join(stateDir, 'logs');
mkdirSync(logDir);
const bed = await bedUp(stateDir, repoRoot);
const kc = new KubeConfig();
kc.loadFromFile(bed.env.KUBECONFIG);
const api = { kc, core: kc.makeApiClient(CoreV1Api), storage: kc.makeApiClient(StorageV1Api) };
const runOpts = {
  claims: config.claims,
  concurrency: config.concurrency,
  ...(config.rate ? { rate: config.rate } : {}),
  backlog: config.backlog,
  server: bed.env.WARREN_NFS_SERVER,
  share: bed.env.WARREN_NFS_SHARE,
};
console.error(`[bench] ${config.claims} claims; runs: ${config.runs.join(', ')}; logs in ${logDir}`);

const warren: Provisioner = {
  name: 'warren controller',
  provisionerName: 'nfs.warren.dev',
  async start() {
    const controller = await startController({
      bed: bed.env,
      logFile: join(logDir, 'warren-controller.log'),
      args: [`--workers=${config.workers}`, '--log-level=warn', '--resync-period=5m'],
      // Node's options as deploy/ sets them, and the profiler's when asked for.
      env: {
        NODE_OPTIONS: [
          deployedNodeOptions(repoRoot, 'controller'),
          ...(config.profileDir ? [profileFlags(config.profileDir)] : []),
        ]
          .filter(Boolean)
          .join(' '),
      },
      ...(cli ? { cli } : {}),
    });
    await controller.ready();
    const pid = controller.child.pid;
    if (pid === undefined) throw new Error('bench: warren controller has no pid');
    // Its share worker (one process per --share, started by the first share probe) counts too.
    for (let i = 0; i < 100 && childrenOf(pid).length === 0; i++) await sleep(100);
    const workers = childrenOf(pid).map((child) => ({ name: 'share worker', pid: child }));
    return { processes: [{ name: 'controller', pid }, ...workers], stop: () => controller.stop() };
  },
};

const sidecar = (name: string, args: string[]): Provisioner => ({
  name,
  provisionerName: 'sidecar.warren.dev',
  async start() {
    const id = name.replace(/[^a-z0-9]+/g, '-');
    const socket = join(stateDir, `${id}.sock`);
    const { plugin } = await startNodePlugin({
      bed: bed.env,
      socket,
      driverName: 'sidecar.warren.dev',
      controller: true,
      logFile: join(logDir, `${id}-node.log`),
      ...(cli ? { cli } : {}),
    });
    const provisioner = await startExternalProvisioner({
      binary: tools.EXTERNAL_PROVISIONER_BIN as string,
      bed: bed.env,
      socket,
      args,
      logFile: join(logDir, `${id}-external-provisioner.log`),
    }).catch(async (err) => {
      await plugin.stop();
      throw err;
    });
    return {
      processes: [
        { name: 'external-provisioner', pid: provisioner.pid },
        { name: 'warren node', pid: plugin.pid },
      ],
      stop: async () => {
        await provisioner.stop();
        await plugin.stop();
      },
    };
  },
});

const contenders: Record<string, Provisioner> = {
  warren,
  sidecar: sidecar('external-provisioner defaults', []),
  'sidecar-tuned': sidecar('external-provisioner qps 200', ['--kube-api-qps=200', '--kube-api-burst=400']),
};

function profileFlags(dir: string): string {
  return `--cpu-prof --cpu-prof-dir=${dir} --heap-prof --heap-prof-dir=${dir}`;
}

try {
  const results: ContenderResult[] = [];
  const rss: Array<{ process: string; samples: Array<[number, number]> }> = [];
  for (const run of config.runs) {
    console.error(`[bench] ${run}: ${config.claims} claims`);
    if (run === 'floor') {
      results.push(await runFloor(api, runOpts));
    } else {
      const contender = contenders[run];
      if (!contender) throw new Error(`bench: unknown run ${run}`);
      const result = await runProvisioner(api, runOpts, contender);
      rss.push(...result.rss);
      results.push(result);
    }
    const last = results.at(-1);
    if (last) console.error(`[bench] ${run}: all Bound in ${(last.boundMs / 1000).toFixed(1)} s`);
  }
  const atRest = config.atRest
    ? await measureAtRest(bed.env, stateDir, logDir, cli, deployedNodeOptions(repoRoot, 'node'))
    : undefined;

  const base = join(
    outDir,
    `bench-${config.claims}${config.rate ? `-at-${config.rate}-per-s` : ''}${config.backlog ? '-backlog' : ''}`,
  );
  const text = [
    `${config.bundle ? 'bundle (dist/cli.js)' : 'sources (src/cli.ts)'}; ${config.claims} claims${config.rate ? ` created at ${config.rate}/s` : ' created at once'}${config.backlog ? ' before each provisioner started (its clock starts when it is started)' : ''}, ${config.concurrency} client requests in flight, warren controller --workers=${config.workers};`,
    'one bed on a 2-core machine shared with everything: compare the ratios, not the seconds.',
    '',
    table(results),
    '',
    writesTable(results),
    '',
    writesTable(results, 'release'),
    ...(atRest ? ['', atRest.text] : []),
    '',
  ].join('\n');
  console.log(`\n${text}`);
  writeFileSync(`${base}.md`, text);
  writeFileSync(`${base}.json`, `${JSON.stringify({ config, results, rss, atRest }, null, 1)}\n`);
  writeFileSync(
    `${base}-bound.svg`,
    lineChart({
      title: `${config.claims} claims: Bound over time`,
      xLabel: 'seconds since the first claim was created',
      yLabel: 'claims Bound',
      curves: results.map((r) => ({ name: r.name, points: r.curve })),
    }),
  );
  writeFileSync(
    `${base}-rss.svg`,
    lineChart({
      title: `${config.claims} claims: resident memory of each provisioner process`,
      xLabel: 'seconds since the first claim was created',
      yLabel: 'RSS (MB)',
      curves: rss.map((r) => ({
        name: r.process,
        points: r.samples.map(([t, kb]) => [t, Math.round(kb / 1024)] as [number, number]),
      })),
    }),
  );
  console.log(`written: ${base}.md, ${base}.json, ${base}-bound.svg, ${base}-rss.svg`);
} finally {
  await bedDown(stateDir);
}
