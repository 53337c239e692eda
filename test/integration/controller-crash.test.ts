// Crash safety: the controller SIGKILLs itself at named steps (WARREN_CRASH_AT); a restarted
// controller must converge with exactly one PV and one directory per claim, and clean up a
// directory whose claim was deleted before its PV was made or while its PV waited to be bound.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { type ControllerProcess, startController } from '../../hack/bed/controller.ts';
import { poll } from '../../hack/lib/poll.ts';
import { createClaim, createClass, provisionerFor, waitBound, waitGone } from './fixtures.ts';
import { bedClients, freshNamespace } from './kube.ts';

const { core, storage } = bedClients();
const provisioner = provisionerFor('crash');
const bed = inject('bed');
const logDir = mkdtempSync(join(tmpdir(), 'warren-crash-'));
const className = `crash-${Date.now().toString(36)}`;
let running: ControllerProcess[] = [];
let classReady: Promise<void> | undefined;

function ensureClass(): Promise<void> {
  classReady ??= createClass(storage, className, {
    provisioner,
    parameters: {
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      subDir: 'crash/${pvc.metadata.namespace}/${pvc.metadata.name}',
    },
  });
  return classReady;
}

async function controller(name: string, crashAt?: string, as = provisioner): Promise<ControllerProcess> {
  const c = await startController({
    bed,
    provisioner: as,
    logFile: join(logDir, `${name}.log`),
    env: crashAt ? { WARREN_CRASH_AT: crashAt } : {},
  });
  running.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(running.map((c) => c.kill()));
  running = [];
});

/** The crash point a SIGKILLed controller reached: crash-points.ts writes its line just before dying. */
async function crashedAt(c: ControllerProcess): Promise<Array<{ point: unknown; object: unknown }>> {
  const lines = () =>
    c
      .logLines()
      .filter((l) => l.msg === 'crash point reached; SIGKILL')
      .map((l) => ({ point: l.point, object: l.object }));
  // The log file is written by this process from the child's pipe: the last line can trail the exit.
  return poll(lines, (found) => found.length > 0, {
    what: `the crash point line in ${c.logFile}`,
    timeoutMs: 10_000,
  });
}

async function volumesOf(ns: string): Promise<string[]> {
  const list = await core.listPersistentVolume();
  return list.items.filter((pv) => pv.spec?.claimRef?.namespace === ns).map((pv) => pv.metadata?.name ?? '');
}

