// Controller features on the real bed: WaitForFirstConsumer, templates with labels and
// annotations (hostile values refused), StatefulSet-style claims, leader election.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ControllerProcess, metricValue, startController } from '../../hack/bed/controller.ts';
import { poll } from '../../hack/lib/poll.ts';
import {
  claimLog,
  createClaim,
  createClass,
  provisionerFor,
  waitBound,
  waitClaimLogged,
  waitEvent,
  waitGone,
} from './fixtures.ts';
import { bedClients, freshNamespace } from './kube.ts';

const { kc, core, storage } = bedClients();
const bed = inject('bed');
const provisioner = provisionerFor('features');
const logDir = mkdtempSync(join(tmpdir(), 'warren-features-'));
const suffix = Date.now().toString(36);
const share = { server: bed.WARREN_NFS_SERVER, share: bed.WARREN_NFS_SHARE };
let ns: string;
let controller: ControllerProcess;

beforeAll(async () => {
  ns = await freshNamespace(core, 'feat');
  controller = await startController({
    bed,
    provisioner,
    logFile: join(logDir, 'controller.log'),
  });
});
afterAll(async () => {
  await controller?.stop();
});

describe('WaitForFirstConsumer', () => {
  it('provisions only once the scheduler has picked a node', async () => {
    const name = `wffc-${suffix}`;
    await createClass(storage, name, {
      provisioner,
      bindingMode: 'WaitForFirstConsumer',
      parameters: { ...share, subDir: 'wffc-${pvc.metadata.name}' },
    });
    // kube-controller-manager names the provisioner on a WaitForFirstConsumer claim only once a
    // node is selected; set it early, so that only Warren's own check keeps the claim waiting.
    const claim = await createClaim(core, ns, 'late', name, {
      annotations: { 'volume.kubernetes.io/storage-provisioner': provisioner },
    });
    // The positive sign: the controller has reconciled this claim and decided to wait for a node.
    await waitClaimLogged(controller, ns, 'late', { action: 'wait', reason: /WaitForFirstConsumer/ });
    await expect(core.readPersistentVolume({ name: `pvc-${claim.metadata?.uid}` })).rejects.toMatchObject({
      code: 404,
    });
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, 'wffc-late'))).toBe(false);
    expect(claimLog(controller, ns, 'late').filter((l) => l.action !== 'wait')).toEqual([]);

    await core.patchNamespacedPersistentVolumeClaim({
      namespace: ns,
      name: 'late',
      body: [
        { op: 'add', path: '/metadata/annotations/volume.kubernetes.io~1selected-node', value: 'node-a' },
      ],
    });
    const { pv } = await waitBound(core, ns, 'late');
    expect(pv.metadata?.name).toBe(`pvc-${claim.metadata?.uid}`);
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, 'wffc-late'))).toBe(true);
  });
});

describe('subDir templates', () => {
  const className = `tmpl-${suffix}`;
  beforeAll(async () => {
    await createClass(storage, className, {
      provisioner,
      parameters: {
        ...share,
        subDir:
          "teams/${pvc.metadata.labels['team']}/${pvc.metadata.annotations['app.kubernetes.io/name']}-${pvc.metadata.name}",
        mode: '0750',
        uid: '1234',
        gid: '5678',
      },
    });
  });

  it('makes nested directories from labels and annotations, with the class mode and owner', async () => {
    await createClaim(core, ns, 'cache', className, {
      labels: { team: 'blue' },
      annotations: { 'app.kubernetes.io/name': 'web' },
    });
    const { pv } = await waitBound(core, ns, 'cache');
    expect(pv.spec?.csi?.volumeAttributes?.subDir).toBe('teams/blue/web-cache');
    const { statSync } = await import('node:fs');
    const st = statSync(join(bed.WARREN_EXPORT_DIR, 'teams/blue/web-cache'));
    expect({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid }).toEqual({
      mode: 0o750,
      uid: 1234,
      gid: 5678,
    });
  });

  it.each([
    ['an annotation that climbs', { team: 'green' }, { 'app.kubernetes.io/name': '..' }, '".."'],
    ['an annotation with a slash', { team: 'red' }, { 'app.kubernetes.io/name': '../../etc' }, '../../etc'],
    ['a missing label', {}, { 'app.kubernetes.io/name': 'web' }, 'team'],
  ])(
    'refuses %s with an event naming the value, and makes nothing',
    async (_what, labels, annotations, named) => {
      const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
      // Only this class writes under teams/ (other test files share the export root).
      const teamsTree = () => readdirSync(join(bed.WARREN_EXPORT_DIR, 'teams'), { recursive: true }).sort();
      const before = teamsTree();
      const claim = await createClaim(core, ns, name, className, { labels, annotations });
      const event = await waitEvent(core, ns, name, 'ProvisioningFailed');
      expect(event.message).toContain(named);
      await expect(core.readPersistentVolume({ name: `pvc-${claim.metadata?.uid}` })).rejects.toMatchObject({
        code: 404,
      });
      expect(teamsTree()).toEqual(before);
    },
  );
});

