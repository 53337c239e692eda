// The node plugin at rest: from process start to the first answered Probe, and its resident
// memory once idle, next to a bare Node process doing nothing (the floor for any Node program).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BedEnv } from '../bed/bed.ts';
import { readMemory } from './rss.ts';
import { startNodePlugin } from './sidecar.ts';

export interface AtRest {
  firstProbeMs: number;
  nodePluginIdleMb: number;
  bareNodeMb: number;
  text: string;
}

export async function measureAtRest(
  bed: BedEnv,
  stateDir: string,
  logDir: string,
  cli: string | undefined,
  /** NODE_OPTIONS, as the DaemonSet sets it. */
  nodeOptions: string,
  settleMs = 5_000,
) {
  const { plugin, firstProbeMs } = await startNodePlugin({
    bed,
    socket: join(stateDir, 'at-rest.sock'),
    driverName: 'at-rest.warren.dev',
    controller: false,
    logFile: join(logDir, 'at-rest-node.log'),
    env: { NODE_OPTIONS: nodeOptions },
    ...(cli ? { cli } : {}),
  });
  let nodePluginIdleKb: number;
  try {
    await sleep(settleMs);
    nodePluginIdleKb = readMemory(plugin.pid)?.rssKb ?? Number.NaN;
  } finally {
    await plugin.stop();
  }
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  let bareKb: number;
  try {
    await sleep(settleMs);
    bareKb = (bare.pid && readMemory(bare.pid)?.rssKb) || Number.NaN;
  } finally {
    bare.kill('SIGTERM');
  }
  const mb = (kb: number) => Math.round(kb / 1024);
  const result: AtRest = {
    firstProbeMs,
    nodePluginIdleMb: nodePluginIdleKb / 1024,
    bareNodeMb: bareKb / 1024,
    text: [
      `warren node (no --controller${nodeOptions ? `, NODE_OPTIONS=${nodeOptions}` : ''}): first Probe answered ${Math.round(firstProbeMs)} ms after spawn;`,
      `RSS ${mb(nodePluginIdleKb)} MB idle after ${settleMs / 1000} s (a bare Node process: ${mb(bareKb)} MB).`,
    ].join(' '),
  };
  return result;
}
