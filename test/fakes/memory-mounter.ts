// An in-memory Mounter for tests: a mount table, a record of every call, an NFS server whose
// directories can be removed and made again, and programmable faults that behave like the ones
// measured in the guest (a frozen server hangs mount, plain umount and stat until the time limit;
// `umount -f` may fail with "busy"; `umount -l` always detaches, and the real mounter stops the
// command once the mount has left the table). test/unit/mounter-contract.ts holds it to what the
// real mounter does in the test guest.
import type { NfsFsType } from '../../src/csi/capabilities.ts';
import { unavailable, WarrenError } from '../../src/errors.ts';
import { formatSeconds } from '../../src/node/bounded-process.ts';
import { mountFailureKind } from '../../src/node/mount-failure.ts';
import {
  type MountEntry,
  type Mounter,
  type MountHealth,
  nfsVersionIn,
  topMountAt,
  type UnmountAttempt,
  type UnmountMode,
} from '../../src/node/mounter.ts';
import { quote } from '../../src/text.ts';

export type MounterCall =
  | { op: 'mount'; source: string; target: string; fsType: NfsFsType; options: string[]; timeoutMs: number }
  | { op: 'unmount'; target: string; mode: UnmountMode; timeoutMs: number }
  | { op: 'health'; target: string; timeoutMs: number }
  /** A command hit its time limit and its process group was killed. */
  | { op: 'killed'; command: 'mount' | 'umount' | 'stat'; target: string; afterMs: number };

export interface HangingServerBehaviour {
  /**
   * `umount -f` detaches the mount (true, as measured in the guest) or fails with "device is busy"
   * (false, the default: measured while another thread was stuck in a stat of the mount).
   */
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
  /** The server answers again. */
  serverAnswers(server: string): void;
  /** The mount at target answers with ESTALE. */
  stale(target: string): void;
  /**
   * The server removes the directory a source names (`server:/path`), and all below it: mounting it
   * fails as mount.nfs does, and mounts of it already made answer ESTALE from now on.
   */
  removeOnServer(source: string): void;
  /** The server has the directory again (a new one: mounts of the old one stay stale). */
  createOnServer(source: string): void;
}

export interface MemoryMounterOptions {
  /** Called with the time a hung command would take before it is killed (for a test clock). */
  elapse?: (ms: number) => void;
  /**
   * Whether a directory exists on the node (e.g. the memory NodeFs's). A mount needs its target to
   * exist; umount and stat of a missing path fail. Without it every path exists.
   */
  directoryExists?: (path: string) => boolean;
}

/** Path components of a source's path, for "this directory or one below it". */
const pathOf = (source: string) => {
  const colon = source.startsWith('[') ? source.indexOf(']:') + 1 : source.indexOf(':');
  return {
    server: source.slice(0, colon),
    parts: source
      .slice(colon + 1)
      .split('/')
      .filter(Boolean),
  };
};
const isAtOrBelow = (source: string, directory: string) => {
  const s = pathOf(source);
  const d = pathOf(directory);
  return s.server === d.server && d.parts.every((part, i) => s.parts[i] === part);
};

/** The version the kernel shows: it negotiates the highest 4.x (4.2 here) for "4" or no version. */
const negotiated = (version: string | undefined) =>
  version === undefined || version === '4' ? '4.2' : version;
/** The kernel names the file system by the version it speaks, whatever `-t` said. */
const fsTypeFor = (version: string) => (version.startsWith('4') ? 'nfs4' : 'nfs');

