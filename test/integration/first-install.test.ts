// A first install on a machine whose system Node is older than the project's: on a copy of the
// repository with no node_modules, hack/lib/node.sh started from npm (as `npm test` and `npm run
// demo` start it) prints what it fetches and installs and how long each took, and no npm warning.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './deploy-render.ts';

/** The system Node of the machine where the warnings were seen (nodesource's Node 20). */
const systemNode = '20.20.2';

const scratch = mkdtempSync(join(tmpdir(), 'warren-first-install-'));
const clone = join(scratch, 'warren');
const cache = join(scratch, 'cache');
let env: Record<string, string>;

beforeAll(async () => {
  // The older Node comes from the real cache (fetched once); the project's Node is fetched into a
  // cache of this test's own, as on a machine that never ran Warren.
  const fetched = await execa(
    'bash',
    ['-c', 'source hack/lib/common.sh && source hack/lib/fetch-node.sh && fetch_node "$1"', '-', systemNode],
    { cwd: repoRoot, stderr: 'inherit' },
  );
  const { stdout: npm } = await execa('bash', ['-c', 'command -v npm']);
  // What a shell on that machine has: the older Node first, no node_modules/.bin of this checkout,
  // none of the variables that npm and vitest set for this test.
  const path = (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => dir !== '' && !dir.includes('node_modules'));
  const ours = (key: string) => /^(npm_|VITEST|INIT_CWD$|NODE$|NODE_ENV$|NODE_OPTIONS$)/.test(key);
  env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !ours(key))),
    PATH: [fetched.stdout.trim(), dirname(npm), ...path].join(':'),
    WARREN_CACHE_DIR: cache,
  } as Record<string, string>;
  // The files a clone has (tracked, and new ones not ignored), without node_modules.
  const { stdout: files } = await execa(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: repoRoot,
    },
  );
  for (const file of files.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    try {
      copyFileSync(join(repoRoot, file), join(clone, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted, not yet committed
    }
  }
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const run = (command: string) =>
  execa('bash', ['-c', command], { cwd: clone, env, extendEnv: false, all: true, reject: false });

/** Output lines with clock times, durations and package counts replaced, blank lines dropped. */
const normalised = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) =>
      line
        .replace(/^\[warren \d\d:\d\d:\d\d\]/, '[warren T]')
        .replace(/ in \d+ s$/, ' in N s')
        .replace(/^added \d+ packages in [\d.]+m?s?$/, 'added P packages in D'),
    );

describe('first install with an older system Node', () => {
  it('is a machine where npm would warn: node is the older one, and npm finds engines it does not meet', async () => {
    expect((await run('node --version')).all).toBe(`v${systemNode}`);
    const dryRun = await run('npm install --dry-run --no-audit --no-fund');
    expect(dryRun.all).toMatch(/EBADENGINE/);
  });

  it('prints the fetch, the install and their times, and no npm warning', async () => {
    const first = await run('npm exec -c "bash -c \'source hack/lib/node.sh && node --version\'"');
    expect(first.exitCode, first.all).toBe(0);
    expect(first.all).not.toMatch(/EBADENGINE|npm warn|npm WARN/);
    const { stdout: locked } = await run(
      'node -p \'require("./package-lock.json").packages["node_modules/node"].version\'',
    );
    expect(normalised(first.all ?? '')).toEqual([
      `[warren T] fetching Node v${locked} into ${cache}/node-v${locked}-${process.platform}-${process.arch} (first run only, about 10 s)`,
      `[warren T] fetched Node v${locked} in N s`,
      '[warren T] installing npm dependencies (locked versions; about a minute the first time)',
      'added P packages in D',
      '[warren T] installed npm dependencies in N s',
      `v${locked}`,
    ]);

    // Installed once: the next start installs nothing and says nothing.
    const second = await run('npm exec -c "bash -c \'source hack/lib/node.sh && node --version\'"');
    expect(second.all).toBe(`v${locked}`);
  }, 300_000);
});
