// Expansion on the real bed: a bound claim's resize completes in `warren controller` (PV capacity,
// claim status and conditions as external-resizer leaves them), beside kube-controller-manager's
// expand controller; a shrink is refused by the API server, and below the volume's size by Warren.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions, type V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ControllerProcess, metricValue, startController } from '../../hack/bed/controller.ts';
import { poll } from '../../hack/lib/poll.ts';
import { createClaim, createClass, eventsFor, provisionerFor, waitBound, waitEvent } from './fixtures.ts';
import { bedClients, freshNamespace } from './kube.ts';

const { core, storage } = bedClients();
const bed = inject('bed');
const provisioner = provisionerFor('resize');
const logDir = mkdtempSync(join(tmpdir(), 'warren-resize-'));
const suffix = Date.now().toString(36);
const expandable = `grow-${suffix}`;
const fixed = `fixed-${suffix}`;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
let ns: string;
let controller: ControllerProcess;

beforeAll(async () => {
  ns = await freshNamespace(core, 'resize');
  await createClass(storage, expandable, { provisioner, allowVolumeExpansion: true });
  await createClass(storage, fixed, { provisioner });
  controller = await startController({ bed, provisioner, logFile: join(logDir, 'controller.log') });
});
afterAll(async () => {
  await controller?.stop();
  for (const name of [expandable, fixed]) await storage.deleteStorageClass({ name }).catch(() => undefined);
});

const requestSize = (name: string, storage: string) =>
  core.patchNamespacedPersistentVolumeClaim(
    { namespace: ns, name, body: { spec: { resources: { requests: { storage } } } } },
    mergePatch,
  );

const readClaim = (name: string) => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name });

const capacityIs = (name: string, storage: string) =>
  poll(
    () => readClaim(name),
    (c: V1PersistentVolumeClaim) => c.status?.capacity?.storage === storage,
    { what: `claim ${ns}/${name} to report capacity ${storage}` },
  );

describe('expansion', () => {
  it('completes a resize of a bound claim: PV capacity, claim status, Events, metric', async () => {
    await createClaim(core, ns, 'grow', expandable, { size: '1Gi' });
    const { pv } = await waitBound(core, ns, 'grow');
    expect(pv.spec?.capacity?.storage).toBe('1Gi');

    await requestSize('grow', '3Gi');
    const claim = await capacityIs('grow', '3Gi');
    const after = await core.readPersistentVolume({ name: pv.metadata?.name ?? '' });
    expect(after.spec?.capacity?.storage).toBe('3Gi');
    // What external-resizer leaves on a claim when no node step is needed.
    expect({
      allocatedResources: claim.status?.allocatedResources,
      allocatedResourceStatuses: claim.status?.allocatedResourceStatuses,
      conditions: (claim.status?.conditions ?? []).map((c) => c.type),
    }).toEqual({
      allocatedResources: { storage: '3Gi' },
      allocatedResourceStatuses: undefined,
      conditions: [],
    });

    const events = await waitEvent(core, ns, 'grow', 'VolumeResizeSuccessful');
    expect(events.message).toBe(`volume ${pv.metadata?.name} resized from 1Gi to 3Gi`);
    const reasons = (await eventsFor(core, ns, 'grow')).map((e) => `${e.source?.component}: ${e.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([`${provisioner}: Resizing`, `${provisioner}: VolumeResizeSuccessful`]),
    );
    // kube-controller-manager's expand controller saw the resize and left it to an external one.
    await waitEvent(core, ns, 'grow', 'ExternalExpanding');
    expect(await metricValue(controller.metricsUrl, 'warren_resize_total', { result: 'success' })).toBe(1);
  });

  it('a shrink below the claim capacity is refused by the API server; nothing changes', async () => {
    await createClaim(core, ns, 'shrink', expandable, { size: '2Gi' });
    const { pv } = await waitBound(core, ns, 'shrink');
    await expect(requestSize('shrink', '1Gi')).rejects.toMatchObject({ code: 422 });
    const error = await requestSize('shrink', '1Gi').catch((e: { body?: string }) => String(e.body));
    expect(error).toContain('can not be less than');
    expect((await readClaim('shrink')).status?.capacity?.storage).toBe('2Gi');
    const still = await core.readPersistentVolume({ name: pv.metadata?.name ?? '' });
    expect(still.spec?.capacity?.storage).toBe('2Gi');
  });

  it('a request below the size the volume already has is refused with a Warning; the claim keeps that size', async () => {
    await createClaim(core, ns, 'below', expandable, { size: '1Gi' });
    const { pv } = await waitBound(core, ns, 'below');
    const pvName = pv.metadata?.name ?? '';
    // The volume is already 10Gi (an admin set it); the claim now asks for 5Gi, more than its 1Gi.
    await core.patchPersistentVolume(
      { name: pvName, body: { spec: { capacity: { storage: '10Gi' } } } },
      mergePatch,
    );
    await requestSize('below', '5Gi');
    const warning = await waitEvent(core, ns, 'below', 'VolumeResizeFailed');
    expect({ type: warning.type, message: warning.message }).toEqual({
      type: 'Warning',
      message: `requested 5Gi is less than the 10Gi volume ${pvName} already has; Warren never shrinks a volume, the claim keeps 10Gi`,
    });
    await capacityIs('below', '10Gi');
    expect((await core.readPersistentVolume({ name: pvName })).spec?.capacity?.storage).toBe('10Gi');
  });

  it('a class without allowVolumeExpansion: the API server refuses the resize', async () => {
    await createClaim(core, ns, 'fixed', fixed, { size: '1Gi' });
    await waitBound(core, ns, 'fixed');
    await expect(requestSize('fixed', '2Gi')).rejects.toMatchObject({ code: 403 });
    expect((await readClaim('fixed')).status?.capacity?.storage).toBe('1Gi');
  });
});
