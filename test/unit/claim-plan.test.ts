import type { V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type ClaimDecision, type ClaimInput, decideClaim, pvNameFor } from '../../src/claims/claim-plan.ts';

const provisioner = 'nfs.warren.dev';
const finalizer = 'warren.dev/directory';
const gaAnnotation = 'volume.kubernetes.io/storage-provisioner';
const betaAnnotation = 'volume.beta.kubernetes.io/storage-provisioner';
const selectedNode = 'volume.kubernetes.io/selected-node';
const deletedAt = new Date('2025-01-02T03:04:05Z');
const pvName = 'pvc-0b6a4c2e-1111-2222-3333-444455556666';

interface ClaimShape {
  annotations?: Record<string, string>;
  finalizers?: string[];
  deleting?: boolean;
  volumeName?: string;
  phase?: string;
  volumeMode?: string;
  dataSource?: { kind: string; name: string; apiGroup?: string };
  dataSourceRef?: { kind: string; name: string; namespace?: string; apiGroup?: string };
}

function claim(shape: ClaimShape = {}): V1PersistentVolumeClaim {
  return {
    metadata: {
      namespace: 'team-a',
      name: 'data',
      uid: '0b6a4c2e-1111-2222-3333-444455556666',
      annotations: shape.annotations ?? { [gaAnnotation]: provisioner },
      ...(shape.finalizers ? { finalizers: shape.finalizers } : {}),
      ...(shape.deleting ? { deletionTimestamp: deletedAt } : {}),
    },
    spec: {
      storageClassName: 'warren',
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: '1Gi' } },
      ...(shape.volumeName ? { volumeName: shape.volumeName } : {}),
      ...(shape.volumeMode ? { volumeMode: shape.volumeMode } : {}),
      ...(shape.dataSource ? { dataSource: shape.dataSource } : {}),
      ...(shape.dataSourceRef ? { dataSourceRef: shape.dataSourceRef } : {}),
    },
    ...(shape.phase ? { status: { phase: shape.phase } } : {}),
  };
}

function storageClass(shape: { provisioner?: string; binding?: string } = {}): V1StorageClass {
  return {
    metadata: { name: 'warren' },
    provisioner: shape.provisioner ?? provisioner,
    ...(shape.binding ? { volumeBindingMode: shape.binding } : {}),
  };
}

const ours = { [gaAnnotation]: provisioner };
const wffcWithNode = { ...ours, [selectedNode]: 'worker-1' };

interface Case {
  name: string;
  claim: V1PersistentVolumeClaim;
  /** Defaults to our Immediate class; 'missing' means not in the cache. */
  storageClass?: V1StorageClass | 'missing';
  pvExists?: boolean;
  /** The provisioned-by annotation of the claim's PV. */
  volumeProvisioner?: string;
  /** A PV of the claim's class bound to no claim. */
  unboundVolumeOfClass?: string;
  /** The status.phase of the claim's PV. */
  volumePhase?: string;
  /** The claim's PV's claimRef uid, access modes and capacity. */
  volumeBinding?: ClaimInput['volumeBinding'];
  expected: ClaimDecision;
}

const claimUid = '0b6a4c2e-1111-2222-3333-444455556666';
/** The PV Warren made for the claim: bound to its uid, ReadWriteMany, 1Gi. */
const ourBinding = { claimUid, accessModes: ['ReadWriteMany'], capacity: { storage: '1Gi' } };

