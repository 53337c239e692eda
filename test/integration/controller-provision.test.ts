// `warren controller` on the real bed: claims become Bound volumes backed by directories that
// the real NFS server serves, and released volumes are deleted, archived or kept as configured.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nfsServerOf } from '../../hack/bed/bed.ts';
import { type ControllerProcess, metricValue, startController } from '../../hack/bed/controller.ts';
import { nfsUrl } from '../../hack/bed/nfs-server.ts';
import { poll } from '../../hack/lib/poll.ts';
import {
  createClaim,
  createClass,
  eventsFor,
  provisionerFor,
  waitBound,
  waitEvent,
  waitGone,
} from './fixtures.ts';
import { bedClients, freshNamespace } from './kube.ts';

const { core, storage } = bedClients();
const provisioner = provisionerFor('provision');
const bed = inject('bed');
const logDir = mkdtempSync(join(tmpdir(), 'warren-ctl-'));
const suffix = Date.now().toString(36);
const cls = (name: string) => `${name}-${suffix}`;
let ns: string;
let controller: ControllerProcess;

beforeAll(async () => {
  ns = await freshNamespace(core, 'prov');
  controller = await startController({
    bed,
    provisioner,
    logFile: join(logDir, 'controller.log'),
  });
  await createClass(storage, cls('plain'), { provisioner });
  await createClass(storage, cls('archive'), {
    provisioner,
    parameters: {
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      onDelete: 'archive',
      subDir: 'archive-${pvc.metadata.name}',
    },
  });
  await createClass(storage, cls('retain-dir'), {
    provisioner,
    parameters: {
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      onDelete: 'retain',
      subDir: 'kept-${pvc.metadata.name}',
    },
  });
  await createClass(storage, cls('reclaim-retain'), {
    provisioner,
    reclaimPolicy: 'Retain',
    parameters: {
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      subDir: 'retained-${pvc.metadata.name}',
    },
  });
});

afterAll(async () => {
  await controller?.stop();
});

const nfs = () => nfsServerOf(bed);

