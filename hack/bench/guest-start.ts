// `node hack/bench/guest-start.ts`: the node plugin's start in the qemu guest, from the sources and
// from the bundle: milliseconds from its start to the first answered Probe, and its RSS there.
// Boots one guest per run against a bed of its own; minutes under TCG. A measurement, not a test.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { bedDown, bedUp } from '../bed/bed.ts';
import { repoRoot, startGuestPlugin } from '../bed/guest-plugin.ts';

await execa(process.execPath, [join(repoRoot, 'hack/bundle.ts')], { stdio: 'inherit' });
const stateDir = mkdtempSync(join(tmpdir(), 'warren-guest-start-'));
const bed = await bedUp(stateDir, repoRoot);
const lines: string[] = [];
try {
  for (const cli of ['src/cli.ts', 'dist/cli.js']) {
    let firstProbeMs = Number.NaN;
    const plugin = await startGuestPlugin(bed.env, {
      logFile: join(stateDir, `guest-${cli.replace('/', '-')}.log`),
      cli,
      onFirstProbe: (ms) => {
        firstProbeMs = ms;
      },
    });
    try {
      const rss = await plugin.sh(`grep VmRSS /proc/$(pgrep -f '${cli} node' | head -1)/status`);
      lines.push(
        `${cli}: first Probe ${(firstProbeMs / 1000).toFixed(1)} s after start; ${rss.stdout.trim()}`,
      );
      console.error(`[guest-start] ${lines.at(-1)}`);
    } finally {
      await plugin.stop();
    }
  }
} finally {
  await bedDown(stateDir);
}
console.log(lines.join('\n'));
