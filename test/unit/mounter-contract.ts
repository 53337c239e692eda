// The same cases against every Mounter, so the in-memory fake keeps the real one's behaviour: the
// real one runs them in the qemu test guest against the bed's NFS server (real-mounter.test.ts),
// the fake in memory (memory-mounter.test.ts). The cases are what the node service relies on.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NfsFsType } from '../../src/csi/capabilities.ts';
import {
  isNfsMount,
  isReadOnlyMount,
  type Mounter,
  nfsVersionIn,
  nfsVersionsAgree,
  type UnmountMode,
} from '../../src/node/mounter.ts';
import { expectWarrenRejection } from './expect-warren-error.ts';

export type Protocol = 'v3' | 'v4';

export interface MounterHarness {
  mounter: Mounter;
  /** A new empty directory on the node to mount on. */
  makeTarget(): Promise<string>;
  /** A path on the node that does not exist. */
  missingPath(): string;
  /** The source naming directory `dir` of the export, and the options that reach the server. */
  nfs(dir: string, protocol: Protocol): { source: string; options: string[] };
  /** Makes directory `dir` on the export. */
  createOnServer(dir: string): Promise<void>;
  /** Removes directory `dir` on the export, with all below it. */
  removeOnServer(dir: string): Promise<void>;
  /** Removes directory `dir` on the export and makes it again: a new directory by the same name. */
  replaceOnServer(dir: string): Promise<void>;
  /** The server stops answering (connections stay open), or answers again. v4 mounts only. */
  freezeServer(): void;
  thawServer(): void;
  /** Generous limits for a live server; the real one runs in a guest under emulation. */
  timeoutMs: number;
  cleanup(): Promise<void>;
}

const modes: UnmountMode[] = ['plain', 'force', 'lazy'];
/** Limits for calls that are expected to time out: short, so the cases stay quick. */
const frozenMs = { stat: 2_000, umount: 3_000, mount: 3_000 };

interface MountCase {
  name: string;
  protocol: Protocol;
  fsType: NfsFsType;
  options: string[];
  /** What the table shows. */
  shown: { fsType: 'nfs' | 'nfs4'; version: string; readOnly: boolean };
  /** Requested versions a mount like this must not serve (nfsVersionsAgree false). */
  disagrees: string[];
}

const mountCases: MountCase[] = [
  {
    name: 'no version (the client negotiates 4.2)',
    protocol: 'v4',
    fsType: 'nfs',
    options: [],
    shown: { fsType: 'nfs4', version: '4.2', readOnly: false },
    disagrees: ['3', '4.1'],
  },
  {
    name: 'vers=4 (any 4.x: 4.2 here)',
    protocol: 'v4',
    fsType: 'nfs',
    options: ['vers=4'],
    shown: { fsType: 'nfs4', version: '4.2', readOnly: false },
    disagrees: ['4.0', '4.1'],
  },
  {
    name: 'vers=4.0',
    protocol: 'v4',
    fsType: 'nfs',
    options: ['vers=4.0'],
    shown: { fsType: 'nfs4', version: '4.0', readOnly: false },
    disagrees: ['4.1', '4.2', '3'],
  },
  {
    name: 'vers=4.1 as -t nfs4',
    protocol: 'v4',
    fsType: 'nfs4',
    options: ['vers=4.1'],
    shown: { fsType: 'nfs4', version: '4.1', readOnly: false },
    disagrees: ['4.0', '4.2'],
  },
  {
    name: 'nfsvers=4.1',
    protocol: 'v4',
    fsType: 'nfs',
    options: ['nfsvers=4.1'],
    shown: { fsType: 'nfs4', version: '4.1', readOnly: false },
    disagrees: ['4.2', '3'],
  },
  {
    name: 'vers=4.2, read-only',
    protocol: 'v4',
    fsType: 'nfs',
    options: ['vers=4.2', 'ro'],
    shown: { fsType: 'nfs4', version: '4.2', readOnly: true },
    disagrees: ['4.1'],
  },
  {
    name: 'vers=3',
    protocol: 'v3',
    fsType: 'nfs',
    options: ['vers=3'],
    shown: { fsType: 'nfs', version: '3', readOnly: false },
    disagrees: ['4', '4.1'],
  },
  {
    name: 'vers=3 as -t nfs4, read-only',
    protocol: 'v3',
    fsType: 'nfs4',
    options: ['vers=3', 'ro'],
    shown: { fsType: 'nfs', version: '3', readOnly: true },
    disagrees: ['4'],
  },
];

