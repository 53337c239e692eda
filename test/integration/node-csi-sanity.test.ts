// csi-sanity v5.4.0, with nothing skipped or focused, against `warren node --controller` in the
// guest: every mount it asks for is a real kernel NFS mount of the bed's ganesha.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type GuestPlugin, pluginPort, repoRoot, startGuestPlugin } from '../../hack/bed/guest-plugin.ts';

let plugin: GuestPlugin;
const resultsDir = join(repoRoot, 'test-results');

beforeAll(async () => {
  mkdirSync(resultsDir, { recursive: true });
  plugin = await startGuestPlugin(inject('bed'), {
    logFile: join(resultsDir, 'csi-sanity-guest-console.log'),
  });
});
afterAll(async () => {
  await plugin?.stop();
});

it('passes csi-sanity with no test excluded', async () => {
  const bed = inject('bed');
  const { stdout } = await execa('bash', [join(repoRoot, 'hack/tools.sh'), 'paths']);
  const sanity = /CSI_SANITY_BIN=(.*)/.exec(stdout)?.[1] ?? '';
  const run = await plugin.sh(
    [
      `printf 'server: 127.0.0.1\\nshare: ${bed.WARREN_NFS_SHARE}\\nsubDir: sanity/\${pv.metadata.name}\\n' > /tmp/sanity-params.yaml`,
      `${sanity} --csi.endpoint=127.0.0.1:${pluginPort} --csi.mountdir=/tmp/csi-target --csi.stagingdir=/tmp/csi-staging` +
        ' --csi.testvolumeparameters=/tmp/sanity-params.yaml --csi.junitfile=/tmp/sanity.xml -ginkgo.v -ginkgo.no-color 2>&1',
    ].join('\n'),
    900_000,
  );
  writeFileSync(join(resultsDir, 'csi-sanity.log'), run.stdout + run.stderr);
  const summary =
    /Ran (\d+) of (\d+) Specs[\s\S]*?(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped/.exec(
      run.stdout,
    );
  expect(summary, `csi-sanity printed no summary:\n${run.stdout.slice(-3000)}`).not.toBeNull();
  console.log(`csi-sanity: ${summary?.[0].replace(/\s+/g, ' ')}`);
  expect({ exit: run.code, failed: Number(summary?.[4]) }).toEqual({ exit: 0, failed: 0 });
  expect(Number(summary?.[3])).toBeGreaterThanOrEqual(54);
  // csi-sanity skips only what Warren does not advertise (staging, ...), never for another reason;
  // the snapshot specs run (Warren serves CreateSnapshot, DeleteSnapshot and ListSnapshots).
  const reasons = [
    ...new Set([...run.stdout.matchAll(/^\s+\[SKIPPED\] (?!in \[)(.+)$/gm)].map((m) => m[1]?.trim() ?? '')),
  ].sort();
  console.log(`csi-sanity skipped, by its own capability checks: ${reasons.join('; ')}`);
  expect(reasons.filter((r) => !/not supported$/.test(r))).toEqual([]);
  expect(reasons.filter((r) => /^(Create|Delete|List)?Snapshots? not supported$/.test(r))).toEqual([]);
  if (Number(summary?.[6]) > 0) expect(reasons.length).toBeGreaterThan(0);
}, 900_000);
