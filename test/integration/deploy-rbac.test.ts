// The RBAC that deploy/ ships is enough for `warren controller`: the real ServiceAccount, roles and
// bindings (kustomize-rendered into a test namespace) are applied to the bed, and the controller runs
// with that account's token, leader election on, through a full provision and release cycle, without
// a single 403. A controller with an account that has no role shows that a 403 would be seen.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditLogPath } from '../../hack/bed/control-plane.ts';
import { type ControllerProcess, startController } from '../../hack/bed/controller.ts';
import { poll } from '../../hack/lib/poll.ts';
import { applyAll, deployDir, kustomizeOverlay, type Manifest } from './deploy-render.ts';
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

const bed = inject('bed');
const { kc: adminKc, core, storage } = bedClients();
const coordination = adminKc.makeApiClient(CoordinationV1Api);
const custom = adminKc.makeApiClient(CustomObjectsApi);
const snapshotGroup = { group: 'snapshot.storage.k8s.io', version: 'v1' };
const provisioner = provisionerFor('deploy-rbac');
const suffix = Date.now().toString(36);
const workDir = mkdtempSync(join(tmpdir(), 'warren-deploy-rbac-'));
const rbacKinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
let ns: string;
let rbac: Manifest[] = [];
const classNames = [`rbac-${suffix}`, `rbac-typo-${suffix}`];
const running: ControllerProcess[] = [];

/** A 403 as the controller would log it: an API error's code or status text, or our own wording. */
const forbidden = /forbidden|HTTP-Code: 403|"code":403/i;

beforeAll(async () => {
  ns = await freshNamespace(core, 'rbac');
  const rendered = await kustomizeOverlay(deployDir, { namespace: ns, nameSuffix: `-${suffix}` });
  rbac = rendered.filter((o) => rbacKinds.has(o.kind));
  expect(rbac.map((o) => o.kind).sort()).toEqual([
    'ClusterRole',
    'ClusterRoleBinding',
    'Role',
    'RoleBinding',
    'ServiceAccount',
    'ServiceAccount',
  ]);
  expect(await applyAll(adminKc, rbac, { dryRun: false })).toEqual([]);
}, 600_000);

afterAll(async () => {
  await Promise.all(running.map((c) => c.kill()));
  // Cluster-scoped objects outlive the namespace: remove them.
  const api = KubernetesObjectApi.makeApiClient(adminKc);
  for (const o of rbac.filter((x) => x.kind === 'ClusterRole' || x.kind === 'ClusterRoleBinding'))
    await api.delete(o).catch(() => undefined);
  for (const name of classNames) await storage.deleteStorageClass({ name }).catch(() => undefined);
});