describe('decideClaim', () => {
  it.each<Case>([
    // Whose claim is it?
    {
      name: 'plain claim naming us: provision',
      claim: claim(),
      expected: { action: 'provision' },
    },
    {
      name: 'beta annotation naming us: provision',
      claim: claim({ annotations: { [betaAnnotation]: provisioner } }),
      expected: { action: 'provision' },
    },
    {
      name: 'annotation naming another provisioner: ignore',
      claim: claim({ annotations: { [gaAnnotation]: 'ebs.csi.aws.com' } }),
      expected: { action: 'ignore', reason: 'claim is for provisioner ebs.csi.aws.com' },
    },
    {
      name: 'GA annotation wins over a beta annotation naming us',
      claim: claim({ annotations: { [gaAnnotation]: 'other.example.com', [betaAnnotation]: provisioner } }),
      expected: { action: 'ignore', reason: 'claim is for provisioner other.example.com' },
    },
    {
      name: 'no provisioner annotation yet, class ours: provision (ahead of the binder)',
      claim: claim({ annotations: {} }),
      expected: { action: 'provision' },
    },
    {
      name: 'no provisioner annotation yet, a PV of the class bound to no claim: ignore (the binder may bind to it)',
      claim: claim({ annotations: {} }),
      unboundVolumeOfClass: 'static-1',
      expected: {
        action: 'ignore',
        reason: "PV static-1 of the claim's class is bound to no claim; the binder may bind the claim to it",
      },
    },
    {
      name: 'the binder has named us although a PV of the class is unbound: provision',
      claim: claim(),
      unboundVolumeOfClass: 'static-1',
      expected: { action: 'provision' },
    },
    {
      name: 'no provisioner annotation yet, class missing: wait',
      claim: claim({ annotations: {} }),
      storageClass: 'missing',
      expected: { action: 'wait', reason: 'StorageClass "warren" not found' },
    },
    {
      name: 'no provisioner annotation but our finalizer (we started it): carry on',
      claim: claim({ annotations: {}, finalizers: [finalizer] }),
      expected: { action: 'provision' },
    },
    // The StorageClass.
    {
      name: 'class not in the cache: wait',
      claim: claim(),
      storageClass: 'missing',
      expected: { action: 'wait', reason: 'StorageClass "warren" not found' },
    },
    {
      name: 'class of another provisioner: ignore',
      claim: claim(),
      storageClass: storageClass({ provisioner: 'other.example.com' }),
      expected: { action: 'ignore', reason: 'StorageClass warren is for other.example.com' },
    },
    // Already handled.
    {
      name: 'bound claim: ignore',
      claim: claim({ volumeName: 'pvc-elsewhere' }),
      expected: { action: 'ignore', reason: 'claim is bound to pvc-elsewhere' },
    },
    {
      name: 'deleted claim without our finalizer: ignore',
      claim: claim({ deleting: true, finalizers: ['kubernetes.io/pvc-protection'] }),
      expected: { action: 'ignore', reason: 'claim is being deleted' },
    },
    {
      name: 'deleted claim with our finalizer and no PV: abandon',
      claim: claim({ deleting: true, finalizers: ['kubernetes.io/pvc-protection', finalizer] }),
      pvExists: false,
      expected: { action: 'abandon' },
    },
    {
      name: 'deleted claim with our finalizer whose PV exists: finish',
      claim: claim({ deleting: true, finalizers: [finalizer] }),
      pvExists: true,
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, pre-bound, PV exists but the binder has not taken it up (Pending): wait',
      claim: claim({ finalizers: [finalizer], volumeName: pvName }),
      pvExists: true,
      volumePhase: 'Pending',
      expected: {
        action: 'wait',
        reason: 'volume exists; waiting for the binder to take it up (PV phase Bound)',
      },
    },
    {
      name: 'our finalizer, pre-bound, PV phase Bound (the binder has stored it): finish, completing the binding',
      claim: claim({ finalizers: [finalizer], volumeName: pvName }),
      pvExists: true,
      volumePhase: 'Bound',
      volumeBinding: ourBinding,
      expected: {
        action: 'finish',
        bind: { accessModes: ['ReadWriteMany'], capacity: { storage: '1Gi' } },
      },
    },
    {
      name: "our finalizer, pre-bound, PV Bound but its claimRef another claim's uid: finish, the binding left to the binder",
      claim: claim({ finalizers: [finalizer], volumeName: pvName }),
      pvExists: true,
      volumePhase: 'Bound',
      volumeBinding: { ...ourBinding, claimUid: 'another-uid' },
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, PV Bound, claim not pre-bound (an older Warren started it): finish, the binding left to the binder',
      claim: claim({ finalizers: [finalizer] }),
      pvExists: true,
      volumePhase: 'Bound',
      volumeBinding: ourBinding,
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, pre-bound, PV Bound without a capacity: finish, the binding left to the binder',
      claim: claim({ finalizers: [finalizer], volumeName: pvName }),
      pvExists: true,
      volumePhase: 'Bound',
      volumeBinding: { claimUid, accessModes: ['ReadWriteMany'] },
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, pre-bound, claim already Bound by the binder: finish, nothing to complete',
      claim: claim({ finalizers: [finalizer], volumeName: pvName, phase: 'Bound' }),
      pvExists: true,
      volumePhase: 'Bound',
      volumeBinding: ourBinding,
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, pre-bound, deleted while its PV is Bound: finish, nothing to complete',
      claim: claim({ finalizers: [finalizer], volumeName: pvName, deleting: true }),
      pvExists: true,
      volumePhase: 'Bound',
      volumeBinding: ourBinding,
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, PV Released before the claim was bound: finish',
      claim: claim({ finalizers: [finalizer], volumeName: pvName }),
      pvExists: true,
      volumePhase: 'Released',
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, PV exists, claim not pre-bound (an older Warren started it), PV Pending: wait',
      claim: claim({ finalizers: [finalizer] }),
      pvExists: true,
      expected: {
        action: 'wait',
        reason: 'volume exists; waiting for the binder to take it up (PV phase Bound)',
      },
    },
    {
      name: 'our finalizer, pre-bound to its PV, no PV yet: provision (carry on)',
      claim: claim({ finalizers: [finalizer], volumeName: pvName }),
      expected: { action: 'provision' },
    },
    {
      name: 'pre-bound to its PV but no finalizer of ours, PV not in the cache: ignore (never provision again)',
      claim: claim({ volumeName: pvName }),
      expected: { action: 'ignore', reason: `claim is bound to ${pvName}` },
    },
    {
      name: 'our finalizer but bound to another PV: ignore',
      claim: claim({ finalizers: [finalizer], volumeName: 'pvc-elsewhere' }),
      expected: { action: 'ignore', reason: 'claim is bound to pvc-elsewhere' },
    },
    {
      name: 'our finalizer, PV exists, claim Bound: finish',
      claim: claim({
        finalizers: [finalizer],
        volumeName: 'pvc-0b6a4c2e-1111-2222-3333-444455556666',
        phase: 'Bound',
      }),
      pvExists: true,
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, PV exists, claim Lost: finish',
      claim: claim({ finalizers: [finalizer], volumeName: 'pvc-gone', phase: 'Lost' }),
      pvExists: true,
      expected: { action: 'finish' },
    },
    // The finalizer's name is the same for every installation of Warren: only its holder lets it go.
    {
      name: "another installation's finalizer, its PV exists, claim Bound: ignore (its controller finishes)",
      claim: claim({
        annotations: {},
        finalizers: [finalizer],
        volumeName: 'pvc-0b6a4c2e-1111-2222-3333-444455556666',
        phase: 'Bound',
      }),
      storageClass: storageClass({ provisioner: 'crash.example.com' }),
      pvExists: true,
      volumeProvisioner: 'crash.example.com',
      expected: { action: 'ignore', reason: 'claim holds the finalizer for provisioner crash.example.com' },
    },
    {
      name: "another installation's finalizer, deleted with its PV: ignore",
      claim: claim({ annotations: {}, finalizers: [finalizer], deleting: true }),
      storageClass: 'missing',
      pvExists: true,
      volumeProvisioner: 'crash.example.com',
      expected: { action: 'ignore', reason: 'claim holds the finalizer for provisioner crash.example.com' },
    },
    {
      name: "another installation's finalizer, deleted before its PV: ignore (its directory is not ours to release)",
      claim: claim({ annotations: {}, finalizers: [finalizer], deleting: true }),
      storageClass: storageClass({ provisioner: 'crash.example.com' }),
      expected: { action: 'ignore', reason: 'claim holds the finalizer for provisioner crash.example.com' },
    },
    {
      name: "another installation's finalizer, class gone, the binder named it: ignore",
      claim: claim({
        annotations: { [gaAnnotation]: 'crash.example.com' },
        finalizers: [finalizer],
        deleting: true,
      }),
      storageClass: 'missing',
      expected: { action: 'ignore', reason: 'claim holds the finalizer for provisioner crash.example.com' },
    },
    {
      name: 'our finalizer, our PV, claim Bound, its class now names another provisioner: finish (the PV says who made it)',
      claim: claim({ finalizers: [finalizer], volumeName: 'pvc-x', phase: 'Bound' }),
      storageClass: storageClass({ provisioner: 'crash.example.com' }),
      pvExists: true,
      volumeProvisioner: provisioner,
      expected: { action: 'finish' },
    },
    {
      name: 'our finalizer, deleted with its class, nothing names a provisioner: abandon (ours, as before)',
      claim: claim({ annotations: {}, finalizers: [finalizer], deleting: true }),
      storageClass: 'missing',
      expected: { action: 'abandon' },
    },
    {
      name: 'PV exists without our finalizer: ignore, the binder will bind',
      claim: claim(),
      pvExists: true,
      expected: { action: 'ignore', reason: 'volume already exists; waiting for the binder' },
    },
    {
      name: 'PV exists for a claim of another provisioner: ignore',
      claim: claim({ annotations: { [gaAnnotation]: 'other.example.com' } }),
      pvExists: true,
      expected: { action: 'ignore', reason: 'volume already exists; waiting for the binder' },
    },
    {
      name: 'our finalizer, no PV, not deleted: provision (resume)',
      claim: claim({ finalizers: [finalizer] }),
      pvExists: false,
      expected: { action: 'provision' },
    },
    // What Warren cannot do.
    {
      name: 'Block volumeMode: reject',
      claim: claim({ volumeMode: 'Block' }),
      expected: {
        action: 'reject',
        reason: 'volumeMode Block is not supported by an NFS volume; use volumeMode Filesystem',
      },
    },
    {
      name: 'Filesystem volumeMode: provision',
      claim: claim({ volumeMode: 'Filesystem' }),
      expected: { action: 'provision' },
    },
    {
      name: 'dataSource (clone) in its own namespace: provision (the source is checked by the plan)',
      claim: claim({ dataSource: { kind: 'PersistentVolumeClaim', name: 'source' } }),
      expected: { action: 'provision' },
    },
    {
      name: 'dataSourceRef to a claim in another namespace: reject',
      claim: claim({ dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'source', namespace: 'team-b' } }),
      expected: {
        action: 'reject',
        reason:
          "data source claim team-b/source is in another namespace; a clone's or restore's source must be in the claim's own namespace (team-a)",
      },
    },
    {
      name: 'dataSourceRef to a VolumeSnapshot: provision (a restore)',
      claim: claim({
        dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'snap-1' },
      }),
      expected: { action: 'provision' },
    },
    {
      name: 'dataSource VolumeSnapshot without its apiGroup: reject',
      claim: claim({ dataSource: { kind: 'VolumeSnapshot', name: 'snap-1' } }),
      expected: {
        action: 'reject',
        reason:
          'data source VolumeSnapshot snap-1 is not supported; Warren clones PersistentVolumeClaims (dataSource kind PersistentVolumeClaim) and restores VolumeSnapshots (kind VolumeSnapshot, apiGroup snapshot.storage.k8s.io)',
      },
    },
    {
      name: 'dataSourceRef to a VolumeSnapshot in another namespace: reject',
      claim: claim({
        dataSourceRef: {
          apiGroup: 'snapshot.storage.k8s.io',
          kind: 'VolumeSnapshot',
          name: 'snap-1',
          namespace: 'team-b',
        },
      }),
      expected: {
        action: 'reject',
        reason:
          "data source VolumeSnapshot team-b/snap-1 is in another namespace; a clone's or restore's source must be in the claim's own namespace (team-a)",
      },
    },
    {
      name: 'Block is reported before a data source',
      claim: claim({ volumeMode: 'Block', dataSource: { kind: 'PersistentVolumeClaim', name: 'source' } }),
      expected: {
        action: 'reject',
        reason: 'volumeMode Block is not supported by an NFS volume; use volumeMode Filesystem',
      },
    },
    // Volume binding mode.
    {
      name: 'WaitForFirstConsumer without a selected node: wait',
      claim: claim(),
      storageClass: storageClass({ binding: 'WaitForFirstConsumer' }),
      expected: { action: 'wait', reason: 'WaitForFirstConsumer: no node selected yet' },
    },
    {
      name: 'WaitForFirstConsumer with a selected node: provision',
      claim: claim({ annotations: wffcWithNode }),
      storageClass: storageClass({ binding: 'WaitForFirstConsumer' }),
      expected: { action: 'provision' },
    },
    {
      name: 'Immediate binding ignores the selected node',
      claim: claim(),
      storageClass: storageClass({ binding: 'Immediate' }),
      expected: { action: 'provision' },
    },
  ])(
    '$name',
    ({
      claim,
      storageClass: given = storageClass(),
      pvExists = false,
      volumeProvisioner,
      unboundVolumeOfClass,
      volumePhase,
      volumeBinding,
      expected,
    }) => {
      const sc = given === 'missing' ? undefined : given;
      expect(
        decideClaim({
          claim,
          storageClass: sc,
          provisioner,
          pvExists,
          ...(volumeProvisioner ? { volumeProvisioner } : {}),
          ...(unboundVolumeOfClass ? { unboundVolumeOfClass } : {}),
          ...(volumePhase ? { volumePhase } : {}),
          ...(volumeBinding ? { volumeBinding } : {}),
        }),
      ).toEqual(expected);
    },
  );

  it('does not mutate the claim it is given', () => {
    const input = claim({ finalizers: [finalizer], deleting: true });
    const before = structuredClone(input);
    decideClaim({ claim: input, storageClass: storageClass(), provisioner, pvExists: false });
    expect(input).toEqual(before);
  });
});

describe('pvNameFor', () => {
  it('is pvc-<claim uid>', () => {
    expect(pvNameFor(claim())).toBe('pvc-0b6a4c2e-1111-2222-3333-444455556666');
  });
});