describe('SIGKILL at each step, then restart', () => {
  it.each(['after-intent', 'after-directory', 'after-volume', 'after-finish'])(
    'converges after a crash %s',
    async (point) => {
      await ensureClass();
      const ns = await freshNamespace(core, 'crash');
      const crashing = await controller(`crash-${point}`, point);
      await createClaim(core, ns, 'data', className);
      const code = await crashing.exited;
      expect(code).toBeNull(); // killed by SIGKILL, not a clean exit
      expect(crashing.child.signalCode).toBe('SIGKILL');
      expect(await crashedAt(crashing)).toEqual([{ point, object: `${ns}/data` }]);

      await controller(`restart-${point}`);
      const { claim, pv } = await waitBound(core, ns, 'data');
      expect(pv.metadata?.name).toBe(`pvc-${claim.metadata?.uid}`);
      expect(await volumesOf(ns)).toEqual([pv.metadata?.name]);
      expect(readdirSync(join(bed.WARREN_EXPORT_DIR, 'crash', ns))).toEqual(['data']);
      const settled = await poll(
        () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data' }),
        (c) => !(c.metadata?.finalizers ?? []).includes('warren.dev/directory'),
        { what: 'the claim to lose the provisioning finalizer' },
      );
      expect(settled.metadata?.annotations?.['warren.dev/intent']).toBeUndefined();
    },
  );

  it('removes the directory of a claim deleted between directory and PV', async () => {
    await ensureClass();
    const ns = await freshNamespace(core, 'crash');
    const crashing = await controller('abandon', 'after-directory');
    await createClaim(core, ns, 'doomed', className);
    await crashing.exited;
    const dir = join(bed.WARREN_EXPORT_DIR, 'crash', ns, 'doomed');
    expect(existsSync(dir)).toBe(true);
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'doomed' });
    // Our finalizer keeps the deleted claim visible until the directory is dealt with.
    const terminating = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'doomed' });
    expect(terminating.metadata?.deletionTimestamp).toBeDefined();

    await controller('abandon-restart');
    await waitGone(
      () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'doomed' }),
      'the deleted claim',
    );
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, 'crash', ns))).toBe(true); // parents are never removed
    expect(await volumesOf(ns)).toEqual([]);
  });

  it('releases everything of a claim deleted while its PV existed and the controller was down', async () => {
    await ensureClass();
    const ns = await freshNamespace(core, 'crash');
    // Killed right after creating the PV: the intent and finalizer are still on the claim.
    const crashing = await controller('deleted-after-volume', 'after-volume');
    await createClaim(core, ns, 'brief', className);
    await crashing.exited;
    expect(crashing.child.signalCode).toBe('SIGKILL');
    expect(await crashedAt(crashing)).toEqual([{ point: 'after-volume', object: `${ns}/brief` }]);
    const dir = join(bed.WARREN_EXPORT_DIR, 'crash', ns, 'brief');
    expect(existsSync(dir)).toBe(true);
    const readBrief = () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'brief' });
    // The binder binds the claim to its PV with no controller running; the intent stays on it.
    const bound = await poll(readBrief, (c) => c.status?.phase === 'Bound', {
      what: 'the claim to be Bound',
    });
    expect(bound.metadata?.finalizers).toContain('warren.dev/directory');
    const pvName = `pvc-${bound.metadata?.uid}`;
    expect(await volumesOf(ns)).toEqual([pvName]);

    // Another installation of Warren (another provisioner, the same finalizer name) leaves it alone.
    const other = await controller('deleted-after-volume-other', undefined, provisionerFor('crash-other'));
    const seen = await poll(
      async () => ({
        claim: await readBrief(),
        lines: other.logLines().filter((l) => l.namespace === ns && l.name === 'brief'),
      }),
      ({ claim, lines }) => lines.length > 0 || !claim.metadata?.finalizers?.includes('warren.dev/directory'),
      { what: 'the other installation to decide about the claim' },
    );
    expect(seen.claim.metadata?.finalizers).toContain('warren.dev/directory');
    expect(seen.lines[0]).toMatchObject({
      action: 'ignore',
      reason: `claim holds the finalizer for provisioner ${provisioner}`,
    });
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'brief' });

    await controller('deleted-after-volume-restart');
    await waitGone(
      () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'brief' }),
      'the deleted claim',
    );
    await waitGone(() => core.readPersistentVolume({ name: pvName }), 'its PV');
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, 'crash', ns))).toBe(true);
  });

  it('finishes a release interrupted after the directory was deleted', async () => {
    await ensureClass();
    const ns = await freshNamespace(core, 'crash');
    const first = await controller('release-first');
    await createClaim(core, ns, 'short', className);
    const { pv } = await waitBound(core, ns, 'short');
    await first.kill();
    const crashing = await controller('release-crash', 'after-release');
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'short' });
    await crashing.exited;
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, 'crash', ns, 'short'))).toBe(false);
    await controller('release-restart');
    await waitGone(() => core.readPersistentVolume({ name: pv.metadata?.name ?? '' }), 'the released PV');
  });
});

describe('two controllers without leader election', () => {
  it('make exactly one PV and one directory per claim', async () => {
    await ensureClass();
    const ns = await freshNamespace(core, 'race');
    await Promise.all([controller('race-a'), controller('race-b')]);
    const names = Array.from({ length: 12 }, (_, i) => `claim-${i}`);
    await Promise.all(names.map((n) => createClaim(core, ns, n, className)));
    const bound = await Promise.all(names.map((n) => waitBound(core, ns, n)));
    expect((await volumesOf(ns)).sort()).toEqual(bound.map((b) => b.pv.metadata?.name).sort());
    expect(readdirSync(join(bed.WARREN_EXPORT_DIR, 'crash', ns)).sort()).toEqual([...names].sort());
  });
});
