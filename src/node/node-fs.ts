// The node plugin's file system side effects: publish target directories and volume measurements.
// Target directories are only touched when nothing is mounted on them (the caller checks), so these
// calls never reach an NFS server; measurements do, and run in a killable child process.
import { lstat, mkdir, rmdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { failedPrecondition, unavailable, WarrenError } from '../errors.ts';
import { siblingEntry } from '../shipped.ts';
import { errnoCode, quote } from '../text.ts';
import { describeRun, formatSeconds, runBounded } from './bounded-process.ts';
import { decodeMeasurement, startedLine, type VolumeMeasurement } from './volume-walk.ts';

export type PathKind = 'directory' | 'missing' | 'other';

export interface NodeFs {
  /** lstat: a symbolic link is 'other', never followed. */
  pathKind(path: string): Promise<PathKind>;
  /** Creates the directory (and missing parents) with this mode. */
  makeDirectory(path: string, mode: number): Promise<void>;
  /** Removes an empty directory; a missing one is fine; anything else is FailedPrecondition. */
  removeDirectory(path: string): Promise<void>;
  /** statfs and du of a mounted volume; Unavailable when it cannot finish within about budgetMs. */
  measure(path: string, budgetMs: number): Promise<VolumeMeasurement>;
}

const probeScript = fileURLToPath(siblingEntry('usage-probe', import.meta.url));
/**
 * How long the measuring child may take to start (Node under a loaded emulator has taken tens of
 * seconds), and how long it gets beyond its walking budget to report once started. Neither start-up
 * time is the NFS server's: only time after "started" can count against it.
 */
const probeStartTimeoutMs = 60_000;
const probeReportAllowanceMs = 5000;

export function makeRealNodeFs(): NodeFs {
  return {
    async pathKind(path) {
      try {
        return (await lstat(path)).isDirectory() ? 'directory' : 'other';
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return 'missing';
        throw new WarrenError('Internal', `cannot inspect ${quote(path)}: ${errnoCode(err) ?? err}`, {
          cause: err,
        });
      }
    },

    async makeDirectory(path, mode) {
      await mkdir(path, { recursive: true, mode }).catch((err: unknown) => {
        throw new WarrenError('Internal', `cannot create ${quote(path)}: ${errnoCode(err) ?? err}`, {
          cause: err,
        });
      });
    },

    async removeDirectory(path) {
      await rmdir(path).catch((err: unknown) => {
        const code = errnoCode(err);
        if (code === 'ENOENT') return;
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') {
          throw failedPrecondition(
            `${quote(path)} is ${code === 'ENOTDIR' ? 'not a directory' : 'not empty'} although nothing is mounted on it; ` +
              'Warren only removes the empty directory it created, so it is left for you to inspect',
          );
        }
        throw new WarrenError('Internal', `cannot remove ${quote(path)}: ${code ?? err}`, { cause: err });
      });
    },

    async measure(path, budgetMs) {
      const timeoutMs = budgetMs + probeReportAllowanceMs;
      const run = await runBounded(process.execPath, [probeScript, path, String(budgetMs)], {
        timeoutMs,
        startedLine,
        startTimeoutMs: probeStartTimeoutMs,
      });
      const measurement = decodeMeasurement(run.stdout.trim().split('\n').at(-1) ?? '');
      if (measurement) return measurement;
      if (run.timedOut && !run.started) {
        throw unavailable(
          `the process measuring ${quote(path)} did not start within ${formatSeconds(probeStartTimeoutMs)} (the node is overloaded); nothing was asked of the NFS server`,
        );
      }
      if (run.timedOut) {
        throw unavailable(
          `measuring ${quote(path)} did not finish within ${formatSeconds(timeoutMs)}; is the NFS server answering?`,
        );
      }
      throw new WarrenError('Internal', `measuring ${quote(path)} failed (${describeRun(run, timeoutMs)})`);
    },
  };
}