describe('provisioning', () => {
  it('binds a claim to a new PV whose directory the NFS server serves', async () => {
    await createClaim(core, ns, 'plain', cls('plain'), { size: '2Gi', accessModes: ['ReadWriteOnce'] });
    const { claim, pv } = await waitBound(core, ns, 'plain');
    const subDir = `${ns}-plain-${pv.metadata?.name}`;
    expect(pv.metadata?.name).toBe(`pvc-${claim.metadata?.uid}`);
    expect(pv.spec?.csi?.driver).toBe(provisioner);
    expect(pv.spec?.csi?.volumeAttributes).toEqual({
      server: bed.WARREN_NFS_SERVER,
      share: bed.WARREN_NFS_SHARE,
      subDir,
      onDelete: 'delete',
    });
    expect(pv.spec?.capacity?.storage).toBe('2Gi');
    expect(pv.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(pv.spec?.storageClassName).toBe(cls('plain'));
    expect(pv.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe(provisioner);
    expect(pv.metadata?.finalizers).toContain('warren.dev/directory');
    expect(Buffer.byteLength(pv.spec?.csi?.volumeHandle ?? '')).toBeLessThanOrEqual(128);

    for (const version of [3, 4] as const) {
      const listing = await execa('nfs-ls', [nfsUrl(nfs(), version)]);
      expect(listing.stdout).toMatch(new RegExp(`^drwxrwxrwx .* ${subDir}$`, 'm'));
    }
    const starting = await waitEvent(core, ns, 'plain', 'Provisioning');
    expect(starting.message).toContain(subDir);
    const event = await waitEvent(core, ns, 'plain', 'ProvisioningSucceeded');
    expect(event.message).toContain(subDir);
    const after = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'plain' });
    expect(after.metadata?.finalizers ?? []).not.toContain('warren.dev/directory');
    // Warren wrote the claim's side of the binding, as the binder would have: the binder's mark,
    // and the status with the PV's access modes and capacity, in one write of the status.
    expect(after.metadata?.annotations?.['pv.kubernetes.io/bind-completed']).toBe('yes');
    expect(after.status).toMatchObject({
      phase: 'Bound',
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '2Gi' },
    });
    const phaseSetBy = (after.metadata?.managedFields ?? [])
      .filter((f) => f.subresource === 'status' && JSON.stringify(f.fieldsV1).includes('"f:phase"'))
      .map((f) => f.manager ?? '');
    expect(phaseSetBy.length).toBeGreaterThan(0);
    expect(phaseSetBy.filter((m) => m.startsWith('kube-controller-manager'))).toEqual([]);
  });

  it.each([
    ['delete', 'plain', (dir: string) => expect(existsSync(dir)).toBe(false)],
    ['retain', 'retain-dir', (dir: string) => expect(readdirSync(dir)).toEqual(['data.txt'])],
  ] as const)('onDelete %s with reclaim policy Delete', async (_policy, className, check) => {
    const name = `gone-${className}`;
    await createClaim(core, ns, name, cls(className));
    const { pv } = await waitBound(core, ns, name);
    const dir = join(bed.WARREN_EXPORT_DIR, pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing');
    writeFileSync(join(dir, 'data.txt'), 'user data\n');
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name });
    await waitGone(
      () => core.readPersistentVolume({ name: pv.metadata?.name ?? '' }),
      `PV ${pv.metadata?.name}`,
    );
    check(dir);
  });

  it('onDelete archive renames the directory to a unique archived- name and keeps the data', async () => {
    await createClaim(core, ns, 'arch', cls('archive'));
    const { pv } = await waitBound(core, ns, 'arch');
    writeFileSync(join(bed.WARREN_EXPORT_DIR, 'archive-arch', 'data.txt'), 'keep me\n');
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'arch' });
    await waitGone(() => core.readPersistentVolume({ name: pv.metadata?.name ?? '' }), 'archived PV');
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, 'archive-arch'))).toBe(false);
    const archived = readdirSync(bed.WARREN_EXPORT_DIR).filter((d) => d.startsWith('archived-archive-arch-'));
    expect(archived).toHaveLength(1);
    expect(readdirSync(join(bed.WARREN_EXPORT_DIR, archived[0] ?? ''))).toEqual(['data.txt']);
  });

  it('reports what it did on /metrics, and answers /healthz and /readyz', async () => {
    // Runs after the tests above: at least one provision and one release (delete, archive) each.
    const at = (path: string) => fetch(`${controller.metricsUrl}${path}`).then((r) => r.status);
    expect({ healthz: await at('/healthz'), readyz: await at('/readyz') }).toEqual({
      healthz: 200,
      readyz: 200,
    });
    const value = (name: string, labels: Record<string, string> = {}) =>
      metricValue(controller.metricsUrl, name, labels);
    const seen = {
      provisioned: await value('warren_provision_total', { result: 'success' }),
      provisionTimed: await value('warren_provision_duration_seconds_count', { result: 'success' }),
      deleted: await value('warren_delete_total', { action: 'delete', result: 'success' }),
      archived: await value('warren_delete_total', { action: 'archive', result: 'success' }),
      deleteTimed: await value('warren_delete_duration_seconds_count', {
        action: 'delete',
        result: 'success',
      }),
      shareUp: await value('warren_share_available'),
      leader: await value('warren_leader'),
    };
    expect(seen.provisioned).toBeGreaterThanOrEqual(4);
    expect(seen.provisionTimed).toBe(seen.provisioned);
    expect(seen.deleted).toBeGreaterThanOrEqual(1);
    expect(seen.archived).toBe(1);
    expect(seen.deleteTimed).toBe(seen.deleted);
    expect({ shareUp: seen.shareUp, leader: seen.leader }).toEqual({ shareUp: 1, leader: 1 });
  });

  it('reclaim policy Retain keeps the PV Released and the directory untouched', async () => {
    await createClaim(core, ns, 'ret', cls('reclaim-retain'));
    const { pv } = await waitBound(core, ns, 'ret');
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'ret' });
    const released = await poll(
      () => core.readPersistentVolume({ name: pv.metadata?.name ?? '' }),
      (v) => v.status?.phase === 'Released',
      { what: 'PV Released' },
    );
    expect(released.metadata?.deletionTimestamp).toBeUndefined();
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, 'retained-ret'))).toBe(true);
    // Deleting a retained PV by hand drops Warren's finalizer and still keeps the directory.
    await core.deletePersistentVolume({ name: pv.metadata?.name ?? '' });
    await waitGone(() => core.readPersistentVolume({ name: pv.metadata?.name ?? '' }), 'retained PV');
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, 'retained-ret'))).toBe(true);
  });
});

