// The controller's RBAC in deploy/ grants exactly what `warren controller` calls: a missing grant
// breaks it in a cluster, an extra one is privilege it does not need. The integration test
// deploy-rbac.test.ts runs the controller under these objects; this one pins the list.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}
interface RbacObject {
  kind: string;
  metadata: { name: string };
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string }>;
}

const rbacFile = join(import.meta.dirname, '..', '..', 'deploy', 'controller-rbac.yaml');
const objects = (loadAll(readFileSync(rbacFile, 'utf8')) as RbacObject[]).filter(Boolean);

/** Every API call in src/claims/, as "group resource verb" ("" is the core group). */
const neededClusterWide = [
  // run-controller.ts: informer on /api/v1/persistentvolumeclaims (list, then watch).
  ' persistentvolumeclaims list',
  ' persistentvolumeclaims watch',
  // cluster-writes.ts readClaim: readNamespacedPersistentVolumeClaim (clearIntent re-reads on 409;
  // the live read that a Bound PV's claim is gone).
  ' persistentvolumeclaims get',
  // cluster-writes.ts recordIntent, clearIntent: patchNamespacedPersistentVolumeClaim (merge patch).
  ' persistentvolumeclaims patch',
  // cluster-writes.ts completeBinding, patchClaimStatus: patchNamespacedPersistentVolumeClaimStatus
  // (finishing a claim's binding; a resize).
  ' persistentvolumeclaims/status patch',
  // run-controller.ts: informer on /api/v1/persistentvolumes.
  ' persistentvolumes list',
  ' persistentvolumes watch',
  // cluster-writes.ts createVolume: createPersistentVolume, then readPersistentVolume after a 409;
  // readVolume: the live read before a release (volume-reconciler.ts) or an abandon.
  ' persistentvolumes create',
  ' persistentvolumes get',
  // cluster-writes.ts removeVolumeFinalizer, setVolumeCapacity: patchPersistentVolume.
  ' persistentvolumes patch',
  // cluster-writes.ts deleteVolume: deletePersistentVolume.
  ' persistentvolumes delete',
  // cluster-writes.ts markVolumeReleased: patchPersistentVolumeStatus (a Bound PV whose claim is gone).
  ' persistentvolumes/status patch',
  // run-controller.ts: informer on /apis/storage.k8s.io/v1/storageclasses (classes are only read from
  // its cache: no get).
  'storage.k8s.io storageclasses list',
  'storage.k8s.io storageclasses watch',
  // run-controller.ts: informers on VolumeSnapshotContents, VolumeSnapshotClasses and VolumeSnapshots
  // (list, then watch; only where the snapshot.storage.k8s.io API is installed).
  'snapshot.storage.k8s.io volumesnapshotcontents list',
  'snapshot.storage.k8s.io volumesnapshotcontents watch',
  'snapshot.storage.k8s.io volumesnapshotclasses list',
  'snapshot.storage.k8s.io volumesnapshotclasses watch',
  'snapshot.storage.k8s.io volumesnapshots list',
  'snapshot.storage.k8s.io volumesnapshots watch',
  // snapshot-writes.ts markCreating, removeContentFinalizer: patchClusterCustomObject (merge patch).
  'snapshot.storage.k8s.io volumesnapshotcontents patch',
  // snapshot-writes.ts patchContentStatus: patchClusterCustomObjectStatus.
  'snapshot.storage.k8s.io volumesnapshotcontents/status patch',
  // event-recorder.ts: createNamespacedEvent, then patchNamespacedEvent for repeats (core/v1 Events in
  // the claim's namespace, or default for a PV).
  ' events create',
  ' events patch',
];

/** leader-election.ts, on the Lease in --leader-election-namespace (the controller's own). */
const neededInOwnNamespace = [
  // readNamespacedLease (before acquiring, and on every renewal).
  'coordination.k8s.io leases get',
  // createNamespacedLease (no Lease yet).
  'coordination.k8s.io leases create',
  // replaceNamespacedLease (take over, renew).
  'coordination.k8s.io leases update',
];

function grants(kind: 'ClusterRole' | 'Role'): string[] {
  const out: string[] = [];
  for (const o of objects.filter((x) => x.kind === kind)) {
    for (const rule of o.rules ?? []) {
      for (const group of rule.apiGroups ?? [])
        for (const resource of rule.resources ?? [])
          for (const verb of rule.verbs ?? []) out.push(`${group} ${resource} ${verb}`);
    }
  }
  return out;
}

describe('deploy/controller-rbac.yaml', () => {
  it('grants cluster-wide exactly the calls the controller makes on claims, volumes, classes and events', () => {
    expect(grants('ClusterRole').sort()).toEqual([...neededClusterWide].sort());
  });

  it('grants the Lease verbs only in its own namespace (a Role, not a ClusterRole)', () => {
    expect(grants('Role').sort()).toEqual([...neededInOwnNamespace].sort());
  });

  it('uses no wildcard, no resourceNames and no nonResourceURLs', () => {
    const rules = objects.flatMap((o) => o.rules ?? []);
    for (const rule of rules) {
      expect([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...(rule.verbs ?? [])]).not.toContain(
        '*',
      );
      expect(rule.resourceNames).toBeUndefined();
      expect(rule.nonResourceURLs).toBeUndefined();
    }
  });

  it('binds each role to the controller ServiceAccount only (the node plugin gets no role)', () => {
    const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding');
    expect(bindings.map((b) => `${b.roleRef?.kind}/${b.roleRef?.name}`).sort()).toEqual(
      roles.map((r) => `${r.kind}/${r.metadata.name}`).sort(),
    );
    for (const binding of bindings) {
      expect(binding.kind).toBe(binding.roleRef?.kind === 'Role' ? 'RoleBinding' : 'ClusterRoleBinding');
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'warren-controller' }]);
    }
  });
});