let dirs = 0;

export function describeMounterContract(name: string, makeHarness: () => Promise<MounterHarness>): void {
  describe(`${name} (Mounter contract)`, () => {
    let h: MounterHarness;
    let m: Mounter;
    beforeEach(async () => {
      h = await makeHarness();
      m = h.mounter;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    /** A new directory on the export, mounted at a new target. */
    async function mounted(protocol: Protocol, options: string[], fsType: NfsFsType = 'nfs') {
      const dir = `contract-${process.pid}-${++dirs}`;
      await h.createOnServer(dir);
      const target = await h.makeTarget();
      const nfs = h.nfs(dir, protocol);
      await m.mount(nfs.source, target, fsType, [...options, ...nfs.options], h.timeoutMs);
      return { dir, target, source: nfs.source };
    }

    it('finds nothing mounted at a new directory, and the directory answers', async () => {
      const target = await h.makeTarget();
      expect(await m.mountsAt(target)).toBeUndefined();
      expect(await m.health(target, h.timeoutMs)).toEqual({ usable: true });
    });

    it.each(mountCases)('mounts with $name: the table shows it as the node service reads it', async (c) => {
      const { target, source } = await mounted(c.protocol, c.options, c.fsType);
      const entry = await m.mountsAt(target);
      expect(entry).toBeDefined();
      if (!entry) return;
      expect({
        mountPoint: entry.mountPoint,
        root: entry.root,
        source: entry.source,
        fsType: entry.fsType,
        nfs: isNfsMount(entry),
        readOnly: isReadOnlyMount(entry),
        access: entry.mountOptions[0],
        version: nfsVersionIn(entry.superOptions),
      }).toEqual({
        mountPoint: target,
        root: '/',
        source,
        fsType: c.shown.fsType,
        nfs: true,
        readOnly: c.shown.readOnly,
        access: c.shown.readOnly ? 'ro' : 'rw',
        version: c.shown.version,
      });
      // What was asked for agrees with what the kernel shows; other versions do not.
      const requested = nfsVersionIn(c.options) ?? c.shown.version;
      expect(nfsVersionsAgree(requested, c.shown.version)).toBe(true);
      expect(c.disagrees.filter((v) => nfsVersionsAgree(v, c.shown.version))).toEqual([]);
      // Reading is idempotent: the same mount, and it answers.
      expect(await m.mountsAt(target)).toEqual(entry);
      expect(await m.health(target, h.timeoutMs)).toEqual({ usable: true });
      expect(await m.unmount(target, 'plain', h.timeoutMs)).toMatchObject({
        mode: 'plain',
        succeeded: true,
        timedOut: false,
      });
      expect(await m.mountsAt(target)).toBeUndefined();
    });

    // A plain unmount of a live mount ends every mount case above.
    it.each(['force', 'lazy'] as const)('unmounts a mount of a live server with %s', async (mode) => {
      const { target } = await mounted('v4', ['vers=4.1']);
      expect(await m.unmount(target, mode, h.timeoutMs)).toMatchObject({
        mode,
        succeeded: true,
        timedOut: false,
      });
      expect(await m.mountsAt(target)).toBeUndefined();
    });

    it('reports every unmount mode of a directory with nothing mounted, or of no directory, as not done', async () => {
      const target = await h.makeTarget();
      const missing = h.missingPath();
      const attempts = [];
      for (const mode of modes) {
        attempts.push(
          await m.unmount(target, mode, h.timeoutMs),
          await m.unmount(missing, mode, h.timeoutMs),
        );
      }
      expect(attempts).toEqual(
        modes.flatMap((mode) => [
          { mode, succeeded: false, timedOut: false, detail: `exit 32: umount: ${target}: not mounted.` },
          {
            mode,
            succeeded: false,
            timedOut: false,
            detail: `exit 32: umount: ${missing}: no mount point specified.`,
          },
        ]),
      );
    });

    it('shows the top of stacked mounts, and the one below once the top is unmounted', async () => {
      const below = await mounted('v4', ['vers=4.1']);
      const first = await m.mountsAt(below.target);
      const dir = `contract-${process.pid}-${++dirs}`;
      await h.createOnServer(dir);
      const top = h.nfs(dir, 'v3');
      await m.mount(top.source, below.target, 'nfs', ['vers=3', ...top.options], h.timeoutMs);
      const stacked = await m.mountsAt(below.target);
      expect({ source: stacked?.source, fsType: stacked?.fsType, parentId: stacked?.parentId }).toEqual({
        source: top.source,
        fsType: 'nfs',
        parentId: first?.mountId,
      });
      expect(await m.unmount(below.target, 'plain', h.timeoutMs)).toMatchObject({ succeeded: true });
      expect(await m.mountsAt(below.target)).toEqual(first);
      expect(await m.unmount(below.target, 'plain', h.timeoutMs)).toMatchObject({ succeeded: true });
      expect(await m.mountsAt(below.target)).toBeUndefined();
    });

    it.each([
      ['v4', 'NotFound', 'No such file or directory'],
      ['v3', 'FailedPrecondition', 'access denied by server'],
    ] as const)(
      'fails to mount a directory the %s server does not have: %s, nothing mounted',
      async (protocol, kind, said) => {
        const target = await h.makeTarget();
        const dir = `contract-${process.pid}-${++dirs}`;
        await h.createOnServer(dir);
        await h.removeOnServer(dir);
        const nfs = h.nfs(dir, protocol);
        const vers = protocol === 'v3' ? 'vers=3' : 'vers=4.1';
        await expectWarrenRejection(
          m.mount(nfs.source, target, 'nfs', [vers, ...nfs.options], h.timeoutMs),
          kind,
          nfs.source,
          said,
        );
        expect(await m.mountsAt(target)).toBeUndefined();
      },
    );

    it('fails to mount on a target that does not exist (Internal: the node service makes it first)', async () => {
      const dir = `contract-${process.pid}-${++dirs}`;
      await h.createOnServer(dir);
      const nfs = h.nfs(dir, 'v4');
      const target = h.missingPath();
      await expectWarrenRejection(
        m.mount(nfs.source, target, 'nfs', ['vers=4.1', ...nfs.options], h.timeoutMs),
        'Internal',
        `mount point ${target} does not exist`,
      );
      expect(await m.mountsAt(target)).toBeUndefined();
    });

    it('reports a path that does not exist as not usable, neither stale nor timed out', async () => {
      const missing = h.missingPath();
      expect(await m.health(missing, h.timeoutMs)).toMatchObject({
        usable: false,
        timedOut: false,
        stale: false,
      });
    });

    it('reports a mount whose directory the server replaced as stale; a plain unmount removes it', async () => {
      const { dir, target } = await mounted('v4', ['vers=4.1']);
      await h.replaceOnServer(dir);
      const health = await m.health(target, h.timeoutMs);
      expect(health).toMatchObject({ usable: false, timedOut: false, stale: true });
      expect(health.usable || health.message).toContain('Stale file handle');
      expect(await m.mountsAt(target)).toBeDefined();
      expect(await m.unmount(target, 'plain', h.timeoutMs)).toMatchObject({
        succeeded: true,
        timedOut: false,
      });
      expect(await m.mountsAt(target)).toBeUndefined();
    });

    describe('a server that stops answering (v4.1, hard)', () => {
      it('health times out at its limit; a mount times out as Unavailable and leaves nothing', async () => {
        const { target } = await mounted('v4', ['vers=4.1']);
        const other = await h.makeTarget();
        const dir = `contract-${process.pid}-${++dirs}`;
        await h.createOnServer(dir);
        h.freezeServer();
        expect(await m.health(target, frozenMs.stat)).toMatchObject({
          usable: false,
          timedOut: true,
          stale: false,
        });
        const nfs = h.nfs(dir, 'v4');
        await expectWarrenRejection(
          m.mount(nfs.source, other, 'nfs', ['vers=4.1', ...nfs.options], frozenMs.mount),
          'Unavailable',
          'did not answer',
        );
        expect(await m.mountsAt(other)).toBeUndefined();
      });

      it('a plain unmount returns at its limit as timed out', async () => {
        const { target } = await mounted('v4', ['vers=4.1']);
        h.freezeServer();
        expect(await m.unmount(target, 'plain', frozenMs.umount)).toMatchObject({
          mode: 'plain',
          succeeded: false,
          timedOut: true,
        });
      });

      // The mount leaves the table at once; the real mounter then stops the umount helper, which
      // would wait for the server, so the step succeeds well within its (generous) limit.
      it.each(['force', 'lazy'] as const)('%s detaches the mount and reports success', async (mode) => {
        const { target } = await mounted('v4', ['vers=4.1']);
        h.freezeServer();
        expect(await m.unmount(target, mode, h.timeoutMs)).toMatchObject({
          mode,
          succeeded: true,
          timedOut: false,
        });
        expect(await m.mountsAt(target)).toBeUndefined();
      });
    });
  });
}
