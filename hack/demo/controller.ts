// The demo's `warren controller` child process, configured for the local bed.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BedEnv } from '../bed/bed.ts';
import { freePort } from '../bed/ports.ts';

export async function startDemoController(repoRoot: string, env: BedEnv, logFile: string) {
  const port = await freePort();
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'src/cli.ts'),
      'controller',
      `--kubeconfig=${env.KUBECONFIG}`,
      `--share=${env.WARREN_NFS_SERVER}:${env.WARREN_NFS_SHARE}=${env.WARREN_EXPORT_DIR}`,
      '--leader-elect=false',
      `--metrics-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; ; i++) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || i > 200)
      throw new Error(`warren controller did not become ready; see ${logFile}`);
    await sleep(100);
  }
  return {
    logFile,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