export function makeMemoryMounter(options: MemoryMounterOptions = {}): MemoryMounter {
  const elapse = options.elapse ?? (() => {});
  const directoryExists = options.directoryExists ?? (() => true);
  const calls: MounterCall[] = [];
  let table: MountEntry[] = [];
  let nextId = 100;
  let nextMountError: Error | undefined;
  const hanging = new Map<string, HangingServerBehaviour>();
  const staleTargets = new Set<string>();
  const staleEntries = new Set<MountEntry>();
  const removedOnServer = new Set<string>();

  const hangingFor = (source: string) =>
    [...hanging.entries()].find(([server]) => source.startsWith(`${server}:`))?.[1];
  const missingOnServer = (source: string) => [...removedOnServer].some((dir) => isAtOrBelow(source, dir));
  const hang = (command: 'mount' | 'umount' | 'stat', target: string, timeoutMs: number) => {
    elapse(timeoutMs);
    calls.push({ op: 'killed', command, target, afterMs: timeoutMs });
  };
  const add = (
    source: string,
    target: string,
    fsType: string,
    readOnly: boolean,
    version: string,
  ): MountEntry => {
    const entry: MountEntry = {
      mountId: nextId++,
      parentId: topMountAt(table, target)?.mountId ?? 1,
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
  const mountAs = (source: string, target: string, mountOptions: string[]) => {
    const version = negotiated(nfsVersionIn(mountOptions));
    add(source, target, fsTypeFor(version), mountOptions.includes('ro'), version);
  };
  const remove = (entry: MountEntry) => {
    table = table.filter((e) => e !== entry);
    staleEntries.delete(entry);
    if (!topMountAt(table, entry.mountPoint)) staleTargets.delete(entry.mountPoint);
  };
  /** What mount.nfs says when the mount cannot be made, or undefined when it can. */
  const mountRefusal = (source: string, target: string, fsType: NfsFsType, mountOptions: string[]) => {
    const helper = fsType === 'nfs4' ? 'mount.nfs4' : 'mount.nfs';
    if (!directoryExists(target) && !topMountAt(table, target))
      return `${helper}: mount point ${target} does not exist`;
    if (!missingOnServer(source)) return undefined;
    return fsTypeFor(negotiated(nfsVersionIn(mountOptions))) === 'nfs'
      ? `${helper}: access denied by server while mounting ${source}`
      : `${helper}: mounting ${source} failed, reason given by server: No such file or directory`;
  };
  const notAnswering = (target: string, timeoutMs: number): MountHealth => ({
    usable: false,
    timedOut: true,
    stale: false,
    message: `the file system at ${quote(target)} did not answer within ${formatSeconds(timeoutMs)} (NFS server down or frozen?)`,
  });
  const statFailed = (target: string, reason: string, stale: boolean): MountHealth => ({
    usable: false,
    timedOut: false,
    stale,
    message: `stat of ${quote(target)} failed (exit 1: stat: cannot read file system information for '${target}': ${reason})`,
  });

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
  const killed = (timeoutMs: number) =>
    `no answer within ${formatSeconds(timeoutMs)}; killed its process group`;

  return {
    calls,
    entries: () => [...table],
    addMount: (source, target, opts = {}) => {
      const version = negotiated(opts.version);
      return add(source, target, opts.fsType ?? fsTypeFor(version), opts.readOnly ?? false, version);
    },
    failNextMount(error) {
      nextMountError = error;
    },
    hangingServer(server, behaviour = {}) {
      hanging.set(server, behaviour);
    },
    serverAnswers(server) {
      hanging.delete(server);
    },
    stale(target) {
      staleTargets.add(target);
    },
    removeOnServer(source) {
      removedOnServer.add(source);
      for (const entry of table) if (isAtOrBelow(entry.source, source)) staleEntries.add(entry);
    },
    createOnServer(source) {
      for (const dir of removedOnServer) if (isAtOrBelow(source, dir)) removedOnServer.delete(dir);
    },

    async mount(source, target, fsType, mountOptions, timeoutMs) {
      calls.push({ op: 'mount', source, target, fsType, options: [...mountOptions], timeoutMs });
      if (nextMountError) {
        const error = nextMountError;
        nextMountError = undefined;
        throw error;
      }
      const what = `mounting ${source} at ${quote(target)}`;
      const behaviour = hangingFor(source);
      if (behaviour) {
        hang('mount', target, timeoutMs);
        if (behaviour.mountCompletesAnyway) mountAs(source, target, mountOptions);
        throw unavailable(
          `the NFS server did not answer within ${formatSeconds(timeoutMs)} while ${what}; ` +
            'the mount was abandoned and will be retried',
        );
      }
      const refusal = mountRefusal(source, target, fsType, mountOptions);
      if (refusal) throw new WarrenError(mountFailureKind(refusal), `${what} failed (exit 32: ${refusal})`);
      mountAs(source, target, mountOptions);
    },

    async unmount(target, mode, timeoutMs) {
      calls.push({ op: 'unmount', target, mode, timeoutMs });
      const entry = topMountAt(table, target);
      if (!entry) {
        const why = directoryExists(target) ? 'not mounted' : 'no mount point specified';
        return attempt(mode, false, false, `exit 32: umount: ${target}: ${why}.`);
      }
      const behaviour = hangingFor(entry.source);
      if (!behaviour) {
        remove(entry);
        return attempt(mode, true, false, 'exit 0');
      }
      if (mode === 'plain') {
        hang('umount', target, timeoutMs);
        return attempt(mode, false, true, killed(timeoutMs));
      }
      if (mode === 'force' && !behaviour.forceUnmountWorks) {
        return attempt(mode, false, false, `exit 16: umount.nfs4: ${target}: device is busy`);
      }
      // Detached at once; the umount.nfs4 helper would then wait for the server, but the real
      // mounter sees the mount leave the table and stops it (within its 100 ms poll).
      remove(entry);
      return attempt(
        mode,
        true,
        false,
        'its work was done but it had not finished; killed its process group',
      );
    },

    async mountsAt(target) {
      return topMountAt(table, target);
    },

    async health(target, timeoutMs): Promise<MountHealth> {
      calls.push({ op: 'health', target, timeoutMs });
      const entry = topMountAt(table, target);
      if (entry && hangingFor(entry.source)) {
        hang('stat', target, timeoutMs);
        return notAnswering(target, timeoutMs);
      }
      if (!entry && !directoryExists(target)) return statFailed(target, 'No such file or directory', false);
      if (staleTargets.has(target) || (entry && staleEntries.has(entry)))
        return statFailed(target, 'Stale file handle', true);
      return { usable: true };
    },
  };
}