describe('the controller under the RBAC from deploy/', () => {
  it('provisions and releases a volume with leader election on, and is never forbidden', async () => {
    const account = `warren-controller-${suffix}`;
    const kubeconfig = await kubeconfigFor(account);
    const [className = '', typoClass = ''] = classNames;
    await createClass(storage, className, { provisioner, allowVolumeExpansion: true });
    await createClass(storage, typoClass, {
      provisioner,
      parameters: { server: bed.WARREN_NFS_SERVER, share: bed.WARREN_NFS_SHARE, onDelte: 'retain' },
    });

    const controller = await startControllerAs(kubeconfig, join(workDir, 'controller.log'));
    // Leader election in the account's own namespace (POD_NAMESPACE, as in the Deployment).
    const lease = await poll(
      () => coordination.readNamespacedLease({ namespace: ns, name: 'warren-controller' }),
      (l) => Boolean(l.spec?.holderIdentity),
      { what: `Lease ${ns}/warren-controller to have a holder` },
    );
    expect(lease.spec?.holderIdentity).toContain(String(controller.child.pid));

    // A refused claim: its ProvisioningFailed event is created, then its count patched on a retry.
    await createClaim(core, ns, 'typo', typoClass);

    // Provision: claim get/patch, PV create, events create.
    await createClaim(core, ns, 'data', className);
    const { pv } = await waitBound(core, ns, 'data');
    const subDir = pv.spec?.csi?.volumeAttributes?.subDir ?? 'missing';
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, subDir))).toBe(true);
    await waitEvent(core, ns, 'data', 'ProvisioningSucceeded');

    // Resize: claim status patch (in progress, finished), PV patch (capacity).
    await core.patchNamespacedPersistentVolumeClaim(
      { namespace: ns, name: 'data', body: { spec: { resources: { requests: { storage: '2Gi' } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await poll(
      () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data' }),
      (c) => c.status?.capacity?.storage === '2Gi',
      { what: 'the claim to report its new capacity' },
    );

    // Snapshot: content informer, being-created annotation (patch), status (patch), finalizer (patch).
    const snapshotClass = `rbac-snap-${suffix}`;
    await custom.createClusterCustomObject({
      ...snapshotGroup,
      plural: 'volumesnapshotclasses',
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshotClass',
        metadata: { name: snapshotClass },
        driver: provisioner,
        deletionPolicy: 'Delete',
      },
    });
    await custom.createNamespacedCustomObject({
      ...snapshotGroup,
      namespace: ns,
      plural: 'volumesnapshots',
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'snap' },
        spec: { volumeSnapshotClassName: snapshotClass, source: { persistentVolumeClaimName: 'data' } },
      },
    });
    const readSnap = () =>
      custom.getNamespacedCustomObject({
        ...snapshotGroup,
        namespace: ns,
        plural: 'volumesnapshots',
        name: 'snap',
      });
    await poll(readSnap, (s: { status?: { readyToUse?: boolean } }) => s.status?.readyToUse === true, {
      what: 'the VolumeSnapshot to be readyToUse',
    });
    await custom.deleteNamespacedCustomObject({
      ...snapshotGroup,
      namespace: ns,
      plural: 'volumesnapshots',
      name: 'snap',
    });
    await waitGone(readSnap, `VolumeSnapshot ${ns}/snap`, 60_000);
    await custom
      .deleteClusterCustomObject({ ...snapshotGroup, plural: 'volumesnapshotclasses', name: snapshotClass })
      .catch(() => undefined);

    // Release: PV patch (finalizer) and delete, directory removed.
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'data' });
    await waitGone(
      () => core.readPersistentVolume({ name: pv.metadata?.name ?? '' }),
      `PV ${pv.metadata?.name}`,
    );
    expect(existsSync(join(bed.WARREN_EXPORT_DIR, subDir))).toBe(false);

    await poll(
      () => eventsFor(core, ns, 'typo'),
      (list) => list.some((e) => e.reason === 'ProvisioningFailed' && (e.count ?? 1) >= 2),
      {
        what: 'the ProvisioningFailed event on the refused claim to be patched to count 2',
        timeoutMs: 90_000,
      },
    );

    await controller.stop();
    expect(controller.logText()).toContain('became leader');
    expect(controller.logText()).not.toMatch(forbidden);

    // What the controller really called (the apiserver's audit log of this account) against what
    // deploy/ grants: nothing used is missing, and nothing granted goes unused but for the calls
    // that only happen on a conflict or a lost race, which this run may not have hit.
    const used = usedBy(`system:serviceaccount:${ns}:${account}`);
    const granted = grantsIn(rbac);
    const onlyOnConflict = new Set([
      // clearIntent re-reads after a 409; the release reads the claim live when its PV is still
      // Bound, and then marks the PV Released: only when Warren sees the claim gone before the
      // binder has marked the PV (a race of two requests each here; cluster-writes.test.ts makes
      // both calls on the real apiserver).
      ' persistentvolumeclaims get',
      ' persistentvolumes/status patch',
    ]);
    expect(used.size).toBeGreaterThanOrEqual(10);
    expect([...used].filter((g) => !granted.has(g))).toEqual([]);
    expect([...granted].filter((g) => !used.has(g) && !onlyOnConflict.has(g))).toEqual([]);
    console.log(`the controller's account used: ${[...used].sort().join('; ')}`);
  }, 240_000);

  it('a controller whose account has no role is forbidden, and the log says so', async () => {
    const nobody = `nobody-${suffix}`;
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: nobody } } });
    const controller = await startControllerAs(await kubeconfigFor(nobody), join(workDir, 'nobody.log'));
    await poll(
      async () => controller.logText(),
      (text) => forbidden.test(text),
      { what: 'the controller without RBAC to log a 403', timeoutMs: 30_000 },
    );
    await controller.stop();
  });
});

/** "group resource verb" for every request the user made, from the bed's audit log. */
function usedBy(username: string): Set<string> {
  const used = new Set<string>();
  for (const line of readFileSync(auditLogPath(bed.WARREN_BED_DIR), 'utf8').split('\n')) {
    if (!line.endsWith('}')) continue; // empty, or the last line still being written
    const event = JSON.parse(line) as {
      user?: { username?: string };
      verb?: string;
      objectRef?: { apiGroup?: string; resource?: string; subresource?: string };
    };
    const ref = event.objectRef;
    if (event.user?.username !== username || !ref?.resource) continue;
    const resource = ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource;
    used.add(`${ref.apiGroup ?? ''} ${resource} ${event.verb}`);
  }
  return used;
}

/** "group resource verb" for every rule of the Roles and ClusterRoles among the manifests. */
function grantsIn(manifests: Manifest[]): Set<string> {
  const granted = new Set<string>();
  for (const o of manifests.filter((m) => m.kind === 'ClusterRole' || m.kind === 'Role')) {
    const rules = (o as { rules?: Array<{ apiGroups?: string[]; resources?: string[]; verbs?: string[] }> })
      .rules;
    for (const rule of rules ?? [])
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? [])
          for (const verb of rule.verbs ?? []) granted.add(`${group} ${resource} ${verb}`);
  }
  return granted;
}

/** A kubeconfig for the bed's apiserver (server and CA from the admin's) with a ServiceAccount token. */
async function kubeconfigFor(account: string): Promise<string> {
  const request = await core.createNamespacedServiceAccountToken({
    namespace: ns,
    name: account,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  if (!token) throw new Error(`TokenRequest for ${ns}/${account} returned no token`);
  const cluster = adminKc.getCurrentCluster();
  if (!cluster) throw new Error("the bed's kubeconfig has no current cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: 'bed' }],
    users: [{ name: account, token }],
    contexts: [{ name: account, cluster: 'bed', user: account, namespace: ns }],
    currentContext: account,
  });
  const file = join(workDir, `${account}.kubeconfig`);
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

/** `warren controller` with the given kubeconfig and leader election on, in the test namespace. */
async function startControllerAs(kubeconfig: string, logFile: string): Promise<ControllerProcess> {
  const controller = await startController({
    bed,
    logFile,
    provisioner,
    kubeconfig,
    args: ['--leader-elect=true'],
    env: { KUBECONFIG: kubeconfig, POD_NAMESPACE: ns, WARREN_LEADER_ELECTION_NAMESPACE: '' },
  });
  running.push(controller);
  return controller;
}
