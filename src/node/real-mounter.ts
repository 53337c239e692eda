// The Mounter on a real kernel: util-linux mount/umount and coreutils stat, each bounded in time and
// killed with its whole process group (see bounded-process.ts): against a frozen server, mount,
// plain umount and stat hang until killed.
import { readFile } from 'node:fs/promises';
import type { NfsFsType } from '../csi/capabilities.ts';
import { failedPrecondition, unavailable, WarrenError } from '../errors.ts';
import { errnoCode, quote } from '../text.ts';
import { type BoundedRun, describeRun, formatSeconds, runBounded } from './bounded-process.ts';
import { mountFailureKind } from './mount-failure.ts';
import {
  type Mounter,
  type MountHealth,
  parseMountInfo,
  topMountAt,
  type UnmountAttempt,
  type UnmountMode,
} from './mounter.ts';

export interface RealMounterOptions {
  mountCommand?: string;
  umountCommand?: string;
  statCommand?: string;
  mountInfoPath?: string;
  killGraceMs?: number;
}

const unmountFlags: Record<UnmountMode, string[]> = { plain: [], force: ['-f'], lazy: ['-l'] };

export function makeRealMounter(options: RealMounterOptions = {}): Mounter {
  const {
    mountCommand = 'mount',
    umountCommand = 'umount',
    statCommand = 'stat',
    mountInfoPath = '/proc/self/mountinfo',
    killGraceMs = 2000,
  } = options;
  // English messages from the tools, whatever the node's locale.
  const env = { ...process.env, LC_ALL: 'C' };
  const run = (command: string, args: string[], timeoutMs: number): Promise<BoundedRun> =>
    runBounded(command, args, { timeoutMs, killGraceMs, env });
  const mountsAt = async (target: string) =>
    topMountAt(parseMountInfo(await readFile(mountInfoPath, 'utf8')), target);

  return {
    async mount(source, target, fsType: NfsFsType, mountOptions, timeoutMs) {
      const args = [
        '-t',
        fsType,
        ...(mountOptions.length > 0 ? ['-o', mountOptions.join(',')] : []),
        source,
        target,
      ];
      const result = await run(mountCommand, args, timeoutMs).catch((err: unknown) => {
        throw failedPrecondition(
          `cannot run ${quote(mountCommand)} (${errnoCode(err) ?? String(err)}); the node plugin image needs util-linux mount and mount.nfs`,
        );
      });
      const what = `mounting ${source} at ${quote(target)}`;
      if (result.timedOut) {
        throw unavailable(
          `the NFS server did not answer within ${formatSeconds(timeoutMs)} while ${what}; ` +
            'the mount was abandoned and will be retried',
        );
      }
      if (result.exitCode !== 0) {
        throw new WarrenError(
          mountFailureKind(`${result.stderr}\n${result.stdout}`),
          `${what} failed (${describeRun(result, timeoutMs)})`,
        );
      }
    },

    // `umount -f`/`-l` run when the server is not answering: once the mount has left the table the
    // command is stopped, as its umount.nfs4 helper would wait for the server until the time limit.
    // A plain umount is left to finish cleanly.
    async unmount(target, mode, timeoutMs): Promise<UnmountAttempt> {
      const args = [...unmountFlags[mode], target];
      const before = await mountsAt(target);
      const gone = async () => before !== undefined && (await mountsAt(target))?.mountId !== before.mountId;
      const stopWhen = mode === 'plain' ? undefined : gone;
      try {
        const result = await runBounded(umountCommand, args, { timeoutMs, killGraceMs, env, stopWhen });
        const succeeded = result.stopped || (!result.timedOut && result.exitCode === 0);
        return { mode, succeeded, timedOut: result.timedOut, detail: describeRun(result, timeoutMs) };
      } catch (err) {
        return {
          mode,
          succeeded: false,
          timedOut: false,
          detail: `cannot run ${umountCommand}: ${errnoCode(err) ?? String(err)}`,
        };
      }
    },

    mountsAt,

    // statfs always asks an NFS server (attributes may be cached, file system statistics are not).
    async health(target, timeoutMs): Promise<MountHealth> {
      const result = await run(statCommand, ['-f', '-c', '%b', target], timeoutMs).catch((err: unknown) => {
        throw failedPrecondition(
          `cannot run ${quote(statCommand)} (${errnoCode(err) ?? String(err)}); the node plugin image needs coreutils`,
        );
      });
      if (result.timedOut) {
        return {
          usable: false,
          timedOut: true,
          stale: false,
          message: `the file system at ${quote(target)} did not answer within ${formatSeconds(timeoutMs)} (NFS server down or frozen?)`,
        };
      }
      if (result.exitCode === 0) return { usable: true };
      return {
        usable: false,
        timedOut: false,
        stale: /stale file handle/i.test(result.stderr),
        message: `stat of ${quote(target)} failed (${describeRun(result, timeoutMs)})`,
      };
    },
  };
}