describe('claims Warren must refuse', () => {
  it('names an unknown StorageClass parameter in a ProvisioningFailed event and makes no PV', async () => {
    await createClass(storage, cls('typo'), {
      provisioner,
      parameters: { server: bed.WARREN_NFS_SERVER, share: bed.WARREN_NFS_SHARE, onDelte: 'retain' },
    });
    const claim = await createClaim(core, ns, 'typo', cls('typo'));
    const event = await waitEvent(core, ns, 'typo', 'ProvisioningFailed');
    expect(event.type).toBe('Warning');
    expect(event.message).toContain('onDelte');
    await expect(core.readPersistentVolume({ name: `pvc-${claim.metadata?.uid}` })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('explains an unconfigured share and makes no PV', async () => {
    await createClass(storage, cls('elsewhere'), {
      provisioner,
      parameters: { server: 'nfs.elsewhere.example', share: '/data' },
    });
    const claim = await createClaim(core, ns, 'elsewhere', cls('elsewhere'));
    const event = await waitEvent(core, ns, 'elsewhere', 'ProvisioningFailed');
    expect(event.message).toContain('--share');
    await expect(core.readPersistentVolume({ name: `pvc-${claim.metadata?.uid}` })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('rejects a block-mode claim once, without a hot retry loop', async () => {
    await createClaim(core, ns, 'block', cls('plain'), { volumeMode: 'Block' });
    const event = await waitEvent(core, ns, 'block', 'ProvisioningFailed');
    expect(event.message).toContain('Block');
    // A hot loop would reconcile (and count a rejection) many times a second; events are
    // aggregated, so the counter is what shows it. An update of the claim (by
    // kube-controller-manager) and a resync (every 20 s here) may each bring one more reconcile.
    const rejected = () =>
      metricValue(controller.metricsUrl, 'warren_provision_total', { result: 'rejected' });
    const first = await rejected();
    expect(first).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await rejected()) - first).toBeLessThanOrEqual(2);
    const events = (await eventsFor(core, ns, 'block')).filter((e) => e.reason === 'ProvisioningFailed');
    expect(events).toHaveLength(1);
  });
});

describe('directories shared by two claims', () => {
  it('refuses to give a second claim a directory another volume uses, naming that volume', async () => {
    await createClass(storage, cls('by-name'), {
      provisioner,
      parameters: {
        server: bed.WARREN_NFS_SERVER,
        share: bed.WARREN_NFS_SHARE,
        subDir: 'by-name-${pvc.metadata.name}',
      },
    });
    const other = await freshNamespace(core, 'prov-other');
    await createClaim(core, ns, 'same', cls('by-name'));
    const { pv } = await waitBound(core, ns, 'same');
    writeFileSync(join(bed.WARREN_EXPORT_DIR, 'by-name-same', 'first.txt'), 'first claim\n');
    const second = await createClaim(core, other, 'same', cls('by-name'));
    const event = await waitEvent(core, other, 'same', 'ProvisioningFailed');
    expect(event.message).toContain(pv.metadata?.name);
    await expect(core.readPersistentVolume({ name: `pvc-${second.metadata?.uid}` })).rejects.toMatchObject({
      code: 404,
    });
    expect(readdirSync(join(bed.WARREN_EXPORT_DIR, 'by-name-same'))).toEqual(['first.txt']);
  });
});

describe('volumes Warren must not touch', () => {
  it('refuses to release a PV whose attributes do not match its handle, and says so on the PV', async () => {
    const victim = join(bed.WARREN_EXPORT_DIR, `victim-${suffix}`);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(victim);
    writeFileSync(join(victim, 'precious.txt'), 'not yours\n');
    const name = `forged-${suffix}`;
    const { encodeVolumeId } = await import('../../src/provisioning/volume-id.ts');
    await core.createPersistentVolume({
      body: {
        metadata: {
          name,
          annotations: { 'pv.kubernetes.io/provisioned-by': provisioner },
          finalizers: ['warren.dev/directory'],
        },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteMany'],
          persistentVolumeReclaimPolicy: 'Delete',
          storageClassName: cls('plain'),
          // Bound to a claim that does not exist: the binder marks it Released at once.
          claimRef: { namespace: ns, name: 'nobody', uid: '00000000-0000-0000-0000-000000000000' },
          csi: {
            driver: provisioner,
            volumeHandle: encodeVolumeId(
              { server: bed.WARREN_NFS_SERVER, share: bed.WARREN_NFS_SHARE, subDir: 'innocent' },
              'delete',
            ),
            volumeAttributes: {
              server: bed.WARREN_NFS_SERVER,
              share: bed.WARREN_NFS_SHARE,
              subDir: `victim-${suffix}`,
              onDelete: 'delete',
            },
          },
        },
      },
    });
    const event = await waitEvent(core, 'default', name, 'VolumeFailedDelete');
    expect(event.message).toContain('do not match');
    expect(readdirSync(victim)).toEqual(['precious.txt']);
    const pv = await core.readPersistentVolume({ name });
    expect(pv.metadata?.finalizers).toContain('warren.dev/directory');
    // Clean up by hand, as an operator would after reading the event.
    await core.patchPersistentVolume({ name, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await core.deletePersistentVolume({ name });
  });
});
