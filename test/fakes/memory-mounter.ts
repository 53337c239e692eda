// An in-memory Mounter for tests: a mount table, a record of every call, and programmable faults
// that behave like the ones measured in the guest (a frozen server hangs mount, plain umount and
// stat until the time limit; `umount -f` may fail with "busy"; `umount -l` always detaches).
import type { NfsFsType } from '../../src/csi/capabilities.ts';
import { unavailable } from '../../src/errors.ts';
import {
  type MountEntry,
  type Mounter,
  type MountHealth,
  nfsVersionIn,
  topMountAt,
  type UnmountAttempt,
  type UnmountMode,
} from '../../src/node/mounter.ts';

export type MounterCall =
  | { op: 'mount'; source: string; target: string; fsType: NfsFsType; options: string[]; timeoutMs: number }
  | { op: 'unmount'; target: string; mode: UnmountMode; timeoutMs: number }
  | { op: 'health'; target: string; timeoutMs: number }
  /** A command hit its time limit and its process group was killed. */
  | { op: 'killed'; command: 'mount' | 'umount' | 'stat'; target: string; afterMs: number };

export interface HangingServerBehaviour {
  /** `umount -f` detaches the mount (true) or fails with "device is busy" (false, the default). */
  forceUnmountWorks?: boolean;
  /** The kernel finishes the mount just as the timed-out mount command is killed. */
  mountCompletesAnyway?: boolean;
}

export interface MemoryMounter extends Mounter {
  readonly calls: MounterCall[];
  entries(): MountEntry[];
  /** Puts a mount in the table as if someone had mounted it earlier. */
  addMount(
    source: string,
    target: string,
    options?: { fsType?: string; readOnly?: boolean; version?: string },
  ): MountEntry;
  /** The next mount call fails with this error (and mounts nothing). */
  failNextMount(error: Error): void;
  /** Every source on this server stops answering (by its "server:" prefix). */
  hangingServer(server: string, behaviour?: HangingServerBehaviour): void;
  /** The mount at target answers with ESTALE. */
  stale(target: string): void;
}

export interface MemoryMounterOptions {
  /** Called with the time a hung command would take before it is killed (for a test clock). */
  elapse?: (ms: number) => void;
}

export function makeMemoryMounter(options: MemoryMounterOptions = {}): MemoryMounter {
  const elapse = options.elapse ?? (() => {});
  const calls: MounterCall[] = [];
  let table: MountEntry[] = [];
  let nextId = 100;
  let nextMountError: Error | undefined;
  const hanging = new Map<string, HangingServerBehaviour>();
  const staleTargets = new Set<string>();

  const hangingFor = (source: string) =>
    [...hanging.entries()].find(([server]) => source.startsWith(`${server}:`))?.[1];
  const hang = (command: 'mount' | 'umount' | 'stat', target: string, timeoutMs: number) => {
    elapse(timeoutMs);
    calls.push({ op: 'killed', command, target, afterMs: timeoutMs });
  };
  const add = (
    source: string,
    target: string,
    fsType: string,
    readOnly: boolean,
    version = '4.2', // what a kernel negotiates when no version is asked for
  ): MountEntry => {
    const entry: MountEntry = {
      mountId: nextId++,
      parentId: 1,
      root: '/',
      mountPoint: target,
      mountOptions: [readOnly ? 'ro' : 'rw', 'relatime'],
      fsType,
      source,
      superOptions: [readOnly ? 'ro' : 'rw', `vers=${version}`],
    };
    table.push(entry);
    return entry;
  };
  const remove = (entry: MountEntry) => {
    table = table.filter((e) => e !== entry);
    staleTargets.delete(entry.mountPoint);
  };

  const attempt = (
    mode: UnmountMode,
    succeeded: boolean,
    timedOut: boolean,
    detail: string,
  ): UnmountAttempt => ({
    mode,
    succeeded,
    timedOut,
    detail,
  });

  return {
    calls,
    entries: () => [...table],
    addMount: (source, target, opts = {}) =>
      add(source, target, opts.fsType ?? 'nfs4', opts.readOnly ?? false, opts.version),
    failNextMount(error) {
      nextMountError = error;
    },
    hangingServer(server, behaviour = {}) {
      hanging.set(server, behaviour);
    },
    stale(target) {
      staleTargets.add(target);
    },

    async mount(source, target, fsType, mountOptions, timeoutMs) {
      calls.push({ op: 'mount', source, target, fsType, options: [...mountOptions], timeoutMs });
      if (nextMountError) {
        const error = nextMountError;
        nextMountError = undefined;
        throw error;
      }
      const behaviour = hangingFor(source);
      if (behaviour) {
        hang('mount', target, timeoutMs);
        if (behaviour.mountCompletesAnyway)
          add(source, target, fsType, mountOptions.includes('ro'), nfsVersionIn(mountOptions));
        throw unavailable(`the NFS server did not answer within ${timeoutMs} ms while mounting ${source}`);
      }
      add(source, target, fsType, mountOptions.includes('ro'), nfsVersionIn(mountOptions));
    },

    async unmount(target, mode, timeoutMs) {
      calls.push({ op: 'unmount', target, mode, timeoutMs });
      const entry = topMountAt(table, target);
      if (!entry) return attempt(mode, false, false, `exit 32: umount: ${target}: not mounted.`);
      const behaviour = hangingFor(entry.source);
      if (!behaviour) {
        remove(entry);
        return attempt(mode, true, false, 'exit 0');
      }
      if (mode === 'plain') {
        hang('umount', target, timeoutMs);
        return attempt(mode, false, true, 'no answer; killed its process group');
      }
      if (mode === 'force') {
        if (!behaviour.forceUnmountWorks) {
          return attempt(mode, false, false, `exit 16: umount.nfs4: ${target}: device is busy`);
        }
        remove(entry);
        return attempt(mode, true, false, 'exit 0');
      }
      // Detached at once; the umount.nfs4 helper then waits for the server until it is killed.
      remove(entry);
      hang('umount', target, timeoutMs);
      return attempt(mode, false, true, 'no answer; killed its process group');
    },

    async mountsAt(target) {
      return topMountAt(table, target);
    },

    async health(target, timeoutMs): Promise<MountHealth> {
      calls.push({ op: 'health', target, timeoutMs });
      const entry = topMountAt(table, target);
      if (entry && hangingFor(entry.source)) {
        hang('stat', target, timeoutMs);
        return {
          usable: false,
          timedOut: true,
          stale: false,
          message: `${target} did not answer within ${timeoutMs} ms`,
        };
      }
      if (staleTargets.has(target)) {
        return {
          usable: false,
          timedOut: false,
          stale: true,
          message: `stat: cannot read file system information for '${target}': Stale file handle`,
        };
      }
      return { usable: true };
    },
  };
}
