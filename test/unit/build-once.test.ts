// hack/lib/build-once.sh: a builder's first failing command fails the build, a finished build
// is marked complete and not run again, and a failed one leaves no marker behind.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';

const lib = join(import.meta.dirname, '../../hack/lib');
let scratch = '';
afterEach(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Runs `build_once t DIR builder` with `builder` defined as the given shell body. */
async function buildOnce(body: string) {
  scratch = await mkdtemp(join(tmpdir(), 'warren-build-once-'));
  const dir = join(scratch, 'tool');
  const script = `set -euo pipefail
source ${lib}/common.sh
source ${lib}/build-once.sh
need_cmd() { :; }
builder() { ${body}; }
build_once t ${dir} builder
echo "after build_once"`;
  const run = await execa('bash', ['-c', script], { reject: false, all: true });
  const complete = await stat(join(dir, '.complete')).then(
    () => true,
    () => false,
  );
  const log = await readFile(join(dir, 'build.log'), 'utf8').catch(() => '');
  return { exitCode: run.exitCode, output: run.all ?? '', complete, log, dir };
}

describe('build_once', () => {
  it.each([
    { body: 'echo one; false; echo reached', exitCode: 1, complete: false, log: 'one\n' },
    { body: 'echo one; echo two', exitCode: 0, complete: true, log: '' },
    { body: 'cd /nonexistent-warren-dir; echo reached', exitCode: 1, complete: false },
  ])('builder `$body`: exit $exitCode, marker $complete', async ({ body, exitCode, complete, log }) => {
    const result = await buildOnce(body);
    expect(result.exitCode).toBe(exitCode);
    expect(result.complete).toBe(complete);
    expect(result.output.includes('after build_once')).toBe(exitCode === 0);
    if (exitCode !== 0) {
      expect(result.output).toContain(`building t failed; full log: ${result.dir}/build.log`);
      expect(result.log).not.toContain('reached');
    }
    if (log !== undefined && exitCode !== 0) expect(result.log).toBe(log);
  });

  it('does not run a builder again once its build is complete', async () => {
    const first = await buildOnce('echo built');
    expect(first.complete).toBe(true);
    const script = `set -euo pipefail
source ${lib}/common.sh
source ${lib}/build-once.sh
need_cmd() { :; }
build_once t ${first.dir} false
echo "not rebuilt"`;
    const again = await execa('bash', ['-c', script], { all: true });
    expect(again.all).toBe('not rebuilt');
  });
});