describe('StatefulSet-style claims', () => {
  it('gives data-web-0..2 one directory each, kept while their pods come and go and across a controller restart', async () => {
    const className = `sts-${suffix}`;
    await createClass(storage, className, {
      provisioner,
      parameters: { ...share, subDir: 'sts/${pvc.metadata.namespace}/${pvc.metadata.name}' },
    });
    const names = ['data-web-0', 'data-web-1', 'data-web-2'];
    await Promise.all(names.map((n) => createClaim(core, ns, n, className)));
    const first = await Promise.all(names.map((n) => waitBound(core, ns, n)));
    for (const n of names)
      writeFileSync(join(bed.WARREN_EXPORT_DIR, 'sts', ns, n, 'index.html'), `hello from ${n}\n`);

    // The pods web-0..2, as the StatefulSet controller makes them (the bed has no scheduler or
    // kubelet, so they stay Pending), deleted and made again as on a rolling restart.
    await core
      .createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'default' } } })
      .catch((err: { code?: number }) => {
        if (err.code !== 409) throw err;
      });
    const pods = () => names.map((claimName, i) => ({ name: `web-${i}`, claimName }));
    const createPods = () =>
      Promise.all(
        pods().map(({ name, claimName }) =>
          core.createNamespacedPod({
            namespace: ns,
            body: {
              metadata: { name, labels: { app: 'web' } },
              spec: {
                automountServiceAccountToken: false,
                containers: [
                  { name: 'web', image: 'web:test', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
                ],
                volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
              },
            },
          }),
        ),
      );
    await createPods();
    await Promise.all(
      pods().map(({ name }) => core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 })),
    );
    await Promise.all(
      pods().map(({ name }) =>
        waitGone(() => core.readNamespacedPod({ namespace: ns, name }), `pod ${name}`),
      ),
    );
    await createPods();

    await controller.stop();
    controller = await startController({
      bed,
      provisioner,
      logFile: join(logDir, 'controller-2.log'),
    });
    // The positive sign: the new controller has reconciled each claim and left it alone, bound.
    for (const n of names)
      await waitClaimLogged(controller, ns, n, { action: 'ignore', reason: /bound to pvc-/ });
    const again = await Promise.all(names.map((n) => waitBound(core, ns, n)));
    expect(again.map((b) => b.pv.metadata?.name)).toEqual(first.map((b) => b.pv.metadata?.name));
    expect(readdirSync(join(bed.WARREN_EXPORT_DIR, 'sts', ns)).sort()).toEqual(names);
    for (const n of names)
      expect(readFileSync(join(bed.WARREN_EXPORT_DIR, 'sts', ns, n, 'index.html'), 'utf8')).toBe(
        `hello from ${n}\n`,
      );
    expect(names.flatMap((n) => claimLog(controller, ns, n)).filter((l) => l.action !== 'ignore')).toEqual(
      [],
    );
    const listed = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
    expect(listed.items.map((p) => p.metadata?.name).sort()).toEqual(['web-0', 'web-1', 'web-2']);
    await Promise.all(
      pods().map(({ name }) => core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 })),
    );
  });
});

describe('leader election', () => {
  const replicas: ControllerProcess[] = [];
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.kill()));
  });

  it('lets exactly one of two replicas provision, and the other take over when it dies', async () => {
    const leaseName = `warren-${suffix}`;
    const electionProvisioner = provisionerFor('election');
    const className = `elect-${suffix}`;
    await createClass(storage, className, {
      provisioner: electionProvisioner,
      parameters: { ...share, subDir: 'elect/${pvc.metadata.name}' },
    });
    const args = [
      '--leader-elect=true',
      `--leader-election-lease-name=${leaseName}`,
      '--leader-election-namespace=default',
      '--leader-election-lease-duration=4s',
    ];
    for (const i of [0, 1]) {
      replicas.push(
        await startController({
          bed,
          provisioner: electionProvisioner,
          args,
          logFile: join(logDir, `replica-${i}.log`),
        }),
      );
    }
    const leaderFlags = () =>
      Promise.all(replicas.map((r) => metricValue(r.metricsUrl, 'warren_leader').catch(() => -1)));
    const flags = await poll(leaderFlags, (f) => [...f].sort().join() === '0,1', {
      what: 'one leader and one standby',
    });
    expect(flags.filter((v) => v === 1)).toHaveLength(1);
    const leaderIndex = (await leaderFlags()).indexOf(1);
    const leader = replicas[leaderIndex] as ControllerProcess;
    const standby = replicas[1 - leaderIndex] as ControllerProcess;

    await createClaim(core, ns, 'elect-a', className);
    await waitBound(core, ns, 'elect-a');
    expect(await metricValue(leader.metricsUrl, 'warren_provision_total', { result: 'success' })).toBe(1);
    expect(await metricValue(standby.metricsUrl, 'warren_provision_total', { result: 'success' })).toBe(0);
    expect((await fetch(`${standby.metricsUrl}/readyz`)).status).toBe(200);

    await leader.kill();
    const killedAt = Date.now();
    await createClaim(core, ns, 'elect-b', className);
    await poll(
      () => metricValue(standby.metricsUrl, 'warren_leader'),
      (v) => v === 1,
      { what: 'the standby to lead', timeoutMs: 30_000 },
    );
    const tookOver = Date.now() - killedAt;
    // Within the lease (4 s) plus one retry period and the time to see the Lease (slack for a
    // busy 2-core machine): a standby that waited for something else would take far longer.
    expect(tookOver).toBeLessThan(4_000 + 6_000);
    await waitBound(core, ns, 'elect-b', 30_000);
    expect(await metricValue(standby.metricsUrl, 'warren_provision_total', { result: 'success' })).toBe(1);
    const lease = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: 'default', name: leaseName });
    expect(lease.spec?.holderIdentity).toContain(String(standby.child.pid));
    console.log(
      `standby took over and provisioned within ${tookOver} ms of the leader's SIGKILL (lease 4 s)`,
    );
  });
});
